// The device collision operators (cuda/src/collisions.cu) against the CPU reference
// (host/src/collisions.cpp) on random f: each operator alone, a whole Liouville/Boltzmann advance,
// and the conservation laws of the local-Maxwellian relaxation.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_support.hpp"
#include "phasespace/collisions.hpp"
#include "phasespace/cuda/collisions.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/disorder.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {
namespace {

using gpu_test::compare;
using Operators = std::vector<std::shared_ptr<const CollisionOperator>>;

using gpu_test::phase_space_box;

PhaseSpaceGrid test_grid() { return phase_space_box(3 * 7 * 11, 151); }

// Relative tolerance of one operator applied once: round-off of a few operations in double, the
// rounding of the result (and of f_eq) to Real in float.
template <class Real>
double operator_tolerance() {
  return sizeof(Real) == sizeof(double) ? 1e-12 : 8.0 * std::numeric_limits<float>::epsilon();
}

// The values a DeviceDensity<Real> holds for `values`: the CPU reference starts from the same.
template <class Real>
std::vector<double> rounded(std::vector<double> values) {
  for (double& value : values) value = static_cast<double>(static_cast<Real>(value));
  return values;
}

// Impurities weak enough that e^{-2W(p)τ} spans (0, 1) over the grid at τ ~ 0.3.
ImpurityShape weak_impurity() {
  ImpurityShape shape;
  shape.kind = ImpurityShape::Kind::gaussian;
  shape.strength = 0.02;
  shape.width = 0.01;
  return shape;
}

// A dense generator: random rates between all momentum cells, columns summing to zero.
std::vector<std::vector<double>> random_generator(std::size_t momenta, unsigned int seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 0.02);
  std::vector<std::vector<double>> generator(momenta, std::vector<double>(momenta, 0.0));
  for (std::size_t l = 0; l < momenta; ++l) {
    double outflow = 0.0;
    for (std::size_t k = 0; k < momenta; ++k) {
      if (k == l) continue;
      generator[k][l] = uniform(engine);
      outflow += generator[k][l];
    }
    generator[l][l] = -outflow;
  }
  return generator;
}

// The operators under test, by name: each made for `grid` (the rate matrices need its size).
std::shared_ptr<const CollisionOperator> make_operator(const std::string& name,
                                                       const PhaseSpaceGrid& grid,
                                                       unsigned int seed) {
  if (name == "given_relaxation") {
    return make_relaxation(0.7, 1.0, std::string("exp(-p^2/2)*(1 + 0.3*sin(x))/sqrt(2*_pi)"));
  }
  if (name == "maxwellian_relaxation") return make_relaxation(0.4, 1.0, std::nullopt);
  if (name == "backscattering") return make_backscattering(weak_impurity(), 2.0, 1.0, grid.hbar);
  // The disorder study's impurity back-scattering (disorder.hpp), exact and golden-rule rates.
  if (name == "impurity_t_matrix") {
    return make_impurity_scattering(ScatteringRate::t_matrix, weak_impurity(), 2.0, 1.0, grid.hbar);
  }
  if (name == "impurity_born") {
    return make_impurity_scattering(ScatteringRate::born, weak_impurity(), 2.0, 1.0, grid.hbar);
  }
  if (name == "golden_rule_matrix") {
    return make_rate_matrix(golden_rule_generator(grid, weak_impurity(), 2.0, 1.0));
  }
  return make_rate_matrix(random_generator(grid.momenta, seed));  // "random_matrix"
}

template <class Real>
void check_operator(const std::string& name, const PhaseSpaceGrid& grid) {
  const unsigned int seed = gpu_test::fresh_seed();
  SCOPED_TRACE(name + ", " + gpu_test::precision_name<Real>() + ", " +
               std::to_string(grid.centres) + " x " + std::to_string(grid.momenta) +
               " cells, seed " + std::to_string(seed));
  const auto collision = make_operator(name, grid, seed);
  std::vector<double> expected = rounded<Real>(gpu_test::random_density(grid.cells(), seed));
  const std::vector<double> initial = expected;
  cuda::DeviceDensity<Real> f(expected);
  cuda::Collisions<Real> device(grid, {collision});
  // Two steps of different length: the per-τ tables must not be mixed up.
  for (double tau : {0.35, 0.1}) {
    collision->apply(grid, tau, expected);
    device.apply(f, tau);
  }
  ASSERT_GT(compare(initial, expected).relative_l2, 1e-3) << "the operator must do something";
  const auto result = compare(f.download(), expected);
  EXPECT_LT(result.relative_l2, operator_tolerance<Real>()) << result.detail;
  std::cout << "[ info ] " << name << " " << gpu_test::precision_name<Real>() << " "
            << grid.centres << " x " << grid.momenta << ": " << result.detail << "\n";
}

const std::vector<std::string> operator_names = {
    "given_relaxation", "maxwellian_relaxation", "backscattering", "impurity_t_matrix",
    "impurity_born",    "golden_rule_matrix",    "random_matrix"};

class CudaCollisionOperators : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaCollisionOperators, MatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_operator<double>(GetParam(), test_grid());
}

