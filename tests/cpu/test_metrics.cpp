// Distances, smoothing, observables and the rate fit against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <vector>

#include "phasespace/errors.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/metrics.hpp"
#include "phasespace/projection.hpp"

namespace phasespace {
namespace {

constexpr double pi = std::numbers::pi;

// x0 in [-10, 10) with spacing dx0 (periodic), p = k·dp for k = -momenta/2 .. momenta/2 - 1.
PhaseSpaceGrid make_test_grid(std::size_t centres, std::size_t momenta, double p_range = 20.0) {
  PhaseSpaceGrid grid;
  grid.hbar = 0.1;
  grid.centres = centres;
  grid.dx0 = 20.0 / static_cast<double>(centres);
  grid.x0_first = -10.0;
  grid.momenta = momenta;
  grid.dp = p_range / static_cast<double>(momenta);
  grid.k_first = -static_cast<long>(momenta / 2);
  grid.fft_length = momenta;
  return grid;
}

double normal(double value, double mean, double sigma) {
  const double u = (value - mean) / sigma;
  return std::exp(-0.5 * u * u) / (std::sqrt(2.0 * pi) * sigma);
}

std::vector<double> sample(const PhaseSpaceGrid& grid,
                           const std::function<double(double, double)>& density) {
  std::vector<double> values(grid.cells());
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) values[c * grid.momenta + j] = density(grid.x0(c), grid.p(j));
  }
  return values;
}

std::vector<double> gaussian(const PhaseSpaceGrid& grid, double mean_x, double mean_p,
                             double sigma_x, double sigma_p) {
  return sample(grid, [=](double x, double p) { return normal(x, mean_x, sigma_x) * normal(p, mean_p, sigma_p); });
}

double total_mass(const PhaseSpaceGrid& grid, const std::vector<double>& density) {
  double sum = 0.0;
  for (const double value : density) sum += value;
  return sum * grid.dx0 * grid.dp;
}

// Rectangle-rule error of ∬|f - g| for two unit Gaussians of width σ displaced by d in x: the
// x-marginal difference F crosses zero at the midpoint with slope 2φ'(d/2), so |F| has a kink
// whose slope jumps by 4|φ'(d/2)|; on a uniform grid that costs about dx²/12 times the jump.
// Twice that is the tolerance.
double kink_error_bound(double dx, double sigma, double d) {
  const double slope = 0.5 * d / (sigma * sigma) * normal(0.5 * d, 0.0, sigma);
  return 2.0 * dx * dx / 12.0 * 4.0 * slope;
}

