// The device projection against the CPU reference (host/src/projection.cpp) on random ψ.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>

#include "gpu_test_support.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/projection.hpp"
#include "phasespace/projection.hpp"

namespace phasespace {
namespace {

using gpu_test::compare;

struct ProjectionCase {
  std::size_t points;
  std::size_t members;
  double hbar;
  Window window;
  PhaseSpaceOptions options;
  std::size_t device_budget;  // small values force chunking over centres and members
};

template <class Real>
void check_against_cpu(const ProjectionCase& c, double tolerance,
                       cuda::FftCallbacks callbacks = cuda::FftCallbacks::off) {
  const unsigned int seed = gpu_test::fresh_seed();
  const bool with_callbacks = callbacks == cuda::FftCallbacks::on;
  const Grid grid = make_grid(-5.0, 6.0, c.points);
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, c.hbar, c.window, c.options);
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) + (with_callbacks ? ", fft callbacks" : "") +
               ", " + to_string(c.window.shape) +
               " window, N = " + std::to_string(c.points) + ", members = " +
               std::to_string(c.members) + ", centres = " + std::to_string(phase_space.centres) +
               ", fft_length = " + std::to_string(phase_space.fft_length) + ", momenta = " +
               std::to_string(phase_space.momenta) + ", k_first = " +
               std::to_string(phase_space.k_first) + ", budget = " +
               std::to_string(c.device_budget) + ", seed " + std::to_string(seed));
  const Ensemble ensemble = gpu_test::random_ensemble(grid, c.members, seed);

  std::vector<double> expected(phase_space.cells());
  Projector cpu(grid, c.window, phase_space);
  cpu.project(ensemble, expected);

  cuda::DeviceEnsemble<Real> device(ensemble);
  cuda::Projector<Real> gpu(grid, c.window, phase_space, c.device_budget, callbacks);
  cuda::DeviceDensity<Real> density(phase_space.cells());  // poisoned: unwritten cells are NaN
  gpu.project(device, density);
  const auto first = compare(density.download(), expected);
  EXPECT_LT(first.relative_l2, tolerance) << first.detail;

  // Again into a poisoned density: the projector must overwrite, not accumulate onto old values.
  density.poison();
  gpu.project(device, density);
  const auto second = compare(density.download(), expected);
  EXPECT_LT(second.relative_l2, tolerance) << "second projection: " << second.detail;
  std::cout << "[ info ] projection " << gpu_test::precision_name<Real>()
            << (with_callbacks ? " fft-callbacks " : " ")
            << to_string(c.window.shape) << " chunk budget " << c.device_budget << ": "
            << first.detail << "\n";
}

ProjectionCase gaussian_case() {
  // σ = 0.3 on dx = 11/1000: support 2·242 + 1 points, fft_length 512, all momenta.
  return {1000, 3, 0.05, Window{WindowShape::gaussian, 0.3}, {}, std::size_t{256} << 20};
}

ProjectionCase box_case_chunked() {
  // Box window with a momentum cut (k_first < 0, fewer momenta than slots) and a budget of 7
  // rows: chunks of 7 centres of one member, the last chunk partial.
  PhaseSpaceOptions options;
  options.centre_stride = 7;
  options.fft_length = 300;  // not a power of two
  options.p_max = 2.0;
  ProjectionCase c{3 * 7 * 64, 4, 0.03, Window{WindowShape::box, 0.77}, options, 0};
  return c;
}

TEST(CudaProjection, GaussianWindowMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<double>(gaussian_case(), 1e-10);
}

TEST(CudaProjection, GaussianWindowMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  check_against_cpu<float>(gaussian_case(), 1e-4);
}

TEST(CudaProjection, BoxWindowChunkedWithMomentumCutMatchesCpuInDouble) {
  PHASESPACE_REQUIRE_DEVICE();
  ProjectionCase c = box_case_chunked();
  c.device_budget = 7 * 300 * sizeof(double) * 2;
  check_against_cpu<double>(c, 1e-10);
}

