// The device split-step against the CPU reference (host/src/propagator.cpp) on random ψ.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "gpu_test_support.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/propagator.hpp"
#include "phasespace/potential.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace {
namespace {

using gpu_test::compare;

struct SplitStepCase {
  std::size_t points;
  std::size_t members;
  double hbar;
  double dt;
  std::size_t steps;
  Scheme scheme;
  std::string potential;
  bool absorbing;
};

// `rows` random extra potentials (values in [-2, 2], a rough field: every momentum is kicked),
// shared by the members in a scattered order (member k uses row (3k + 1) mod rows), so a
// member that reads another's row shows.
MemberPotentials random_member_potentials(const Grid& grid, std::size_t members, std::size_t rows,
                                          unsigned int seed) {
  std::mt19937_64 engine(seed + 17);
  std::uniform_real_distribution<double> uniform(-2.0, 2.0);
  MemberPotentials potentials;
  potentials.extra.assign(rows, std::vector<double>(grid.size));
  for (auto& row : potentials.extra) {
    for (double& value : row) value = uniform(engine);
  }
  for (std::size_t k = 0; k < members; ++k) potentials.of_member.push_back((3 * k + 1) % rows);
  return potentials;
}

// potential_rows > 0: each member with its own extra potential (MemberPotentials) on both sides.
template <class Real>
void check_against_cpu(const SplitStepCase& c, double tolerance,
                       cuda::FftCallbacks callbacks = cuda::FftCallbacks::off,
                       std::size_t potential_rows = 0) {
  const unsigned int seed = gpu_test::fresh_seed();
  const bool with_callbacks = callbacks == cuda::FftCallbacks::on;
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + (with_callbacks ? ", fft callbacks" : "") +
               ", member potential rows = " + std::to_string(potential_rows) +
               ", N = " + std::to_string(c.points) +
               ", members = " + std::to_string(c.members) + ", ħ = " + std::to_string(c.hbar) +
               ", " + to_string(c.scheme) + ", U = " + c.potential + ", seed " + std::to_string(seed));
  const Grid grid = make_grid(-6.0, 5.0, c.points);
  const Potential potential(c.potential);
  PropagatorOptions options;
  options.mass = 1.3;
  options.hbar = c.hbar;
  options.dt = c.dt;
  options.scheme = c.scheme;
  if (c.absorbing) options.absorbing = AbsorbingLayer{1.5, 4.0};

  Ensemble expected = gpu_test::random_ensemble(grid, c.members, seed);
  cuda::DeviceEnsemble<Real> device(expected);
  const MemberPotentials member_potentials =
      potential_rows > 0 ? random_member_potentials(grid, c.members, potential_rows, seed)
                         : MemberPotentials{};
  auto cpu = potential_rows > 0 ? std::make_unique<SplitStepPropagator>(grid, potential, options,
                                                                       c.members, member_potentials)
                                : std::make_unique<SplitStepPropagator>(grid, potential, options,
                                                                       c.members);
  cuda::SplitStepPropagator<Real> gpu(grid, potential, options, c.members, member_potentials,
                                      callbacks);
  // Two calls, so the state carried between advances (times, absorbed norm) is covered too.
  cpu->advance(expected, 0.25, c.steps);
  cpu->advance(expected, 0.25 + static_cast<double>(c.steps) * c.dt, 2);
  gpu.advance(device, 0.25, c.steps);
  gpu.advance(device, 0.25 + static_cast<double>(c.steps) * c.dt, 2);
  const Ensemble actual = device.download();

  const auto result = compare(actual.psi, expected.psi);
  EXPECT_LT(result.relative_l2, tolerance) << result.detail;
  if (potential_rows > 0) {
    // The study's device estimate counts at most four kick tables per row and an index a member.
    EXPECT_LE(gpu.member_table_bytes(),
              4 * potential_rows * c.points * 2 * sizeof(Real) + 8 * c.members);
  }
  if (c.absorbing) {
    ASSERT_GT(cpu->absorbed_norm(), 0.0);
    EXPECT_NEAR(gpu.absorbed_norm(), cpu->absorbed_norm(), 10 * tolerance * cpu->absorbed_norm())
        << "absorbed norm";
  }
  ::testing::Test::RecordProperty("relative_l2", std::to_string(result.relative_l2));
  std::cout << "[ info ] split-step " << gpu_test::precision_name<Real>()
            << (with_callbacks ? " fft-callbacks" : "")
            << (potential_rows > 0 ? " member-potentials" : "") << " N=" << c.points
            << " members=" << c.members << " " << to_string(c.scheme) << ": " << result.detail
            << "\n";
}

const SplitStepCase strang_case{1000, 3, 0.7, 0.01, 5, Scheme::strang,
                                "0.5*x^2 + 0.3*cos(2*x)", false};
const SplitStepCase yoshida_case{3 * 7 * 64, 5, 0.4, 0.02, 4, Scheme::yoshida4,
                                 "0.5*x^2*(1 + 0.2*sin(3*t)) + 0.1*x", true};

