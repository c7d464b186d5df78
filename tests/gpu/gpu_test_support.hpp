#pragma once
// Shared by the GPU tests: the device check, random inputs and error measures that say where
// and how a comparison failed.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "phasespace/cuda/backend.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/ensemble.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/projection.hpp"

// Every GPU test starts with this: without a usable device it skips and says why.
#define PHASESPACE_REQUIRE_DEVICE()                                          \
  do {                                                                       \
    std::string phasespace_reason;                                           \
    if (!phasespace::cuda::device_available(&phasespace_reason)) {           \
      GTEST_SKIP() << "no CUDA device: " << phasespace_reason;               \
    }                                                                        \
  } while (false)

namespace phasespace::gpu_test {

// Tolerance on relative L2 errors, tied to the precision.
template <class Real>
constexpr double tolerance() {
  return sizeof(Real) == sizeof(double) ? 1e-10 : 1e-4;
}
template <class Real>
const char* precision_name() {
  return sizeof(Real) == sizeof(double) ? "double" : "float";
}

// A fresh seed per call, so every run draws new data; printed on failure by the comparisons.
inline unsigned int fresh_seed() {
  static std::random_device device;
  return device();
}

// Members with independent standard normal real and imaginary parts (a field with every
// momentum present) and random positive weights summing to one.
inline Ensemble random_ensemble(const Grid& grid, std::size_t members, unsigned int seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.2, 1.0);
  Ensemble ensemble(grid, members);
  for (auto& value : ensemble.psi) value = complex(normal(engine), normal(engine));
  double total = 0.0;
  for (auto& weight : ensemble.weights) total += (weight = uniform(engine));
  for (auto& weight : ensemble.weights) weight /= total;
  return ensemble;
}

inline std::vector<double> random_density(std::size_t cells, unsigned int seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> values(cells);
  for (auto& value : values) value = uniform(engine);
  return values;
}

// ‖a − b‖₂/‖b‖₂ with a description of the worst element and of non-finite values in `a`.
struct Comparison {
  double relative_l2 = 0.0;
  std::size_t non_finite = 0;
  std::string detail;
};

template <class T>
double magnitude(const T& value) {
  return std::abs(value);
}

template <class Vector>
Comparison compare(const Vector& actual, const Vector& expected) {
  Comparison result;
  if (actual.size() != expected.size()) {
    result.relative_l2 = INFINITY;
    result.detail = "size " + std::to_string(actual.size()) + " vs " + std::to_string(expected.size());
    return result;
  }
  double difference = 0.0, reference = 0.0, worst = -1.0;
  std::size_t worst_index = 0, first_non_finite = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = magnitude(actual[i] - expected[i]);
    if (!std::isfinite(error)) {
      if (result.non_finite++ == 0) first_non_finite = i;
      continue;
    }
    difference += error * error;
    reference += magnitude(expected[i]) * magnitude(expected[i]);
    if (error > worst) {
      worst = error;
      worst_index = i;
    }
  }
  result.relative_l2 = result.non_finite > 0 ? INFINITY : std::sqrt(difference / reference);
  std::ostringstream text;
  text << "relative L2 " << result.relative_l2 << "; worst |error| " << worst << " at index "
       << worst_index << " (expected " << expected[worst_index] << ", got " << actual[worst_index]
       << "); " << result.non_finite << " non-finite (unwritten?) elements";
  if (result.non_finite > 0) text << ", the first at index " << first_non_finite;
  text << "; " << actual.size() << " elements";
  result.detail = text.str();
  return result;
}

// centres × momenta phase-space cells over x0 in [-4, 4), p in [-3, 3] (ħ = 0.05): sizes that
// are not multiples of the warp or block come from the callers. An odd number of momenta makes
// the grid momentum-symmetric (p_j = -p_{P-1-j}, needed by back-scattering).
inline PhaseSpaceGrid phase_space_box(std::size_t centres, std::size_t momenta) {
  PhaseSpaceGrid grid;
  grid.hbar = 0.05;
  grid.centre_stride = 1;
  grid.centres = centres;
  grid.x0_first = -4.0;
  grid.dx0 = 8.0 / static_cast<double>(centres);
  grid.fft_length = momenta;
  grid.k_first = -static_cast<long>(momenta / 2);
  grid.momenta = momenta;
  grid.dp = 6.0 / static_cast<double>(momenta);
  return grid;
}

}  // namespace phasespace::gpu_test