std::vector<double> no_potential_at(const PhaseSpaceGrid& grid) {
  return std::vector<double>(grid.centres, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Strong distances.

TEST(Metrics, L1OfDisjointUnitMassesIsTwo) {
  const PhaseSpaceGrid grid = make_test_grid(40, 30);
  std::vector<double> a(grid.cells(), 0.0);
  std::vector<double> b(grid.cells(), 0.0);
  const double unit = 1.0 / (grid.dx0 * grid.dp);
  a[3 * grid.momenta + 4] = 0.25 * unit;  // two cells each, unit mass
  a[3 * grid.momenta + 5] = 0.75 * unit;
  b[20 * grid.momenta + 4] = 0.5 * unit;
  b[21 * grid.momenta + 9] = 0.5 * unit;
  EXPECT_NEAR(l1_distance(grid, a, b), 2.0, 1e-13);
  EXPECT_NEAR(l1_distance(grid, a, a), 0.0, 0.0);
}

// Two unit Gaussians displaced by d along x: ∬|f - g| = 2 erf(d / (2√2 σ_x)) whatever σ_p is.
// |f - g| has a kink on the line between the centres (see kink_error_bound).
TEST(Metrics, L1OfDisplacedGaussiansMatchesErf) {
  const PhaseSpaceGrid grid = make_test_grid(800, 200);
  const double sigma_x = 0.7, sigma_p = 1.3, d = 1.1;
  const auto f = gaussian(grid, -0.3, 0.2, sigma_x, sigma_p);
  const auto g = gaussian(grid, -0.3 + d, 0.2, sigma_x, sigma_p);
  const double expected = 2.0 * std::erf(d / (2.0 * std::sqrt(2.0) * sigma_x));
  const double tolerance = kink_error_bound(grid.dx0, sigma_x, d);
  EXPECT_LT(tolerance, 1e-3 * expected);
  EXPECT_NEAR(l1_distance(grid, f, g), expected, tolerance);
  EXPECT_NEAR(l1_distance(grid, g, f), expected, tolerance);
}

// ∫(f - g)² = 2∫f² (1 - e^{-d²/4σ_x²}) and ∫g² = ∫f², so the relative L2 distance is
// sqrt(2(1 - e^{-d²/4σ_x²})). The integrand is smooth: the sum is spectrally accurate.
TEST(Metrics, RelativeL2OfDisplacedGaussiansMatchesClosedForm) {
  const PhaseSpaceGrid grid = make_test_grid(400, 160);
  const double sigma_x = 0.7, sigma_p = 1.3, d = 0.9;
  const auto f = gaussian(grid, 0.0, 0.5, sigma_x, sigma_p);
  const auto g = gaussian(grid, d, 0.5, sigma_x, sigma_p);
  const double expected = std::sqrt(2.0 * (1.0 - std::exp(-d * d / (4.0 * sigma_x * sigma_x))));
  EXPECT_NEAR(relative_l2_distance(grid, f, g), expected, 1e-10);
  // Relative to the second argument: scaling it by 2 changes the answer as the formula says.
  std::vector<double> doubled(g);
  for (double& value : doubled) value *= 2.0;
  // ∫(f - 2g)² / ∫(2g)² = (∫f² + 4∫g² - 4∫fg) / 4∫g² = (5 - 4e^{-d²/4σ²}) / 4.
  const double overlap = std::exp(-d * d / (4.0 * sigma_x * sigma_x));
  EXPECT_NEAR(relative_l2_distance(grid, f, doubled), std::sqrt((5.0 - 4.0 * overlap) / 4.0), 1e-10);
}

TEST(Metrics, RejectsDensitiesOfTheWrongSize) {
  const PhaseSpaceGrid grid = make_test_grid(10, 10);
  const std::vector<double> good(grid.cells(), 1.0);
  const std::vector<double> bad(grid.cells() - 1, 1.0);
  EXPECT_THROW(l1_distance(grid, good, bad), InputError);
  EXPECT_THROW(relative_l2_distance(grid, bad, good), InputError);
}

// ---------------------------------------------------------------------------------------------
// Smoothing and the weak distance.

TEST(Smoothing, ConservesMass) {
  const PhaseSpaceGrid grid = make_test_grid(96, 80);
  // Negligible (< e^{-40}) at the p edges, so no mass is smoothed off the grid.
  std::vector<double> density = gaussian(grid, 2.0, -1.0, 1.0, 1.0);
  // Rough, positive structure in the middle, away from the p edges (|p| < 4, kernel reach < 3).
  std::mt19937 generator(12345);
  std::uniform_real_distribution<double> uniform(0.0, 0.3);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      if (std::abs(grid.p(j)) < 4.0) density[c * grid.momenta + j] += uniform(generator);
    }
  }
  const GaussianSmoother smoother(grid, 0.8, 0.3);
  const std::vector<double> smoothed = smoother.smooth(density);
  ASSERT_EQ(smoothed.size(), density.size());
  const double before = total_mass(grid, density);
  EXPECT_NEAR(total_mass(grid, smoothed) / before, 1.0, 1e-12);
  // And the rough field really was changed.
  EXPECT_GT(l1_distance(grid, smoothed, density), 0.1 * before);
}

