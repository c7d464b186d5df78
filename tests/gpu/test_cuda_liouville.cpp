// The device Liouville sweeps against the CPU reference (host/src/liouville.cpp) on random f.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gpu_test_support.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {
namespace {

using gpu_test::compare;
using gpu_test::phase_space_box;

// 231 × 150 cells (neither a multiple of 32), centred momenta, several cells of shift per step.
PhaseSpaceGrid test_grid() { return phase_space_box(3 * 7 * 11, 150); }

Interpolation lagrange(int order) { return Interpolation{InterpolationKind::lagrange, order}; }

// Largest |actual - expected| over the largest |expected|: the measure of the spline and
// spectral comparisons (their sweeps are FFTs, whose errors spread over whole lines).
double relative_to_max(const std::vector<double>& actual, const std::vector<double>& expected) {
  double worst = 0.0;
  double largest = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double error = std::fabs(actual[i] - expected[i]);
    worst = std::isfinite(error) ? std::max(worst, error) : INFINITY;
    largest = std::max(largest, std::fabs(expected[i]));
  }
  return worst / largest;
}

// Random but smooth-ish: a few Gaussian bumps of random centres and widths (several cells) and
// a little cell-to-cell noise, so interpolation errors stay small and every mode is present.
std::vector<double> random_smooth_density(const PhaseSpaceGrid& grid, unsigned int seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> values(grid.cells(), 0.0);
  const double x_span = grid.dx0 * static_cast<double>(grid.centres);
  const double p_span = grid.dp * static_cast<double>(grid.momenta);
  for (int bump = 0; bump < 4; ++bump) {
    const double x0 = grid.x0(0) + x_span * uniform(engine);
    const double p0 = grid.p(0) + p_span * uniform(engine);
    const double sx = x_span * (0.05 + 0.1 * uniform(engine));
    const double sp = p_span * (0.05 + 0.1 * uniform(engine));
    const double height = 0.5 + uniform(engine);
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (std::size_t j = 0; j < grid.momenta; ++j) {
        const double u = (grid.x0(c) - x0) / sx;
        const double v = (grid.p(j) - p0) / sp;
        values[c * grid.momenta + j] += height * std::exp(-0.5 * (u * u + v * v));
      }
    }
  }
  for (auto& value : values) value += 0.01 * uniform(engine);
  return values;
}

struct Case {
  Interpolation interpolation;
  Scheme scheme;
  MomentumBoundary boundary;
  std::string potential;
};

std::string describe(const Case& run, const PhaseSpaceGrid& grid) {
  return to_string(run.interpolation) + ", " + to_string(run.scheme) + ", " +
         (run.boundary == MomentumBoundary::zero ? "zero" : "periodic") + " in p, U = " +
         run.potential + ", " + std::to_string(grid.centres) + " x " +
         std::to_string(grid.momenta) + " cells";
}

// Both solvers from the same f, 3 + 1 steps (two advances: the X fusion restarts); returns the
// device's f and checks the mass lost at the p edges against the CPU's.
template <class Real>
std::vector<double> advance_both(const Case& run, const PhaseSpaceGrid& grid,
                                 std::vector<double>& expected, double tolerance) {
  const Potential potential(run.potential);
  LiouvilleOptions options;
  options.mass = 1.1;
  options.dt = 0.07;
  options.scheme = run.scheme;
  options.interpolation = run.interpolation;
  options.momentum_boundary = run.boundary;
  cuda::DeviceDensity<Real> f(expected);
  LiouvilleSolver cpu(grid, potential, options);
  cuda::LiouvilleSolver<Real> gpu(grid, potential, options);
  cpu.advance(expected, 0.1, 3);
  cpu.advance(expected, 0.1 + 3 * options.dt, 1);
  gpu.advance(f, 0.1, 3);
  gpu.advance(f, 0.1 + 3 * options.dt, 1);
  if (run.boundary == MomentumBoundary::zero) {
    EXPECT_GT(cpu.mass_lost(), 0.0) << "the test should push mass through the p edges";
    const double mass = cpu.diagnostics(expected).mass;
    EXPECT_NEAR(gpu.mass_lost(), cpu.mass_lost(), 10 * tolerance * mass) << "mass lost";
  }
  return f.download();
}

