// Split-step stage (CPU reference): Strang steps on 2^20 points next to the bare FFTW
// forward+inverse pair of the same size, planned the same way, measured in the same run.
#include <fftw3.h>
#include <omp.h>

#include <cmath>
#include <string>

#include "bench.hpp"
#include "phasespace/initial_state.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace::bench {

namespace {
std::size_t log2_size(const Options& options, std::size_t fallback, std::size_t small) {
  if (options.size == "default") return fallback;
  if (options.size == "small") return small;
  return static_cast<std::size_t>(std::stoul(options.size));
}
}  // namespace

std::vector<Row> splitstep_cpu(const Options& options) {
  const std::size_t size = std::size_t{1} << log2_size(options, 20, 12);
  const std::size_t total_steps = options.size == "small" ? 20 : 1000;
  const std::size_t steps = std::max<std::size_t>(1, total_steps / options.repeat);
  const double hbar = 1e-3;
  const Grid grid = make_grid(-10.0, 10.0, size);
  Ensemble ensemble = pure_state(grid, gaussian_packet(grid, hbar, {-2.0, 1.0, 0.5}));
  SplitStepPropagator propagator(grid, Potential("x^4/4 - x^2/2"),
                                 {1.0, hbar, 1e-4, Scheme::strang, {}}, 1);
  double t = 0.0;
  const Timing step_time = time_median(
      [&] {
        propagator.advance(ensemble, t, steps);
        t += static_cast<double>(steps) * 1e-4;
      },
      options.repeat);

  // The floor: the same in-place transforms, planned with the same flags and threads.
  AlignedVector<complex> buffer(ensemble.psi.begin(), ensemble.psi.end());
  auto* data = reinterpret_cast<fftw_complex*>(buffer.data());
  fftw_plan_with_nthreads(omp_get_max_threads());
  const int n = static_cast<int>(size);
  AlignedVector<complex> scratch(size);
  auto* scratch_data = reinterpret_cast<fftw_complex*>(scratch.data());
  fftw_plan forward = fftw_plan_dft_1d(n, scratch_data, scratch_data, FFTW_FORWARD, FFTW_MEASURE);
  fftw_plan backward = fftw_plan_dft_1d(n, scratch_data, scratch_data, FFTW_BACKWARD, FFTW_MEASURE);
  const Timing pair_time = time_median(
      [&] {
        for (std::size_t s = 0; s < steps; ++s) {
          fftw_execute_dft(forward, data, data);
          fftw_execute_dft(backward, data, data);
        }
      },
      options.repeat);
  fftw_destroy_plan(forward);
  fftw_destroy_plan(backward);

  Row row;
  row.stage = "splitstep";
  row.backend = "cpu";
  row.precision = "double";
  row.shape = std::to_string(size) + " points x 1 member";
  row.seconds = step_time.median / static_cast<double>(steps);
  row.spread = step_time.spread;
  row.floor = "fftw forward+inverse pair";
  row.floor_seconds = pair_time.median / static_cast<double>(steps);
  row.bytes = 2.0 * 16.0 * static_cast<double>(size);  // ψ read and written once per step
  row.device = cpu_device_name() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  return {row};
}

}  // namespace phasespace::bench