// A sampled Gaussian of variance s² convolved with the normalised discrete Gaussian of variance
// ε²: the variances add (for widths of more than a grid spacing the discrete variances equal the
// continuous ones to ~e^{-2π²(s/dx)²}).
TEST(Smoothing, AddsTheKernelVarianceInEachDirection) {
  const PhaseSpaceGrid grid = make_test_grid(256, 128);  // dx0 = 0.078125, dp = 0.15625
  const double s_x = 1.5 * grid.dx0, s_p = 2.0 * grid.dp;
  const double epsilon_x = 0.3, epsilon_p = 0.45;
  const auto narrow = gaussian(grid, 0.5, -0.8, s_x, s_p);
  const GaussianSmoother smoother(grid, epsilon_x, epsilon_p);
  const auto smoothed = smoother.smooth(narrow);
  const Moments moments = phase_space_moments(grid, smoothed, 1.0, no_potential_at(grid));
  const double var_x = s_x * s_x + epsilon_x * epsilon_x;
  const double var_p = s_p * s_p + epsilon_p * epsilon_p;
  EXPECT_NEAR(moments.var_x / var_x, 1.0, 1e-8);
  EXPECT_NEAR(moments.var_p / var_p, 1.0, 1e-8);
  EXPECT_NEAR(moments.mean_x, 0.5, 1e-10);
  EXPECT_NEAR(moments.mean_p, -0.8, 1e-10);
  // The result is the Gaussian of those variances, pointwise.
  const auto expected = gaussian(grid, 0.5, -0.8, std::sqrt(var_x), std::sqrt(var_p));
  EXPECT_LT(l1_distance(grid, smoothed, expected), 1e-8);
}

TEST(Smoothing, LeavesAConstantInXFieldConstantInX) {
  const PhaseSpaceGrid grid = make_test_grid(50, 64);
  const auto field = sample(grid, [](double, double p) { return normal(p, 0.3, 0.9); });
  const GaussianSmoother both(grid, 0.7, 0.5);
  const auto smoothed = both.smooth(field);
  double largest_spread = 0.0;
  for (std::size_t c = 1; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      largest_spread = std::max(largest_spread, std::abs(smoothed[c * grid.momenta + j] - smoothed[j]));
    }
  }
  EXPECT_LT(largest_spread, 1e-14);
  // Along p it did smooth: the peak is lower (variance 0.81 + 0.25).
  const std::size_t peak = grid.momenta / 2 + 1;  // p = dp = 0.3125
  EXPECT_NEAR(smoothed[peak], normal(grid.p(peak), 0.3, std::sqrt(0.81 + 0.25)), 1e-10);
  // Smoothing only in x (ε_p = 0) returns the field itself.
  const GaussianSmoother along_x(grid, 0.7, 0.0);
  const auto unchanged = along_x.smooth(field);
  double largest_change = 0.0;
  for (std::size_t cell = 0; cell < field.size(); ++cell) {
    largest_change = std::max(largest_change, std::abs(unchanged[cell] - field[cell]));
  }
  EXPECT_LT(largest_change, 1e-14);
}

TEST(Smoothing, NothingWrapsAroundInMomentum) {
  const PhaseSpaceGrid grid = make_test_grid(8, 40);
  std::vector<double> edge(grid.cells(), 0.0);
  for (std::size_t c = 0; c < grid.centres; ++c) edge[c * grid.momenta + grid.momenta - 1] = 1.0;
  const GaussianSmoother smoother(grid, 0.1, 2.0 * grid.dp);
  const auto smoothed = smoother.smooth(edge);
  // Mass at the top edge spreads downwards and out of the grid, never into the lowest momenta.
  for (std::size_t c = 0; c < grid.centres; ++c) {
    EXPECT_LT(std::abs(smoothed[c * grid.momenta]), 1e-15);
    EXPECT_LT(std::abs(smoothed[c * grid.momenta + 5]), 1e-15);
    EXPECT_GT(smoothed[c * grid.momenta + grid.momenta - 2], 0.1);
  }
}