TEST(CudaSplitStep, StrangMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(strang_case, 1e-10);
}

TEST(CudaSplitStep, Yoshida4TimeDependentAbsorbingMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(yoshida_case, 1e-10);
}

TEST(CudaSplitStep, StrangMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(strang_case, 1e-4);
}

TEST(CudaSplitStep, Yoshida4TimeDependentAbsorbingMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(yoshida_case, 1e-4);
}

// The same with the phases applied inside the forward transform (cuFFT LTO callbacks).
TEST(CudaSplitStep, FftCallbacksStrangMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(strang_case, 1e-10, cuda::FftCallbacks::on);
}

TEST(CudaSplitStep, FftCallbacksYoshida4TimeDependentAbsorbingMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(yoshida_case, 1e-10, cuda::FftCallbacks::on);
}

TEST(CudaSplitStep, FftCallbacksStrangMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(strang_case, 1e-4, cuda::FftCallbacks::on);
}

TEST(CudaSplitStep, FftCallbacksYoshida4TimeDependentAbsorbingMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(yoshida_case, 1e-4, cuda::FftCallbacks::on);
}

// At small ħ the phases per step are hundreds to thousands of radians (here p²dt/2mħ reaches
// ~570 and U dt/ħ ~1800). A float angle of that size has an absolute error ~1e-4 rad per kick,
// ~1e-3 after 20 steps; reduced mod 2π in double first, the float run stays within float
// round-off of the double reference.
TEST(CudaSplitStep, FloatStaysAccurateAtSmallHbar) {
  PHASESPACE_REQUIRE_DEVICE();
  const SplitStepCase small_hbar{3 * 7 * 64, 2, 0.01, 1.0, 20, Scheme::strang,
                                 "0.5*x^2 + 0.3*cos(2*x)", false};
  check_against_cpu<float>(small_hbar, 1e-4);
}

// One extra potential per member (the disorder ensemble's realisations): the kick table's row
// of each member, with the kernels and inside the transform, against the CPU propagator.
TEST(CudaSplitStep, MemberPotentialsStrangMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(strang_case, 1e-10, cuda::FftCallbacks::off, 2);
}

TEST(CudaSplitStep, MemberPotentialsYoshida4TimeDependentAbsorbingMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(yoshida_case, 1e-10, cuda::FftCallbacks::off, 4);
}

TEST(CudaSplitStep, MemberPotentialsStrangMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(strang_case, 1e-4, cuda::FftCallbacks::off, 2);
}

TEST(CudaSplitStep, MemberPotentialsYoshida4TimeDependentAbsorbingMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(yoshida_case, 1e-4, cuda::FftCallbacks::off, 4);
}

TEST(CudaSplitStep, FftCallbacksMemberPotentialsStrangMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(strang_case, 1e-10, cuda::FftCallbacks::on, 2);
}

TEST(CudaSplitStep, FftCallbacksMemberPotentialsYoshida4TimeDependentAbsorbingMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(yoshida_case, 1e-10, cuda::FftCallbacks::on, 4);
}

TEST(CudaSplitStep, FftCallbacksMemberPotentialsStrangMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(strang_case, 1e-4, cuda::FftCallbacks::on, 2);
}

TEST(CudaSplitStep, FftCallbacksMemberPotentialsYoshida4TimeDependentAbsorbingMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(yoshida_case, 1e-4, cuda::FftCallbacks::on, 4);
}

// Member potentials are checked as the CPU checks them: one index per member, each index a row,
// each row one value per grid point.
TEST(CudaSplitStep, BadMemberPotentialsAreInputErrors) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(-1.0, 1.0, 100);
  PropagatorOptions options;
  const Potential potential("x^2");
  MemberPotentials too_few{{std::vector<double>(100, 0.0)}, {0}};
  EXPECT_THROW({ cuda::SplitStepPropagator<double> gpu(grid, potential, options, 2, too_few); },
               InputError);
  MemberPotentials bad_index{{std::vector<double>(100, 0.0)}, {0, 1}};
  EXPECT_THROW({ cuda::SplitStepPropagator<double> gpu(grid, potential, options, 2, bad_index); },
               InputError);
  MemberPotentials short_row{{std::vector<double>(99, 0.0)}, {0, 0}};
  EXPECT_THROW({ cuda::SplitStepPropagator<float> gpu(grid, potential, options, 2, short_row); },
               InputError);
}

TEST(CudaSplitStep, MismatchedEnsembleIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(-1.0, 1.0, 100);
  PropagatorOptions options;
  cuda::SplitStepPropagator<double> gpu(grid, Potential("x^2"), options, 2);
  cuda::DeviceEnsemble<double> three(grid, 3);
  EXPECT_THROW(gpu.advance(three, 0.0, 1), InputError);
  EXPECT_THROW({ cuda::SplitStepPropagator<double> none(grid, Potential("x^2"), options, 0); },
               InputError);
}

}  // namespace
}  // namespace phasespace