TEST_P(CudaCollisionOperators, MatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_operator<float>(GetParam(), test_grid());
}

// Rows shorter than a warp and the matrix tile, and rows longer than a block of 256 threads
// (the local-Maxwellian kernel strides over them), neither a multiple of either (301, not more:
// the CPU's exp(Gτ) of a dense matrix costs O(momenta³)).
TEST_P(CudaCollisionOperators, ShortAndLongRowsMatchCpu) {
  PHASESPACE_REQUIRE_DEVICE();
  for (const auto& [centres, momenta] :
       {std::pair<std::size_t, std::size_t>{10, 13}, std::pair<std::size_t, std::size_t>{37, 301}}) {
    check_operator<double>(GetParam(), phase_space_box(centres, momenta));
    check_operator<float>(GetParam(), phase_space_box(centres, momenta));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, CudaCollisionOperators, ::testing::ValuesIn(operator_names));

// Σ_j p_j^k f(c, j) for every centre c and k = 0, 1, 2.
std::vector<double> row_moments(const PhaseSpaceGrid& grid, const std::vector<double>& f) {
  std::vector<double> moments(3 * grid.centres, 0.0);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double value = f[c * grid.momenta + j];
      moments[3 * c] += value;
      moments[3 * c + 1] += grid.p(j) * value;
      moments[3 * c + 2] += grid.p(j) * grid.p(j) * value;
    }
  }
  return moments;
}

template <class Real>
void check_maxwellian_conservation(const PhaseSpaceGrid& grid) {
  const unsigned int seed = gpu_test::fresh_seed();
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + ", " +
               std::to_string(grid.centres) + " x " + std::to_string(grid.momenta) +
               " cells, seed " + std::to_string(seed));
  const std::vector<double> initial = rounded<Real>(gpu_test::random_density(grid.cells(), seed));
  cuda::DeviceDensity<Real> f(initial);
  cuda::Collisions<Real> device(grid, {make_relaxation(0.4, 1.0, std::nullopt)});
  device.apply(f, 0.3);
  const std::vector<double> after = f.download();
  ASSERT_GT(compare(after, initial).relative_l2, 1e-3) << "the operator must do something";
  const auto before_moments = row_moments(grid, initial);
  const auto after_moments = row_moments(grid, after);
  // Double: round-off of the sums; float: the rounding of every cell to float.
  const double tolerance = sizeof(Real) == sizeof(double)
                               ? 1e-13
                               : 8.0 * std::numeric_limits<float>::epsilon();
  const double p_max = grid.p(grid.momenta - 1);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    const double density = before_moments[3 * c];
    EXPECT_NEAR(after_moments[3 * c], density, tolerance * density) << "density at c = " << c;
    EXPECT_NEAR(after_moments[3 * c + 1], before_moments[3 * c + 1], tolerance * density * p_max)
        << "momentum at c = " << c;
    EXPECT_NEAR(after_moments[3 * c + 2], before_moments[3 * c + 2],
                tolerance * density * p_max * p_max)
        << "energy at c = " << c;
  }
}

TEST(CudaCollisions, LocalMaxwellianConservesDensityMomentumAndEnergyPerCentre) {
  PHASESPACE_REQUIRE_DEVICE();
  check_maxwellian_conservation<double>(test_grid());
  check_maxwellian_conservation<float>(test_grid());
  check_maxwellian_conservation<double>(phase_space_box(37, 1101));
}

// U = 0 and periodic momenta: streaming conserves every momentum column's total, the
// relaxation conserves each row's moments, so the totals of 1, p, p² stay to round-off.
TEST(CudaCollisions, LocalMaxwellianWithTransportConservesTheTotals) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  LiouvilleOptions options;
  options.dt = 0.1;
  options.momentum_boundary = MomentumBoundary::periodic;
  const std::vector<double> initial = gpu_test::random_density(grid.cells(), gpu_test::fresh_seed());
  cuda::DeviceDensity<double> f(initial);
  cuda::LiouvilleSolver<double> solver(grid, Potential("0", std::string("0")), options,
                                       {make_relaxation(0.3, 1.0, std::nullopt)});
  solver.advance(f, 0.0, 10);
  auto totals = [&](const std::vector<double>& values) {
    const auto moments = row_moments(grid, values);
    std::vector<double> sums(3, 0.0);
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (int k = 0; k < 3; ++k) sums[k] += moments[3 * c + static_cast<std::size_t>(k)];
    }
    return sums;
  };
  const auto before = totals(initial);
  const auto after = totals(f.download());
  EXPECT_NEAR(after[0], before[0], 1e-12 * before[0]);
  EXPECT_NEAR(after[1], before[1], 1e-12 * before[2]);
  EXPECT_NEAR(after[2], before[2], 1e-12 * before[2]);
}