// Two narrow unit Gaussians (width s) displaced by d in x: strong L1 ≈ 2; smoothed, they are
// Gaussians of width sqrt(s² + ε_x²), so weak L1 = 2 erf(d / (2√2 sqrt(s² + ε_x²))).
TEST(Smoothing, WeakL1IsBelowStrongAndTendsToItAsTheWidthShrinks) {
  const PhaseSpaceGrid grid = make_test_grid(1000, 100);  // dx0 = 0.02
  const double s = 0.03, d = 0.6;
  const auto a = gaussian(grid, -0.3, 0.0, s, 0.5);
  const auto b = gaussian(grid, -0.3 + d, 0.0, s, 0.5);
  const double strong = l1_distance(grid, a, b);
  EXPECT_NEAR(strong, 2.0, 1e-10);

  const double epsilon_x = 0.4;
  const GaussianSmoother wide(grid, epsilon_x, 0.3);
  const double weak = weak_l1_distance(wide, grid, a, b);
  EXPECT_LT(weak, strong);
  const double width = std::sqrt(s * s + epsilon_x * epsilon_x);
  const double expected = 2.0 * std::erf(d / (2.0 * std::sqrt(2.0) * width));
  EXPECT_NEAR(weak, expected, kink_error_bound(grid.dx0, width, d));

  // Narrower kernels: the weak distance grows towards the strong one, as the closed form says.
  double previous = weak;
  for (const double epsilon : {0.2, 0.1, 0.05}) {
    const GaussianSmoother smoother(grid, epsilon, epsilon);
    const double current = weak_l1_distance(smoother, grid, a, b);
    const double smoothed_width = std::sqrt(s * s + epsilon * epsilon);
    EXPECT_NEAR(current, 2.0 * std::erf(d / (2.0 * std::sqrt(2.0) * smoothed_width)),
                kink_error_bound(grid.dx0, smoothed_width, d))
        << "epsilon " << epsilon;
    EXPECT_GT(current, previous) << "epsilon " << epsilon;
    EXPECT_LT(current, strong) << "epsilon " << epsilon;
    previous = current;
  }
  // A kernel far narrower than a cell is the identity.
  const GaussianSmoother tiny(grid, 1e-3 * grid.dx0, 1e-3 * grid.dp);
  EXPECT_NEAR(weak_l1_distance(tiny, grid, a, b), strong, 1e-12);
}

TEST(Smoothing, RejectsNegativeWidths) {
  const PhaseSpaceGrid grid = make_test_grid(10, 10);
  EXPECT_THROW(GaussianSmoother(grid, -0.1, 0.1), InputError);
  EXPECT_THROW(GaussianSmoother(grid, 0.1, std::nan("")), InputError);
}

// ---------------------------------------------------------------------------------------------
// Observables.

TEST(Observables, MomentsOfAGaussianDensity) {
  const PhaseSpaceGrid grid = make_test_grid(400, 200);
  const double mean_x = 1.0, mean_p = -0.5, sigma_x = 0.8, sigma_p = 0.6, mass = 2.0, k = 3.0;
  auto density = gaussian(grid, mean_x, mean_p, sigma_x, sigma_p);
  for (double& value : density) value *= 0.9;  // mass 0.9: expectations are per unit mass
  std::vector<double> potential(grid.centres);
  for (std::size_t c = 0; c < grid.centres; ++c) potential[c] = 0.5 * k * grid.x0(c) * grid.x0(c);
  const Moments moments = phase_space_moments(grid, density, mass, potential);
  EXPECT_NEAR(moments.mass, 0.9, 1e-12);
  EXPECT_NEAR(moments.mean_x, mean_x, 1e-12);
  EXPECT_NEAR(moments.mean_p, mean_p, 1e-12);
  EXPECT_NEAR(moments.var_x, sigma_x * sigma_x, 1e-12);
  EXPECT_NEAR(moments.var_p, sigma_p * sigma_p, 1e-12);
  const double energy = (sigma_p * sigma_p + mean_p * mean_p) / (2.0 * mass) +
                        0.5 * k * (sigma_x * sigma_x + mean_x * mean_x);
  EXPECT_NEAR(moments.energy, energy, 1e-12);
  EXPECT_THROW(phase_space_moments(grid, density, mass, std::vector<double>(3, 0.0)), InputError);
}

