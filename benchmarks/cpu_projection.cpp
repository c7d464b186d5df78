// Projection stage (CPU reference): a 2^20-point wavefunction projected onto 4096 centres ×
// 1024 momenta (Gaussian window, fft_length 1024, centre_stride 256), next to the bare batched
// FFTW transform of the same shape (4096 × 1024, in-place, one plan, FFTW threads = OpenMP
// threads) measured in the same run, the two alternating.
#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

// The floor: the bare batched forward transform of `rows` rows of `length`, in place.
class BareBatchedFft {
 public:
  // `planner`: FFTW_MEASURE for timings; FFTW_ESTIMATE for the smoke run, where measuring
  // threaded plans on a busy machine would take seconds.
  BareBatchedFft(std::size_t rows, std::size_t length, unsigned planner) : buffer_(rows * length) {
    auto* data = reinterpret_cast<fftw_complex*>(buffer_.data());
    // The Projector built before this has initialised FFTW's threads.
    fftw_plan_with_nthreads(omp_get_max_threads());
    const int n = static_cast<int>(length);
    plan_ = fftw_plan_many_dft(1, &n, static_cast<int>(rows), data, nullptr, 1, n, data, nullptr,
                               1, n, FFTW_FORWARD, planner);
    if (plan_ == nullptr) throw Error("FFTW could not plan the batched floor transform");
    // Unit phases scaled to 1e-120: each unnormalised transform multiplies magnitudes by
    // sqrt(length), so the values stay finite and normal for a few hundred repeats.
    for (std::size_t i = 0; i < buffer_.size(); ++i) {
      buffer_[i] = std::polar(1e-120, 0.7 * static_cast<double>(i % 9973));
    }
  }
  ~BareBatchedFft() { fftw_destroy_plan(plan_); }
  BareBatchedFft(const BareBatchedFft&) = delete;
  BareBatchedFft& operator=(const BareBatchedFft&) = delete;
  void run() { fftw_execute(plan_); }

 private:
  AlignedVector<complex> buffer_;
  fftw_plan plan_ = nullptr;
};

Timing summarise(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  return {median, (seconds.back() - seconds.front()) / median};
}

// Median times of `stage` and `floor`, run alternately after one warm-up each, so that load
// from other processes on a shared machine falls on both alike.
std::pair<Timing, Timing> alternate_medians(const std::function<void()>& stage,
                                            const std::function<void()>& floor, int repeat) {
  auto seconds_of = [](const std::function<void()>& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  stage();
  floor();
  std::vector<double> stage_seconds;
  std::vector<double> floor_seconds;
  for (int i = 0; i < repeat; ++i) {
    stage_seconds.push_back(seconds_of(stage));
    floor_seconds.push_back(seconds_of(floor));
  }
  return {summarise(stage_seconds), summarise(floor_seconds)};
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
  const bool smoke = options.size == "small";
  BareBatchedFft bare(phase.centres, phase.fft_length, smoke ? FFTW_ESTIMATE : FFTW_MEASURE);
  const auto [projection_time, floor_time] = alternate_medians(
      [&] { projector.project(ensemble, density); }, [&] { bare.run(); }, options.repeat);

  const std::string batch = std::to_string(phase.centres) + "x" + std::to_string(phase.fft_length);
  Row row;
  row.stage = "projection";
  row.backend = "cpu";
  row.precision = "double";
  row.shape = std::to_string(points) + " pts -> " + std::to_string(phase.centres) + "x" +
              std::to_string(phase.momenta);
  row.seconds = projection_time.median;
  row.spread = projection_time.spread;
  row.floor = "fftw batch " + batch + (smoke ? " (estimate)" : " in-place");
  row.floor_seconds = floor_time.median;
  // At least: ψ read once, the density written once.
  row.bytes = static_cast<double>(points * sizeof(complex) + phase.cells() * sizeof(double));
  row.device = cpu_device_name() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  return {row};
}

}  // namespace phasespace::bench
