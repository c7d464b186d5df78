#pragma once
// Non-interacting many-particle states (physics.md, "Many particles"): the one-body density
// matrix Σ_k n_k |φ_k⟩⟨φ_k| over the orbitals φ_k of H0 = p²/2m + U0(x) on the periodic grid,
// with occupations n_k (Slater determinant, Fermi–Dirac, Bose–Einstein, Boltzmann). It is an
// Ensemble whose weights are the occupations, so its trace is the particle number N, not 1.
// The Thomas–Fermi density θ(μ − H0(x, p))/(2πħ), smoothed by the window, is the ħ → 0 limit
// of the projected density of N fermions at fixed Nħ.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "phasespace/ensemble.hpp"
#include "phasespace/projection.hpp"

namespace phasespace {

// The lowest orbitals of the grid Hamiltonian H = F⁻¹ (p_k²/2m) F + diag(U0(x_n)), the same
// kinetic energy as the split-step, so each φ_k is stationary under the propagator up to its
// time-step error. Real, orthonormal (dx Σ_n φ_j φ_k = δ_jk), energies ascending.
struct Orbitals {
  Grid grid;
  std::vector<double> energies;  // the energies of the computed orbitals
  std::vector<double> values;    // values[k·N + n] = φ_k(x_n)
  std::vector<double> spectrum;  // all N eigenvalues of the grid Hamiltonian (ascending)
  std::size_t count() const { return energies.size(); }
  std::span<const double> orbital(std::size_t k) const {
    return {values.data() + k * grid.size, grid.size};
  }
};

// Dense symmetric eigensolver (LAPACK dsytrd + dstemr + dormtr): all eigenvalues, the first
// `count` eigenvectors. Cost ~(4/3)N³ for the reduction; measured 0.3 s at N = 1024 and 1.4 s
// at N = 2048 with OpenBLAS on one core. `potential` holds U0(x_n). Each orbital's sign is fixed
// so that its largest-magnitude sample is positive.
Orbitals grid_eigenstates(const Grid& grid, double hbar, double mass,
                          std::span<const double> potential, std::size_t count);
// The same, with the number of eigenvectors chosen from the full spectrum (one reduction).
Orbitals grid_eigenstates_chosen(const Grid& grid, double hbar, double mass,
                                 std::span<const double> potential,
                                 const std::function<std::size_t(std::span<const double>)>& choose);

enum class Statistics { fermions, fermi_dirac, bose_einstein, boltzmann };
Statistics parse_statistics(const std::string& kind);
std::string to_string(Statistics statistics);

// The config's many-body initial state (initial_state.kind = fermions | fermi_dirac |
// bose_einstein | boltzmann). Fields are named as in the config for the error messages.
struct ManyBodyState {
  Statistics statistics = Statistics::fermions;
  std::string trap;                         // U0(x)
  double mass = 1.0;                        // system.mass (set by parse_config)
  std::optional<double> particles;          // N (an integer for fermions), or
  std::optional<double> particles_times_hbar;  // Nħ fixed over the sweep: N = Nħ/ħ
  std::optional<double> mu;                 // chemical potential (fermi_dirac, bose_einstein)
  double temperature = 0.0;                 // k_B T (> 0 for the thermal kinds)
  std::optional<std::size_t> orbitals;      // how many to compute; default: as many as needed
  double occupation_tolerance = 1e-10;      // left-out occupation allowed, relative to N
};

// Occupations of the computed orbitals and the chemical potential they imply.
struct Occupations {
  std::vector<double> occupations;  // n_k for the orbitals used (trailing negligible ones cut)
  double particles = 0.0;           // Σ n_k
  double mu = 0.0;                  // chemical potential (fermions: midway E_{N-1}, E_N)
};

// The orbitals and occupations of the state at ħ on the grid, validated: throws InputError
// naming initial_state.orbitals (more than the grid can represent), initial_state.mu /
// .particles / .orbitals (occupations that do not normalise within the computed orbitals) or
// initial_state.trap (no bound state in the domain). Results are cached per (grid, ħ, state),
// since the study asks once to plan and once to run.
struct ManyBodySolution {
  Orbitals orbitals;
  Occupations occupations;
};
std::shared_ptr<const ManyBodySolution> solve_many_body(const ManyBodyState& state, const Grid& grid, double hbar);

// The ensemble Σ_k n_k |φ_k⟩⟨φ_k| (weights = occupations, trace = N).
Ensemble many_body_ensemble(const ManyBodyState& state, const Grid& grid, double hbar);

// Thomas–Fermi (semiclassical) reference f(H0(x, p))/(2πħ) with the occupation function of the
// statistics: f = θ(μ − H) for fermions at temperature 0, the Fermi function at T > 0, e^{-(H−μ)/T}
// for boltzmann and 1/(e^{(H−μ)/T} − 1) = Σ_n e^{-n(H−μ)/T} for bose_einstein (μ below min U).
// Smoothed as the window smooths a Wigner function: by Gaussians of widths s_x in x and
// s_p = ħ/(2 s_x) in p, s_x² = the variance of |w|² (σ²/2 for the Gaussian window: exactly the
// Husimi kernel; for box and hann windows a Gaussian of the same position spread, an
// approximation). The p integral is done in closed form (erf; Gaussians for the thermal Bose and
// Boltzmann terms), the x integral by the trapezoid rule with steps ≤ s_x/16, periodic in x.
struct ThomasFermi {
  std::string trap;
  double mass = 1.0;
  double hbar = 1.0;
  double mu = 0.0;
  double temperature = 0.0;
  Statistics statistics = Statistics::fermions;  // fermions and fermi_dirac: by the temperature
};
std::vector<double> thomas_fermi_density(const Grid& grid, const Window& window,
                                         const PhaseSpaceGrid& phase_space, const ThomasFermi& tf);
// The μ at which the unsmoothed reference holds N particles: (1/2πħ)∬ f(H0) dx dp = N. Throws
// InputError when no μ does (bose_einstein: N beyond what μ → min U holds on the grid), or when
// the Bose series Σ_n e^{-n(H−μ)/T} needs more than bose_terms terms (a nearly degenerate gas,
// for which the semiclassical reference means little).
constexpr std::size_t bose_terms = 256;
double thomas_fermi_mu(const Grid& grid, const ThomasFermi& tf, double particles);

}  // namespace phasespace
