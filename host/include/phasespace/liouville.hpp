#pragma once
// Semi-Lagrangian solver of ∂f/∂t + (p/m)∂f/∂x - U'(x,t)∂f/∂p = St(f) on a PhaseSpaceGrid
// (CPU reference backend). f is stored row-major [centre][momentum]: f[c·momenta + j].
// Strang: X(dt/2) P(dt) X(dt/2) with X(τ): f(x,p) ← f(x - pτ/m, p) and
// P(τ): f(x,p) ← f(x, p + U'(x)τ); fourth order: Yoshida's triple jump of Strang steps.
// Collisions C enter symmetrically: C(dt/2) [transport] C(dt/2).
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "phasespace/potential.hpp"
#include "phasespace/projection.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace {

enum class InterpolationKind { lagrange, spline, spectral };
struct Interpolation {
  InterpolationKind kind = InterpolationKind::lagrange;
  int order = 5;  // Lagrange only: odd, 3..9 (order+1 points, centred)
};
// "lagrange3".."lagrange9", "spline", "spectral".
Interpolation parse_interpolation(const std::string& name,
                                  const std::string& field = "classical.interpolation");
std::string to_string(const Interpolation& interpolation);

enum class MomentumBoundary { periodic, zero };
MomentumBoundary parse_momentum_boundary(const std::string& name,
                                         const std::string& field = "classical.momentum_boundary");

// One collision operator: applies C(τ) exactly to f in place (each x row independently).
class CollisionOperator {
 public:
  virtual ~CollisionOperator() = default;
  virtual void apply(const PhaseSpaceGrid& grid, double tau, std::span<double> f) const = 0;
  virtual std::string name() const = 0;
};

struct Diagnostics {
  double mass = 0.0;     // ∬ f dx dp
  double l2_norm = 0.0;  // (∬ f² dx dp)^{1/2}
  double minimum = 0.0;  // min f (positivity)
  double entropy = 0.0;  // -∬ f ln f dx dp over f > 0
  double energy = 0.0;   // ∬ (p²/2m + U(x,t)) f dx dp
};

struct LiouvilleOptions {
  double mass = 1.0;
  double dt = 1e-3;
  Scheme scheme = Scheme::strang;
  Interpolation interpolation;
  MomentumBoundary momentum_boundary = MomentumBoundary::periodic;
};

// Checks the grid and options (shared by both backends); throws InputError naming the field.
void check_liouville_options(const PhaseSpaceGrid& grid, const LiouvilleOptions& options);

class LiouvilleSolver {
 public:
  LiouvilleSolver(const PhaseSpaceGrid& grid, const Potential& potential,
                  const LiouvilleOptions& options,
                  std::vector<std::shared_ptr<const CollisionOperator>> collisions = {});
  ~LiouvilleSolver();
  LiouvilleSolver(const LiouvilleSolver&) = delete;
  LiouvilleSolver& operator=(const LiouvilleSolver&) = delete;

  // Advances f (grid.cells() values) by `steps` steps of dt from t_start.
  void advance(std::span<double> f, double t_start, std::size_t steps);
  Diagnostics diagnostics(std::span<const double> f, double t = 0.0) const;
  // Mass that left through the momentum edges (zero boundary) since construction.
  double mass_lost() const { return mass_lost_; }
  const PhaseSpaceGrid& grid() const { return grid_; }

 private:
  struct Workspace;
  void sweep_x(std::span<double> f, double tau);
  void sweep_p(std::span<double> f, double tau, double t);
  void collide(std::span<double> f, double tau);
  // Performs the sweeps recorded but not yet performed (Lagrange).
  void settle(std::span<double> f);

  PhaseSpaceGrid grid_;
  Potential potential_;
  LiouvilleOptions options_;
  std::vector<std::shared_ptr<const CollisionOperator>> collisions_;
  std::unique_ptr<Workspace> workspace_;
  double mass_lost_ = 0.0;
};

// 1D periodic shift of a line: out[i] = f(i - shift) (shift in cells), by the chosen
// interpolation; with `zero_outside` the line is not periodic and samples beyond it are zero.
// Exposed for tests and for the CUDA backend's reference comparisons.
void shift_line(const Interpolation& interpolation, std::span<const double> in,
                std::span<double> out, double shift, bool zero_outside);

}  // namespace phasespace