TEST(CudaProjection, HannWindowChunkedOverMembersMatchesCpuInFloat) {
  PHASESPACE_REQUIRE_DEVICE();
  ProjectionCase c = box_case_chunked();
  c.window = Window{WindowShape::hann, 0.9};
  c.options.fft_length.reset();
  c.options.centre_stride = 4;
  // Room for all centres of two members: 5 members make chunks of 2, 2 and 1 member.
  c.members = 5;
  const Grid grid = make_grid(-5.0, 6.0, c.points);
  const PhaseSpaceGrid ps = make_phase_space_grid(grid, c.hbar, c.window, c.options);
  c.device_budget = 2 * ps.centres * ps.fft_length * sizeof(float) * 2;
  check_against_cpu<float>(c, 1e-4);
}

// The gather and accumulate kernels make 4 slots / momenta per thread (1024 per block): rows
// longer than that and not a multiple of it, all momenta and a momentum cut; and a window wider
// than the periodic grid (half = 242 > 200 points: ψ wraps more than once).
TEST(CudaProjection, LongRowsAndWindowsWiderThanTheGridMatchCpu) {
  PHASESPACE_REQUIRE_DEVICE();
  PhaseSpaceOptions long_rows;
  long_rows.centre_stride = 5;
  long_rows.fft_length = 1100;  // σ = 0.4 on dx = 11/1500: support 2·483 + 1
  const ProjectionCase all_momenta{1500, 2, 0.03, Window{WindowShape::gaussian, 0.4}, long_rows,
                                   std::size_t{256} << 20};
  check_against_cpu<double>(all_momenta, 1e-10);
  check_against_cpu<float>(all_momenta, 1e-4);
  ProjectionCase cut = all_momenta;
  cut.options.p_max = 3.0;  // 257 momenta from k_first = -128
  check_against_cpu<double>(cut, 1e-10);
  PhaseSpaceOptions wide;
  wide.centre_stride = 8;
  const ProjectionCase wider_than_grid{200, 2, 0.03, Window{WindowShape::gaussian, 1.5}, wide,
                                       std::size_t{256} << 20};
  check_against_cpu<double>(wider_than_grid, 1e-10);
  check_against_cpu<float>(wider_than_grid, 1e-4);
}

// The same cases with the gather + window and the accumulation inside the transform (cuFFT LTO
// callbacks, one member per transform).
TEST(CudaProjection, FftCallbacksMatchCpu) {
  PHASESPACE_REQUIRE_DEVICE();
  const auto on = cuda::FftCallbacks::on;
  check_against_cpu<double>(gaussian_case(), 1e-10, on);
  check_against_cpu<float>(gaussian_case(), 1e-4, on);
  ProjectionCase chunked = box_case_chunked();
  chunked.device_budget = 7 * 300 * sizeof(double) * 2;
  check_against_cpu<double>(chunked, 1e-10, on);
  PhaseSpaceOptions wide;
  wide.centre_stride = 8;
  const ProjectionCase wider_than_grid{200, 2, 0.03, Window{WindowShape::gaussian, 1.5}, wide,
                                       std::size_t{256} << 20};
  check_against_cpu<double>(wider_than_grid, 1e-10, on);
  PhaseSpaceOptions long_rows;
  long_rows.centre_stride = 5;
  long_rows.fft_length = 1100;
  long_rows.p_max = 3.0;
  const ProjectionCase cut{1500, 2, 0.03, Window{WindowShape::gaussian, 0.4}, long_rows,
                           std::size_t{256} << 20};
  check_against_cpu<float>(cut, 1e-4, on);
}

// Members [first, first + count) of an ensemble with their own weights (one batch of a disorder
// ensemble), read in place, against the CPU projection of a copy of those members.
template <class Real>
void check_member_range(const ProjectionCase& c, std::size_t first, std::size_t count,
                        double tolerance, cuda::FftCallbacks callbacks) {
  const unsigned int seed = gpu_test::fresh_seed();
  const Grid grid = make_grid(-5.0, 6.0, c.points);
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, c.hbar, c.window, c.options);
  SCOPED_TRACE(std::string(gpu_test::precision_name<Real>()) +
               (callbacks == cuda::FftCallbacks::on ? ", fft callbacks" : "") + ", members " +
               std::to_string(first) + ".." + std::to_string(first + count) + " of " +
               std::to_string(c.members) + ", budget " + std::to_string(c.device_budget) +
               ", seed " + std::to_string(seed));
  const Ensemble ensemble = gpu_test::random_ensemble(grid, c.members, seed);
  Ensemble batch(grid, 0);
  std::vector<double> weights;
  for (std::size_t k = first; k < first + count; ++k) {
    weights.push_back(3.0 * ensemble.weights[k]);  // not the ensemble's own weights
    batch.add(weights.back(), ensemble.member(k));
  }
  std::vector<double> expected(phase_space.cells());
  Projector cpu(grid, c.window, phase_space);
  cpu.project(batch, expected);

  cuda::DeviceEnsemble<Real> device(ensemble);
  cuda::Projector<Real> gpu(grid, c.window, phase_space, c.device_budget, callbacks);
  cuda::DeviceDensity<Real> density(phase_space.cells());  // poisoned: unwritten cells are NaN
  gpu.project(device, first, weights, density);
  const auto result = compare(density.download(), expected);
  EXPECT_LT(result.relative_l2, tolerance) << result.detail;
  std::cout << "[ info ] projection of members " << first << ".." << first + count << " "
            << gpu_test::precision_name<Real>() << ": " << result.detail << "\n";
}