// A whole advance with collisions against the CPU LiouvilleSolver: the composition
// C(dt/2) [transport] C(dt/2), the reverse order of the second half, and (zero boundary) the
// mass lost at the p edges apart from what the given-equilibrium relaxation changes.
template <class Real>
void check_advance(const Operators& collisions, const std::string& what, Scheme scheme,
                   MomentumBoundary boundary, double tolerance) {
  const PhaseSpaceGrid grid = test_grid();
  const unsigned int seed = gpu_test::fresh_seed();
  SCOPED_TRACE(what + ", " + gpu_test::precision_name<Real>() + ", " + to_string(scheme) + ", " +
               (boundary == MomentumBoundary::zero ? "zero" : "periodic") + " in p, seed " +
               std::to_string(seed));
  const std::string potential_text = "3*x^2*(1 + 0.3*sin(2*t)) + 0.2*sin(3*x)";
  const Potential potential(potential_text);
  LiouvilleOptions options;
  options.mass = 1.1;
  options.dt = 0.07;
  options.scheme = scheme;
  options.interpolation = Interpolation{InterpolationKind::lagrange, 5};
  options.momentum_boundary = boundary;

  std::vector<double> expected = rounded<Real>(gpu_test::random_density(grid.cells(), seed));
  cuda::DeviceDensity<Real> f(expected);
  LiouvilleSolver cpu(grid, potential, options, collisions);
  cuda::LiouvilleSolver<Real> gpu(grid, potential, options, collisions);
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
  std::cout << "[ info ] liouville with " << what << " " << gpu_test::precision_name<Real>()
            << " " << to_string(scheme) << ": " << result.detail << "\n";
}

// The config's kinds together, in an order where each one's place matters.
Operators config_kinds(const PhaseSpaceGrid& grid) {
  return {make_relaxation(0.4, 1.1, std::nullopt),
          make_backscattering(weak_impurity(), 2.0, 1.1, grid.hbar),
          make_relaxation(0.9, 1.1, std::string("exp(-p^2/2)*(1 + 0.3*sin(x))/sqrt(2*_pi)"))};
}

TEST(CudaCollisions, AdvanceWithCollisionsMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  for (Scheme scheme : {Scheme::strang, Scheme::yoshida4}) {
    for (MomentumBoundary boundary : {MomentumBoundary::periodic, MomentumBoundary::zero}) {
      check_advance<double>(config_kinds(grid), "relaxations and backscattering", scheme,
                            boundary, 1e-10);
    }
  }
  check_advance<double>({make_rate_matrix(random_generator(grid.momenta, gpu_test::fresh_seed()))},
                        "a rate matrix", Scheme::strang, MomentumBoundary::zero, 1e-10);
  // The disorder study's Boltzmann solver: the impurity back-scattering at the exact rate.
  check_advance<double>({make_impurity_scattering(ScatteringRate::t_matrix, weak_impurity(), 2.0,
                                                  1.1, grid.hbar)},
                        "impurity scattering (t_matrix)", Scheme::strang, MomentumBoundary::zero,
                        1e-10);
}

TEST(CudaCollisions, AdvanceWithCollisionsMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  check_advance<float>(config_kinds(grid), "relaxations and backscattering", Scheme::yoshida4,
                       MomentumBoundary::zero, 1e-4);
  check_advance<float>({make_rate_matrix(random_generator(grid.momenta, gpu_test::fresh_seed()))},
                       "a rate matrix", Scheme::strang, MomentumBoundary::periodic, 1e-4);
}

// Without collisions the X halves of consecutive steps fuse; with them they cannot.
TEST(CudaCollisions, CollisionsStopTheFusionOfXSweeps) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  LiouvilleOptions options;
  options.dt = 0.05;
  cuda::DeviceDensity<double> f(gpu_test::random_density(grid.cells(), gpu_test::fresh_seed()));
  cuda::LiouvilleSolver<double> solver(grid, Potential("0.5*x^2"), options,
                                       {make_relaxation(1.0, 1.0, std::nullopt)});
  solver.advance(f, 0.0, 10);
  EXPECT_EQ(solver.sweeps(), 30u);  // Strang: 10 P sweeps and 20 X half sweeps
}

// An operator made elsewhere (here: in the test) has no device version.
class CustomCollision final : public CollisionOperator {
 public:
  void apply(const PhaseSpaceGrid&, double, std::span<double>) const override {}
  std::string name() const override { return "custom"; }
};

TEST(CudaCollisions, OperatorWithoutDeviceVersionIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = test_grid();
  const Operators collisions = {std::make_shared<CustomCollision>()};
  EXPECT_THROW({ cuda::Collisions<double> device(grid, collisions); }, InputError);
  EXPECT_THROW(
      { cuda::LiouvilleSolver<double> solver(grid, Potential("x^2"), LiouvilleOptions{}, collisions); },
      InputError);
}

// Back-scattering needs p_j = -p_{P-1-j}: refused at the first step, as on the CPU.
TEST(CudaCollisions, BackscatteringOnAnAsymmetricGridIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  const PhaseSpaceGrid grid = phase_space_box(40, 150);  // even: k = -75..74
  ASSERT_FALSE(grid.momentum_symmetric());
  cuda::DeviceDensity<double> f(gpu_test::random_density(grid.cells(), 1));
  cuda::Collisions<double> device(grid, {make_backscattering(weak_impurity(), 2.0, 1.0, grid.hbar)});
  EXPECT_THROW(device.apply(f, 0.1), InputError);
}

}  // namespace
}  // namespace phasespace
