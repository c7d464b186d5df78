// Projection stage (CPU reference): a 2^20-point wavefunction projected onto 4096 centres ×
// 1024 momenta (Gaussian window, fft_length 1024, centre_stride 256), next to the bare batched
// FFTW transform of the same shape (4096 × 1024, in-place, one plan, FFTW threads = OpenMP
// threads) measured in the same run, the two alternating in pairs.
#include <fftw3.h>
#include <omp.h>

#include <algorithm>
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

// The floor: the bare batched forward transform of `rows` rows of `length`, in place.
class BareBatchedFft {
 public:
  // `planner`: FFTW_MEASURE for timings; FFTW_ESTIMATE for the smoke run, where measuring
  // threaded plans on a busy machine would take seconds.
  BareBatchedFft(std::size_t rows, std::size_t length, unsigned planner)
      : pristine_(rows * length), buffer_(rows * length) {
    auto* data = reinterpret_cast<fftw_complex*>(buffer_.data());
    // The Projector built before this has initialised FFTW's threads.
    fftw_plan_with_nthreads(omp_get_max_threads());
    const int n = static_cast<int>(length);
    plan_ = fftw_plan_many_dft(1, &n, static_cast<int>(rows), data, nullptr, 1, n, data, nullptr,
                               1, n, FFTW_FORWARD, planner);
    if (plan_ == nullptr) throw Error("FFTW could not plan the batched floor transform");
    // Unit phases scaled to 1e-120, restored (untimed) before the first run and every
    // runs_per_restore runs (planning overwrote them): an unnormalised transform multiplies
    // magnitudes by sqrt(length), 32 for 1024, so every run sees finite, normal numbers (at most
    // 1e-120 · 32^100 ≈ 1e30); between restores each run finds the data as the last one left
    // them, as the stage finds its own.
    for (std::size_t i = 0; i < pristine_.size(); ++i) {
      pristine_[i] = std::polar(1e-120, 0.7 * static_cast<double>(i % 9973));
    }
  }
  ~BareBatchedFft() { fftw_destroy_plan(plan_); }
  BareBatchedFft(const BareBatchedFft&) = delete;
  BareBatchedFft& operator=(const BareBatchedFft&) = delete;
  // Seconds of one transform, a restore left out.
  double seconds() {
    if (runs_ % runs_per_restore == 0) std::copy(pristine_.begin(), pristine_.end(), buffer_.begin());
    ++runs_;
    return wall_seconds([&] { fftw_execute(plan_); });
  }

 private:
  AlignedVector<complex> pristine_;
  AlignedVector<complex> buffer_;
  static constexpr std::size_t runs_per_restore = 100;
  std::size_t runs_ = 0;
  fftw_plan plan_ = nullptr;
};

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
  const PairedSamples samples =
      time_pairs([&] { return wall_seconds([&] { projector.project(ensemble, density); }); },
                 [&] { return bare.seconds(); }, options.repeat);

  const std::string batch = std::to_string(phase.centres) + "x" + std::to_string(phase.fft_length);
  Row row;
  row.stage = "projection";
  row.backend = "cpu";
  row.precision = "double";
  row.shape = std::to_string(points) + " pts -> " + std::to_string(phase.centres) + "x" +
              std::to_string(phase.momenta);
  row.floor = "fftw batch " + batch + (smoke ? " (estimate)" : " in-place");
  set_timings(row, samples, 1.0, 1.0);
  // At least: ψ read once, the density written once.
  row.bytes = static_cast<double>(points * sizeof(complex) + phase.cells() * sizeof(double));
  row.device = cpu_device_name() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  return {row};
}

}  // namespace phasespace::bench
