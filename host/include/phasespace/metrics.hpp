#pragma once
// Distances between the quantum and classical phase-space densities, and observables,
// exactly as physics.md ("What converges means") defines them. Densities are row-major
// [centre][momentum] on a PhaseSpaceGrid; integrals are sums times dx0·dp.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "phasespace/projection.hpp"

namespace phasespace {

// ∬|a - b| dx dp.
double l1_distance(const PhaseSpaceGrid& grid, std::span<const double> a, std::span<const double> b);
// (∬(a - b)²)^{1/2} / (∬b²)^{1/2}: relative to the second (reference) argument.
double relative_l2_distance(const PhaseSpaceGrid& grid, std::span<const double> a,
                            std::span<const double> b);

// Smoothing by a fixed Gaussian of standard deviations (ε_x, ε_p): the weak distance is the
// L1 distance of the smoothed densities. Periodic in x; in p the density is treated as zero
// beyond the grid (the grid is padded, not wrapped). Plans are made once per grid.
class GaussianSmoother {
 public:
  GaussianSmoother(const PhaseSpaceGrid& grid, double epsilon_x, double epsilon_p);
  ~GaussianSmoother();
  GaussianSmoother(const GaussianSmoother&) = delete;
  GaussianSmoother& operator=(const GaussianSmoother&) = delete;
  std::vector<double> smooth(std::span<const double> density) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
double weak_l1_distance(const GaussianSmoother& smoother, const PhaseSpaceGrid& grid,
                        std::span<const double> a, std::span<const double> b);

// Moments of a phase-space density: mass, ⟨x⟩, ⟨p⟩, variances, ⟨p²/2m⟩ + ⟨U(x)⟩ (U sampled at
// the centres, given as values per centre). ⟨x⟩ is taken as the plain mean over x0 (the user's
// domain should keep the state away from the periodic seam).
struct Moments {
  double mass = 0.0;
  double mean_x = 0.0;
  double mean_p = 0.0;
  double var_x = 0.0;
  double var_p = 0.0;
  double energy = 0.0;
};
Moments phase_space_moments(const PhaseSpaceGrid& grid, std::span<const double> density,
                            double mass, std::span<const double> potential_at_centres);

// Marginals at the centres: n(x0) = ∫ρ dp and j(x0) = ∫(p/m)ρ dp.
std::vector<double> density_marginal(const PhaseSpaceGrid& grid, std::span<const double> density);
std::vector<double> current_marginal(const PhaseSpaceGrid& grid, std::span<const double> density,
                                     double mass);
// ∫|a - b| dx over the centres.
double line_l1_distance(const PhaseSpaceGrid& grid, std::span<const double> a,
                        std::span<const double> b);

// Probability inside [x_low, x_high] from a position density on the quantum grid (exact
// quadrature of |ψ|², cells cut by the edges weighted by the covered fraction), and from a
// phase-space density (its centres' cells [x0 - dx0/2, x0 + dx0/2), likewise).
double region_probability(const Grid& grid, std::span<const double> position_density,
                          double x_low, double x_high);
double region_probability(const PhaseSpaceGrid& grid, std::span<const double> density,
                          double x_low, double x_high);

// Least-squares fit of log(error) = log(c) + β log(ħ): β and its standard error (zero stderr
// for two points; NaN when fewer than two positive errors, or when the log ħ values spread less
// than 1e-8: no slope is defined there).
struct RateFit {
  double rate = 0.0;
  double stderr_rate = 0.0;
  double log_prefactor = 0.0;
  std::size_t points = 0;
};
RateFit fit_rate(std::span<const double> hbar, std::span<const double> error);

}  // namespace phasespace