template <class Real>
void check_against_cpu(int order, Scheme scheme, MomentumBoundary boundary,
                       const std::string& potential_text, double tolerance,
                       const PhaseSpaceGrid& grid = test_grid()) {
  const unsigned int seed = gpu_test::fresh_seed();
  const Case run{lagrange(order), scheme, boundary, potential_text};
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + ", " + describe(run, grid) +
               ", seed " + std::to_string(seed));
  std::vector<double> expected = gpu_test::random_density(grid.cells(), seed);
  const std::vector<double> actual = advance_both<Real>(run, grid, expected, tolerance);
  const auto result = compare(actual, expected);
  EXPECT_LT(result.relative_l2, tolerance) << result.detail;
  std::cout << "[ info ] liouville " << gpu_test::precision_name<Real>() << " lagrange" << order
            << " " << to_string(scheme) << ": " << result.detail << "\n";
}

// Spline and spectral: the device's FFT line shifts against the CPU's recursive prefilter and
// FFTW shifts, to `tolerance` relative to the largest value.
template <class Real>
void check_fft_sweeps_against_cpu(const Case& run, const PhaseSpaceGrid& grid, double tolerance) {
  const unsigned int seed = gpu_test::fresh_seed();
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + ", " + describe(run, grid) +
               ", seed " + std::to_string(seed));
  std::vector<double> expected = random_smooth_density(grid, seed);
  const std::vector<double> actual = advance_both<Real>(run, grid, expected, tolerance);
  const double error = relative_to_max(actual, expected);
  EXPECT_LT(error, tolerance) << compare(actual, expected).detail;
  std::cout << "[ info ] liouville " << gpu_test::precision_name<Real>() << " "
            << describe(run, grid) << ": max error / max value " << error << "\n";
}

class CudaLiouvilleOrders : public ::testing::TestWithParam<int> {};

TEST_P(CudaLiouvilleOrders, StrangPeriodicMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(GetParam(), Scheme::strang, MomentumBoundary::periodic,
                            "0.5*x^2 + 0.2*sin(3*x)", 1e-10);
}

TEST_P(CudaLiouvilleOrders, Yoshida4ZeroBoundaryTimeDependentMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  // A strong force so that mass crosses the momentum edges within the run.
  check_against_cpu<double>(GetParam(), Scheme::yoshida4, MomentumBoundary::zero,
                            "3*x^2*(1 + 0.3*sin(2*t)) + 0.2*sin(3*x)", 1e-10);
}

TEST_P(CudaLiouvilleOrders, StrangPeriodicMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(GetParam(), Scheme::strang, MomentumBoundary::periodic,
                           "0.5*x^2 + 0.2*sin(3*x)", 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Lagrange, CudaLiouvilleOrders, ::testing::Values(3, 5, 7, 9));

TEST(CudaLiouville, ZeroBoundaryMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(5, Scheme::yoshida4, MomentumBoundary::zero,
                           "3*x^2*(1 + 0.3*sin(2*t)) + 0.2*sin(3*x)", 1e-4);
}

// The sweeps make several outputs per thread (8 rows of a column in X, 16 bytes of a row in P):
// lines shorter than one thread's X window (8 + points - 1 rows, so it wraps more than once)
// and rows longer than one block's span (1024 floats, 512 doubles), neither a multiple of it.
TEST(CudaLiouville, ShortAndLongLinesMatchCpu) {
  PHASESPACE_REQUIRE_DEVICE();
  const std::string smooth = "0.5*x^2 + 0.2*sin(3*x)";
  const std::string strong = "3*x^2*(1 + 0.3*sin(2*t)) + 0.2*sin(3*x)";
  for (const auto& [centres, momenta] :
       {std::pair<std::size_t, std::size_t>{10, 13}, std::pair<std::size_t, std::size_t>{37, 1100}}) {
    const PhaseSpaceGrid grid = phase_space_box(centres, momenta);
    for (int order : {3, 9}) {
      check_against_cpu<double>(order, Scheme::strang, MomentumBoundary::periodic, smooth, 1e-10, grid);
      check_against_cpu<float>(order, Scheme::strang, MomentumBoundary::periodic, smooth, 1e-4, grid);
      check_against_cpu<double>(order, Scheme::yoshida4, MomentumBoundary::zero, strong, 1e-10, grid);
    }
    check_against_cpu<float>(3, Scheme::yoshida4, MomentumBoundary::zero, strong, 1e-4, grid);
  }
}

TEST(CudaLiouville, MassIsConservedWithPeriodicMomenta) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  LiouvilleOptions options;
  options.dt = 0.05;
  const std::vector<double> values = gpu_test::random_density(grid.cells(), gpu_test::fresh_seed());
  cuda::DeviceDensity<double> f(values);
  cuda::LiouvilleSolver<double> gpu(grid, Potential("0.5*x^2"), options);
  const double before = gpu.mass(f);
  gpu.advance(f, 0.0, 10);
  EXPECT_NEAR(gpu.mass(f), before, 1e-12 * before);
  EXPECT_EQ(gpu.sweeps(), 21u);  // Strang, fused X halves: 10 P sweeps and 11 X sweeps
}