TEST(CudaProjection, MemberRangeMatchesCpuProjectionOfThoseMembers) {
  PHASESPACE_REQUIRE_DEVICE();
  ProjectionCase c = box_case_chunked();
  c.members = 7;
  c.device_budget = 7 * 300 * sizeof(double) * 2;  // chunks of 7 centres of one member
  check_member_range<double>(c, 2, 3, 1e-10, cuda::FftCallbacks::off);
  check_member_range<float>(c, 4, 3, 1e-4, cuda::FftCallbacks::off);
  c.device_budget = 2 * 192 * 300 * sizeof(double) * 2;  // all 192 centres of two members
  check_member_range<double>(c, 1, 5, 1e-10, cuda::FftCallbacks::off);
  ProjectionCase whole = gaussian_case();  // all centres of all members in one chunk
  whole.members = 6;
  check_member_range<double>(whole, 1, 4, 1e-10, cuda::FftCallbacks::off);
  check_member_range<double>(whole, 5, 1, 1e-10, cuda::FftCallbacks::off);
  check_member_range<double>(whole, 3, 2, 1e-10, cuda::FftCallbacks::on);
  check_member_range<float>(whole, 0, 2, 1e-4, cuda::FftCallbacks::on);
}

TEST(CudaProjection, MemberRangeOutsideTheEnsembleIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(-5.0, 6.0, 1000);
  const Window window{WindowShape::gaussian, 0.3};
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, 0.05, window);
  cuda::Projector<double> gpu(grid, window, phase_space);
  cuda::DeviceEnsemble<double> ensemble(gpu_test::random_ensemble(grid, 3, 1u));
  cuda::DeviceDensity<double> density(phase_space.cells());
  const std::vector<double> two{0.5, 0.5};
  EXPECT_THROW(gpu.project(ensemble, 2, two, density), InputError);
  EXPECT_THROW(gpu.project(ensemble, 0, std::vector<double>{}, density), InputError);
}

TEST(CudaProjection, EnsembleWithoutMembersProjectsToZerosAsOnTheCpu) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(-5.0, 6.0, 1000);
  const Window window{WindowShape::gaussian, 0.3};
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, 0.05, window);
  cuda::Projector<double> gpu(grid, window, phase_space);
  cuda::DeviceEnsemble<double> empty(grid, 0);
  cuda::DeviceDensity<double> density(phase_space.cells());  // poisoned (NaN) until written
  gpu.project(empty, density);
  const std::vector<double> values = density.download();
  std::vector<double> expected(phase_space.cells(), 1.0);
  Projector(grid, window, phase_space).project(Ensemble(grid, 0), expected);
  EXPECT_EQ(values, expected);
  EXPECT_EQ(values, std::vector<double>(phase_space.cells(), 0.0));
}

TEST(CudaProjection, WrongDensitySizeIsAnInputError) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(-5.0, 6.0, 1000);
  const Window window{WindowShape::gaussian, 0.3};
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, 0.05, window);
  cuda::Projector<double> gpu(grid, window, phase_space);
  cuda::DeviceEnsemble<double> ensemble(gpu_test::random_ensemble(grid, 1, 1u));
  cuda::DeviceDensity<double> density(phase_space.cells() + 1);
  EXPECT_THROW(gpu.project(ensemble, density), InputError);
}

}  // namespace
}  // namespace phasespace
