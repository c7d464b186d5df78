// Projection stage (CPU reference): a 2^20-point wavefunction projected onto 4096 centres ×
// 1024 momenta (Gaussian window, fft_length 1024, centre_stride 256), next to the bare batched
// FFTW transform of the same shape (4096 × 1024, in-place, one plan, FFTW threads = OpenMP
// threads) measured in the same run.
#include <fftw3.h>
#include <omp.h>

#include <cmath>
#include <complex>
#include <string>

#include "bench.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/initial_state.hpp"
#include "phasespace/projection.hpp"

namespace phasespace::bench {

namespace {

struct Shape {
  std::size_t log2_points;
  std::size_t fft_length;
  std::size_t centre_stride;
};

Shape projection_shape(const Options& options) {
  if (options.size == "default") return {20, 1024, 256};
  if (options.size == "small") return {14, 256, 64};
  const auto log2_points = static_cast<std::size_t>(std::stoul(options.size));
  require(log2_points >= 10 && log2_points <= 26, "--size", options.size,
          "default, small or a log2 grid size in 10..26");
  return {log2_points, 1024, 256};
}

// Seconds of the bare batched forward transform of `rows` rows of `length`, in place.
Timing bare_batched_fft(std::size_t rows, std::size_t length, int repeat) {
  AlignedVector<complex> buffer(rows * length);
  auto* data = reinterpret_cast<fftw_complex*>(buffer.data());
  // The Projector built before this call has initialised FFTW's threads.
  fftw_plan_with_nthreads(omp_get_max_threads());
  const int n = static_cast<int>(length);
  fftw_plan plan = fftw_plan_many_dft(1, &n, static_cast<int>(rows), data, nullptr, 1, n, data,
                                      nullptr, 1, n, FFTW_FORWARD, FFTW_MEASURE);
  if (plan == nullptr) throw Error("FFTW could not plan the batched floor transform");
  // Unit phases scaled to 1e-120: each unnormalised transform multiplies magnitudes by
  // sqrt(length), so the values stay finite and normal for a few hundred repeats.
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    buffer[i] = std::polar(1e-120, 0.7 * static_cast<double>(i % 9973));
  }
  const Timing timing = time_median([&] { fftw_execute(plan); }, repeat);
  fftw_destroy_plan(plan);
  return timing;
}

}  // namespace

std::vector<Row> projection_cpu(const Options& options) {
  const Shape shape = projection_shape(options);
  const std::size_t points = std::size_t{1} << shape.log2_points;
  const double hbar = 1e-3;
  const Grid grid = make_grid(-16.0, 16.0, points);
  // σ = 48 dx (support 2·425 + 1 points) for fft_length 1024; scaled with the small shape.
  const Window window{WindowShape::gaussian,
                      48.0 * grid.dx() * static_cast<double>(shape.fft_length) / 1024.0};
  PhaseSpaceOptions phase_options;
  phase_options.fft_length = shape.fft_length;
  phase_options.centre_stride = shape.centre_stride;
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window, phase_options);
  const Ensemble ensemble = pure_state(grid, gaussian_packet(grid, hbar, {-2.0, 1.0, 3.0}));

  Projector projector(grid, window, phase);
  std::vector<double> density(phase.cells());
  const Timing projection_time =
      time_median([&] { projector.project(ensemble, density); }, options.repeat);
  const Timing floor_time = bare_batched_fft(phase.centres, phase.fft_length, options.repeat);

  const std::string batch = std::to_string(phase.centres) + "x" + std::to_string(phase.fft_length);
  Row row;
  row.stage = "projection";
  row.backend = "cpu";
  row.precision = "double";
  row.shape = std::to_string(points) + " pts -> " + std::to_string(phase.centres) + "x" +
              std::to_string(phase.momenta);
  row.seconds = projection_time.median;
  row.spread = projection_time.spread;
  row.floor = "fftw batched " + batch + " in-place";
  row.floor_seconds = floor_time.median;
  // At least: ψ read once, the density written once.
  row.bytes = static_cast<double>(points * sizeof(complex) + phase.cells() * sizeof(double));
  row.device = cpu_device_name() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  return {row};
}

}  // namespace phasespace::bench