TEST(CudaLiouville, InvalidInterpolationOrGridIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  LiouvilleOptions options;
  options.interpolation = Interpolation{InterpolationKind::lagrange, 4};
  EXPECT_THROW(
      { cuda::LiouvilleSolver<double> solver(test_grid(), Potential("x^2"), options); }, InputError);
  options.interpolation = Interpolation{InterpolationKind::spline, 3};
  EXPECT_THROW(
      { cuda::LiouvilleSolver<double> solver(phase_space_box(1, 38), Potential("x^2"), options); },
      InputError);
}

// Spline and spectral sweeps (FFT line shifts): both momentum boundaries, odd × even and
// even × odd grids (neither a multiple of 32), strang with a static and yoshida4 with a
// time-dependent potential strong enough to push mass through the p edges.
const std::string smooth_potential = "0.5*x^2 + 0.2*sin(3*x)";
const std::string strong_potential = "3*x^2*(1 + 0.3*sin(2*t)) + 0.2*sin(3*x)";

std::vector<Case> fft_cases(InterpolationKind kind) {
  const Interpolation interpolation{kind, kind == InterpolationKind::spline ? 3 : 0};
  return {{interpolation, Scheme::strang, MomentumBoundary::periodic, smooth_potential},
          {interpolation, Scheme::strang, MomentumBoundary::zero, smooth_potential},
          {interpolation, Scheme::yoshida4, MomentumBoundary::periodic, strong_potential},
          {interpolation, Scheme::yoshida4, MomentumBoundary::zero, strong_potential}};
}

// Odd and even lengths, the smallest lines cuFFT gets (3 × 2), and 13 momenta (padded, zero
// outside, to the odd spectral length 27).
std::vector<PhaseSpaceGrid> fft_grids() {
  return {phase_space_box(45, 38), phase_space_box(40, 27), phase_space_box(3, 2),
          phase_space_box(13, 13), test_grid()};
}

class CudaLiouvilleFftSweeps : public ::testing::TestWithParam<InterpolationKind> {};

TEST_P(CudaLiouvilleFftSweeps, MatchCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  for (const auto& grid : fft_grids()) {
    for (const auto& run : fft_cases(GetParam())) check_fft_sweeps_against_cpu<double>(run, grid, 1e-12);
  }
}

// Float: sixteen sweeps of one R2C and one C2R each, every transform a few float epsilons off.
TEST_P(CudaLiouvilleFftSweeps, MatchCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  const double tolerance = 1000.0 * std::numeric_limits<float>::epsilon();
  for (const auto& grid : fft_grids()) {
    for (const auto& run : fft_cases(GetParam())) check_fft_sweeps_against_cpu<float>(run, grid, tolerance);
  }
}

TEST_P(CudaLiouvilleFftSweeps, MassIsConservedWithPeriodicMomenta) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = phase_space_box(45, 38);
  LiouvilleOptions options;
  options.dt = 0.05;
  options.interpolation = Interpolation{GetParam(), GetParam() == InterpolationKind::spline ? 3 : 0};
  options.momentum_boundary = MomentumBoundary::periodic;
  cuda::DeviceDensity<double> f(random_smooth_density(grid, gpu_test::fresh_seed()));
  cuda::LiouvilleSolver<double> gpu(grid, Potential(strong_potential), options);
  const double before = gpu.mass(f);
  gpu.advance(f, 0.0, 10);
  EXPECT_NEAR(gpu.mass(f), before, 1e-12 * before);
  EXPECT_EQ(gpu.mass_lost(), 0.0);
  EXPECT_EQ(gpu.sweeps(), 21u);  // Strang, fused X halves: 10 P sweeps and 11 X sweeps
}

INSTANTIATE_TEST_SUITE_P(Kinds, CudaLiouvilleFftSweeps,
                         ::testing::Values(InterpolationKind::spline, InterpolationKind::spectral),
                         [](const ::testing::TestParamInfo<InterpolationKind>& kind) {
                           return to_string(Interpolation{kind.param, 0});
                         });

}  // namespace
}  // namespace phasespace
