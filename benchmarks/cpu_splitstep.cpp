// Split-step stage (CPU reference): Strang steps on 2^20 points next to the bare FFTW
// forward+inverse pair of the same size, planned the same way, the two alternating in pairs
// (a sample of steps, then as many FFT pairs) in the same run.
#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <string>

#include "bench.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/initial_state.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace::bench {

namespace {

std::size_t log2_size(const Options& options, std::size_t fallback, std::size_t small) {
  if (options.size == "default") return fallback;
  if (options.size == "small") return small;
  const int value = std::atoi(options.size.c_str());
  require(value >= 4 && value <= 28, "--size", options.size, "default, small or an integer 4..28");
  return static_cast<std::size_t>(value);
}

// The floor: the same in-place transforms, planned with the same flags and threads. An
// unnormalised forward+inverse pair multiplies the values by the size, so the data start at
// 1e-200 (random phases: no zeros, no subnormals) and are restored, untimed, before they could
// leave the normal range: every timed transform works on ordinary finite numbers.
class FftPairFloor {
 public:
  explicit FftPairFloor(std::size_t size)
      : pristine_(size),
        buffer_(size),
        pairs_per_restore_(static_cast<std::size_t>(
            std::max(1.0, std::floor(400.0 / std::log10(static_cast<double>(size)))))) {
    for (std::size_t i = 0; i < size; ++i) {
      pristine_[i] = std::polar(1e-200, 0.7 * static_cast<double>(i % 9973));
    }
    auto* data = reinterpret_cast<fftw_complex*>(buffer_.data());
    fftw_plan_with_nthreads(omp_get_max_threads());
    const int n = static_cast<int>(size);
    forward_ = fftw_plan_dft_1d(n, data, data, FFTW_FORWARD, FFTW_MEASURE);
    backward_ = fftw_plan_dft_1d(n, data, data, FFTW_BACKWARD, FFTW_MEASURE);
    if (forward_ == nullptr || backward_ == nullptr) throw Error("FFTW could not plan the floor pair");
  }
  ~FftPairFloor() {
    fftw_destroy_plan(forward_);
    fftw_destroy_plan(backward_);
  }
  FftPairFloor(const FftPairFloor&) = delete;
  FftPairFloor& operator=(const FftPairFloor&) = delete;

  // Seconds of `pairs` forward+inverse pairs, the restores left out.
  double seconds(std::size_t pairs) {
    auto* data = reinterpret_cast<fftw_complex*>(buffer_.data());
    double total = 0.0;
    for (std::size_t done = 0; done < pairs;) {
      std::copy(pristine_.begin(), pristine_.end(), buffer_.begin());
      const std::size_t count = std::min(pairs - done, pairs_per_restore_);
      total += wall_seconds([&] {
        for (std::size_t p = 0; p < count; ++p) {
          fftw_execute_dft(forward_, data, data);
          fftw_execute_dft(backward_, data, data);
        }
      });
      done += count;
    }
    return total;
  }

 private:
  AlignedVector<complex> pristine_;
  AlignedVector<complex> buffer_;
  std::size_t pairs_per_restore_;  // from 1e-200 up to at most 1e200
  fftw_plan forward_ = nullptr;
  fftw_plan backward_ = nullptr;
};

}  // namespace

std::vector<Row> splitstep_cpu(const Options& options) {
  const std::size_t size = std::size_t{1} << log2_size(options, 20, 12);
  const std::size_t total_steps = options.size == "small" ? 20 : 1000;
  const std::size_t steps = std::max<std::size_t>(1, total_steps / options.repeat);
  const double hbar = 1e-3;
  const double dt = 1e-4;
  const Grid grid = make_grid(-10.0, 10.0, size);
  Ensemble ensemble = pure_state(grid, gaussian_packet(grid, hbar, {-2.0, 1.0, 0.5}));
  SplitStepPropagator propagator(grid, Potential("x^4/4 - x^2/2"),
                                 {1.0, hbar, dt, Scheme::strang, {}}, 1);
  FftPairFloor floor(size);
  double t = 0.0;
  const PairedSamples samples = time_pairs(
      [&] {
        return wall_seconds([&] {
          propagator.advance(ensemble, t, steps);
          t += static_cast<double>(steps) * dt;
        });
      },
      [&] { return floor.seconds(steps); }, options.repeat);

  Row row;
  row.stage = "splitstep";
  row.backend = "cpu";
  row.precision = "double";
  row.shape = std::to_string(size) + " points x 1 member";
  row.floor = "fftw forward+inverse pair";
  set_timings(row, samples, static_cast<double>(steps), static_cast<double>(steps));
  row.bytes = 2.0 * 16.0 * static_cast<double>(size);  // ψ read and written once per step
  row.device = cpu_device_name() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  return {row};
}

}  // namespace phasespace::bench
