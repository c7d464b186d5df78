#pragma once
// Split-step propagation of a whole ensemble (CPU reference backend: FFTW + OpenMP).
// One Strang step: ψ ← e^{-iU dt/2ħ} F⁻¹ e^{-ip²dt/2mħ} F e^{-iU dt/2ħ} ψ; the fourth-order
// scheme is Yoshida's triple jump of Strang steps. Half kicks of consecutive steps are fused.
#include <complex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "phasespace/aligned_vector.hpp"
#include "phasespace/ensemble.hpp"
#include "phasespace/potential.hpp"

namespace phasespace {

enum class Scheme { strang, yoshida4 };
Scheme parse_scheme(const std::string& name, const std::string& field = "time.scheme");
std::string to_string(Scheme scheme);

// Kick and drift fractions of one step: kick a_0, drift b_0, kick a_1, ..., drift b_{n-1}, kick a_n.
struct SplittingCoefficients {
  std::vector<double> kicks;
  std::vector<double> drifts;
};
SplittingCoefficients splitting_coefficients(Scheme scheme);

// Complex absorbing potential -i·strength·((d/width)²) within `width` of either edge.
struct AbsorbingLayer {
  double width = 0.0;
  double strength = 0.0;
};

struct PropagatorOptions {
  double mass = 1.0;
  double hbar = 1.0;
  double dt = 1e-3;
  Scheme scheme = Scheme::strang;
  std::optional<AbsorbingLayer> absorbing;
};

// Extra potentials that differ between ensemble members (e.g. one disorder realisation each):
// member k feels U(x, t) + extra[of_member[k]](x). Distinct potentials are stored once, so many
// members may share one (of_member empty: member k uses extra[k]).
struct MemberPotentials {
  std::vector<std::vector<double>> extra;  // each sampled on the grid (grid.size values)
  std::vector<std::size_t> of_member;
};

// Checks `potentials` against the grid and the member count (each extra potential grid.size
// values, one index < extra.size() per member) and returns them with of_member filled (empty:
// member k uses extra[k]). Shared by both backends; throws InputError saying what is wrong.
MemberPotentials checked_member_potentials(const Grid& grid, std::size_t members,
                                           MemberPotentials potentials);
// The kick phases of the per-member potentials over τ at time t: row i (grid.size values) is
// e^{-W(x_n)τ/ħ}·e^{-i(U(x_n, t) + extra[i](x_n))τ/ħ}, W the absorbing profile (empty: none).
// Computed in double; both backends multiply by these numbers.
std::vector<complex> member_kick_phases(const Grid& grid, const Potential& potential,
                                        const PropagatorOptions& options,
                                        const std::vector<double>& absorbing,
                                        const std::vector<std::vector<double>>& extra, double tau,
                                        double t);

// Checks the options and member count against the grid (shared by both backends); throws
// InputError naming the field.
void check_propagator_options(const Grid& grid, const PropagatorOptions& options,
                              std::size_t members);
// The absorbing layer's W(x) = strength·(depth/width)² within width of either edge, on the grid;
// empty without a layer. Both backends damp by e^{-W τ/ħ} per kick.
std::vector<double> absorbing_profile(const Grid& grid, const std::optional<AbsorbingLayer>& layer);

class SplitStepPropagator {
 public:
  SplitStepPropagator(const Grid& grid, const Potential& potential, const PropagatorOptions& options,
                      std::size_t members);
  // Each member with its own additional potential (kick phases per distinct potential).
  SplitStepPropagator(const Grid& grid, const Potential& potential, const PropagatorOptions& options,
                      std::size_t members, MemberPotentials member_potentials);
  ~SplitStepPropagator();
  SplitStepPropagator(const SplitStepPropagator&) = delete;
  SplitStepPropagator& operator=(const SplitStepPropagator&) = delete;

  // Advances every member by `steps` steps of dt from time t_start.
  void advance(Ensemble& ensemble, double t_start, std::size_t steps);
  // Weighted norm removed by the absorbing layer since construction.
  double absorbed_norm() const { return absorbed_norm_; }
  const PropagatorOptions& options() const { return options_; }

 private:
  struct Plans;
  const std::vector<complex>& kick_phase(double fraction, double t);
  const std::vector<complex>& drift_phase(double fraction);
  // Phases of the per-member potentials: row i (grid.size values) for extra[i].
  const std::vector<complex>& member_kick_phase(double fraction, double t);
  void apply_kick(Ensemble& ensemble, double fraction, double t);
  void apply_drift(Ensemble& ensemble, double fraction);

  Grid grid_;
  Potential potential_;
  PropagatorOptions options_;
  std::size_t members_;
  SplittingCoefficients coefficients_;
  std::unique_ptr<Plans> plans_;
  std::vector<double> absorbing_profile_;
  std::map<double, std::vector<complex>> kick_cache_;
  std::map<double, std::vector<complex>> drift_cache_;
  std::vector<complex> time_dependent_kick_;  // recomputed per kick when U depends on t
  MemberPotentials member_potentials_;        // empty extra: one potential for all members
  std::map<double, std::vector<complex>> member_kick_cache_;
  std::vector<complex> time_dependent_member_kick_;
  double absorbed_norm_ = 0.0;
};

}  // namespace phasespace
