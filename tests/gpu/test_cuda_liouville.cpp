// The device Liouville sweeps against the CPU reference (host/src/liouville.cpp) on random f.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <tuple>
#include <utility>

#include "gpu_test_support.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {
namespace {

using gpu_test::compare;

// 231 × 150 cells (neither a multiple of 32), centred momenta, several cells of shift per step.
PhaseSpaceGrid test_grid() {
  PhaseSpaceGrid grid;
  grid.hbar = 0.05;
  grid.centre_stride = 1;
  grid.centres = 3 * 7 * 11;
  grid.x0_first = -4.0;
  grid.dx0 = 8.0 / static_cast<double>(grid.centres);
  grid.fft_length = 150;
  grid.k_first = -75;
  grid.momenta = 150;
  grid.dp = 0.04;
  return grid;
}

// centres × momenta cells over the same phase-space box as test_grid().
PhaseSpaceGrid sized_grid(std::size_t centres, std::size_t momenta) {
  PhaseSpaceGrid grid = test_grid();
  grid.centres = centres;
  grid.dx0 = 8.0 / static_cast<double>(centres);
  grid.fft_length = momenta;
  grid.k_first = -static_cast<long>(momenta / 2);
  grid.momenta = momenta;
  grid.dp = 6.0 / static_cast<double>(momenta);
  return grid;
}

template <class Real>
void check_against_cpu(int order, Scheme scheme, MomentumBoundary boundary,
                       const std::string& potential_text, double tolerance,
                       const PhaseSpaceGrid& grid = test_grid()) {
  const unsigned int seed = gpu_test::fresh_seed();
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + ", lagrange" +
               std::to_string(order) + ", " + to_string(scheme) + ", " +
               (boundary == MomentumBoundary::zero ? "zero" : "periodic") + " in p, U = " +
               potential_text + ", " + std::to_string(grid.centres) + " x " +
               std::to_string(grid.momenta) + " cells, seed " + std::to_string(seed));
  const Potential potential(potential_text);
  LiouvilleOptions options;
  options.mass = 1.1;
  options.dt = 0.07;
  options.scheme = scheme;
  options.interpolation = Interpolation{InterpolationKind::lagrange, order};
  options.momentum_boundary = boundary;

  std::vector<double> expected = gpu_test::random_density(grid.cells(), seed);
  cuda::DeviceDensity<Real> f(expected);
  LiouvilleSolver cpu(grid, potential, options);
  cuda::LiouvilleSolver<Real> gpu(grid, potential, options);
  cpu.advance(expected, 0.1, 3);
  cpu.advance(expected, 0.1 + 3 * options.dt, 1);
  gpu.advance(f, 0.1, 3);
  gpu.advance(f, 0.1 + 3 * options.dt, 1);
  const auto result = compare(f.download(), expected);
  EXPECT_LT(result.relative_l2, tolerance) << result.detail;
  if (boundary == MomentumBoundary::zero) {
    ASSERT_GT(cpu.mass_lost(), 0.0) << "the test should push mass through the p edges";
    const double mass = cpu.diagnostics(expected).mass;
    EXPECT_NEAR(gpu.mass_lost(), cpu.mass_lost(), 10 * tolerance * mass) << "mass lost";
  }
  std::cout << "[ info ] liouville " << gpu_test::precision_name<Real>() << " lagrange" << order
            << " " << to_string(scheme) << ": " << result.detail << "\n";
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
    const PhaseSpaceGrid grid = sized_grid(centres, momenta);
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

TEST(CudaLiouville, UnsupportedInterpolationIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  LiouvilleOptions options;
  options.interpolation = Interpolation{InterpolationKind::spline, 3};
  EXPECT_THROW(
      { cuda::LiouvilleSolver<double> solver(test_grid(), Potential("x^2"), options); }, InputError);
  options.interpolation = Interpolation{InterpolationKind::lagrange, 4};
  EXPECT_THROW(
      { cuda::LiouvilleSolver<double> solver(test_grid(), Potential("x^2"), options); }, InputError);
}

}  // namespace
}  // namespace phasespace