// ρ = N(x; 0.4, 0.9)·N(p; a·x, 0.5): n(x) = N(x; 0.4, 0.9), j(x) = (a x / m)·n(x).
TEST(Observables, DensityAndCurrentMarginals) {
  const PhaseSpaceGrid grid = make_test_grid(200, 256, 32.0);
  const double a = 1.7, mass = 1.3;
  const auto density = sample(grid, [=](double x, double p) { return normal(x, 0.4, 0.9) * normal(p, a * x, 0.5); });
  const auto n = density_marginal(grid, density);
  const auto j = current_marginal(grid, density, mass);
  ASSERT_EQ(n.size(), grid.centres);
  ASSERT_EQ(j.size(), grid.centres);
  double largest_n = 0.0, largest_j = 0.0;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    const double x = grid.x0(c);
    largest_n = std::max(largest_n, std::abs(n[c] - normal(x, 0.4, 0.9)));
    largest_j = std::max(largest_j, std::abs(j[c] - a * x / mass * normal(x, 0.4, 0.9)));
  }
  EXPECT_LT(largest_n, 1e-12);
  EXPECT_LT(largest_j, 1e-12);
  // ∫|n - 0| dx = 1; ∫|1 - 0| dx = L.
  EXPECT_NEAR(line_l1_distance(grid, n, std::vector<double>(grid.centres, 0.0)), 1.0, 1e-12);
  EXPECT_NEAR(line_l1_distance(grid, std::vector<double>(grid.centres, 1.0),
                               std::vector<double>(grid.centres, 0.0)),
              20.0, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Region probabilities.

TEST(Regions, UniformDensityGivesTheIntervalsShare) {
  const Grid grid = make_grid(-10.0, 10.0, 64);
  const std::vector<double> uniform(grid.size, 1.0 / grid.length);
  EXPECT_NEAR(region_probability(grid, uniform, -10.0, 10.0), 1.0, 1e-14);
  EXPECT_NEAR(region_probability(grid, uniform, -3.01, 4.77), 7.78 / 20.0, 1e-14);
  // Across the periodic seam, and an empty interval.
  EXPECT_NEAR(region_probability(grid, uniform, 8.9, 11.3), 2.4 / 20.0, 1e-14);
  EXPECT_NEAR(region_probability(grid, uniform, 1.234, 1.234), 0.0, 0.0);
  EXPECT_THROW(region_probability(grid, uniform, 2.0, 1.0), InputError);
  EXPECT_THROW(region_probability(grid, uniform, -10.0, 10.5), InputError);

  const PhaseSpaceGrid phase_space = make_test_grid(40, 16);
  const std::vector<double> flat(phase_space.cells(), 1.0 / (20.0 * 16.0 * phase_space.dp));
  EXPECT_NEAR(region_probability(phase_space, flat, -3.01, 4.77), 7.78 / 20.0, 1e-14);
  EXPECT_NEAR(region_probability(phase_space, flat, -10.0, 10.0), 1.0, 1e-14);
}

// A Gaussian position density: P([a, b]) = (erf(b/√2σ) - erf(a/√2σ))/2. Cells cut by an edge are
// weighted by the covered fraction of a constant value: error up to spacing²/8·max|n'| per edge,
// plus the midpoint rule's spacing²/24·|n'(b) - n'(a)| inside; spacing²/2·max|n'| bounds both.
TEST(Regions, GaussianDensityMatchesErf) {
  const double sigma = 1.0, low = -0.73, high = 1.91;
  const double expected = 0.5 * (std::erf(high / (std::sqrt(2.0) * sigma)) - std::erf(low / (std::sqrt(2.0) * sigma)));
  const double slope_bound = normal(sigma, 0.0, sigma) / sigma;  // max |n'|, at x = ±σ

  const Grid grid = make_grid(-10.0, 10.0, 4096);
  std::vector<double> n(grid.size);
  for (std::size_t i = 0; i < grid.size; ++i) n[i] = normal(grid.x(i), 0.0, sigma);
  const double quantum_bound = grid.dx() * grid.dx() / 2.0 * slope_bound;
  EXPECT_NEAR(region_probability(grid, n, low, high), expected, quantum_bound);

  const PhaseSpaceGrid phase_space = make_test_grid(400, 100);
  const auto density = gaussian(phase_space, 0.0, 0.2, sigma, 1.0);
  const double phase_space_bound = phase_space.dx0 * phase_space.dx0 / 2.0 * slope_bound;
  EXPECT_NEAR(region_probability(phase_space, density, low, high), expected, phase_space_bound);
  // The bound is not vacuous: it is far below the probability itself.
  EXPECT_LT(phase_space_bound, 1e-3 * expected);
}

// ---------------------------------------------------------------------------------------------
// The rate fit.

TEST(RateFit, ExactPowerLaw) {
  const std::vector<double> hbar{0.1, 0.05, 0.025, 0.0125, 0.00625};
  std::vector<double> error;
  for (const double h : hbar) error.push_back(3.0 * std::pow(h, 1.5));
  const RateFit fit = fit_rate(hbar, error);
  EXPECT_EQ(fit.points, 5u);
  EXPECT_NEAR(fit.rate, 1.5, 1e-12);
  EXPECT_NEAR(fit.log_prefactor, std::log(3.0), 1e-12);
  EXPECT_LT(fit.stderr_rate, 1e-12);
  EXPECT_GE(fit.stderr_rate, 0.0);
}

// err_k = ħ_k·e^{δ_k}, ħ_k = 0.2/2^k, k = 0..3, δ = (0.1, -0.05, 0.02, -0.08). By hand, with
// u_k - ū = -(k - 3/2) ln 2: Σ(u - ū)² = 5 ln²2 and Σ(u - ū)δ = 0.235 ln 2, so β = 1 + 0.047/ln 2.
// The residuals of δ about its own line in k are (0.032, -0.071, 0.046, -0.007), so
// RSS = 0.00823, s² = RSS/2 and stderr = sqrt(s² / (5 ln²2)). The intercept is
// v̄ - βū = δ̄ - (β - 1)ū with δ̄ = -0.0025 and ū = ln 0.2 - 1.5 ln 2.
TEST(RateFit, PerturbedPowerLawMatchesHandComputedLeastSquares) {
  const std::vector<double> delta{0.1, -0.05, 0.02, -0.08};
  std::vector<double> hbar, error;
  for (std::size_t k = 0; k < delta.size(); ++k) {
    hbar.push_back(0.2 / std::pow(2.0, static_cast<double>(k)));
    error.push_back(hbar.back() * std::exp(delta[k]));
  }
  const double ln2 = std::numbers::ln2;
  const double rate = 1.0 + 0.047 / ln2;
  const double stderr_rate = std::sqrt(0.00823 / 2.0 / (5.0 * ln2 * ln2));
  const double mean_u = std::log(0.2) - 1.5 * ln2;
  const double log_prefactor = -0.0025 - (rate - 1.0) * mean_u;
  const RateFit fit = fit_rate(hbar, error);
  EXPECT_EQ(fit.points, 4u);
  EXPECT_NEAR(fit.rate, rate, 1e-12);
  EXPECT_NEAR(fit.stderr_rate, stderr_rate, 1e-12);
  EXPECT_NEAR(fit.log_prefactor, log_prefactor, 1e-12);
  EXPECT_NEAR(stderr_rate, 0.0413880, 1e-6);  // the hand value, as a number
}

TEST(RateFit, TooFewPointsGiveNaN) {
  const RateFit none = fit_rate(std::vector<double>{}, std::vector<double>{});
  EXPECT_TRUE(std::isnan(none.rate));
  EXPECT_TRUE(std::isnan(none.stderr_rate));
  EXPECT_EQ(none.points, 0u);
  const RateFit one = fit_rate(std::vector<double>{0.1}, std::vector<double>{0.3});
  EXPECT_TRUE(std::isnan(one.rate));
  EXPECT_EQ(one.points, 1u);
  // A zero error has no logarithm: it is left out, leaving one point.
  const RateFit zero = fit_rate(std::vector<double>{0.1, 0.05}, std::vector<double>{0.3, 0.0});
  EXPECT_TRUE(std::isnan(zero.rate));
  EXPECT_EQ(zero.points, 1u);
  // Two points: a line through them, stderr 0.
  const RateFit two = fit_rate(std::vector<double>{0.1, 0.05}, std::vector<double>{0.4, 0.1});
  EXPECT_NEAR(two.rate, 2.0, 1e-12);
  EXPECT_EQ(two.stderr_rate, 0.0);
  EXPECT_EQ(two.points, 2u);
  EXPECT_THROW(fit_rate(std::vector<double>{0.1, 0.05}, std::vector<double>{0.4}), InputError);
}

}  // namespace
}  // namespace phasespace
