// CUDA stages of phasespace-bench: each stage timed with CUDA events next to its floor measured
// in the same run, the two alternating in pairs (stage, floor, ... one pair per repeat, after a
// warm-up of each): the bare batched cuFFT of the same shape for FFT stages, a device-to-device
// copy of the field for the Liouville sweeps. The floors are written here with plain cuFFT and
// CUDA runtime calls, so that they owe nothing to the library they measure.
// Bytes follow the CPU rows (a read + write of the field per pass of a sweep for Liouville, per
// step for the split-step; ψ read and the density written for the projection), so GB/s of the
// two backends compare directly.
// Without the CUDA backend every stage reports that it is not compiled in.
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench.hpp"
#include "phasespace/errors.hpp"

#if defined(PHASESPACE_HAS_CUDA)
#include <cuda_runtime.h>
#include <cufft.h>

#include <complex>
#include <functional>

#include "phasespace/cuda/backend.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/cuda/projection.hpp"
#include "phasespace/cuda/propagator.hpp"
#include "phasespace/ensemble.hpp"
#include "phasespace/potential.hpp"
#endif

namespace phasespace::bench {

#if !defined(PHASESPACE_HAS_CUDA)
std::vector<Row> splitstep_cuda(const Options&) { throw NotCompiled("backend cuda not compiled in"); }
std::vector<Row> projection_cuda(const Options&) { throw NotCompiled("backend cuda not compiled in"); }
std::vector<Row> liouville_cuda(const Options&) { throw NotCompiled("backend cuda not compiled in"); }
#else

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Error(std::string("benchmark: ") + what + ": " + cudaGetErrorName(status) + ": " +
                cudaGetErrorString(status));
  }
}

void check(cufftResult status, const char* what) {
  if (status != CUFFT_SUCCESS) {
    throw Error(std::string("benchmark: ") + what + ": cufftResult " + std::to_string(status));
  }
}

// Seconds of the device work that `work` queues on the legacy default stream (where the
// backend and cuFFT queue theirs), between two CUDA events.
class DeviceStopwatch {
 public:
  DeviceStopwatch() {
    check(cudaEventCreate(&start_), "cudaEventCreate");
    check(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~DeviceStopwatch() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  DeviceStopwatch(const DeviceStopwatch&) = delete;
  DeviceStopwatch& operator=(const DeviceStopwatch&) = delete;

  double seconds(const std::function<void()>& work) {
    check(cudaEventRecord(start_, nullptr), "cudaEventRecord");
    work();
    check(cudaEventRecord(stop_, nullptr), "cudaEventRecord");
    check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
    float milliseconds = 0.0f;
    check(cudaEventElapsedTime(&milliseconds, start_, stop_), "cudaEventElapsedTime");
    return 1e-3 * static_cast<double>(milliseconds);
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

// A device array of `count` elements of T.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t count) : count_(count) {
    check(cudaMalloc(reinterpret_cast<void**>(&data_), bytes()), "cudaMalloc");
  }
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* data() { return data_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

 private:
  T* data_ = nullptr;
  std::size_t count_;
};

template <class Real>
struct CufftTypes;
template <>
struct CufftTypes<double> {
  using Complex = cufftDoubleComplex;
  static constexpr cufftType type = CUFFT_Z2Z;
  static cufftResult execute(cufftHandle plan, Complex* data, int direction) {
    return cufftExecZ2Z(plan, data, data, direction);
  }
};
template <>
struct CufftTypes<float> {
  using Complex = cufftComplex;
  static constexpr cufftType type = CUFFT_C2C;
  static cufftResult execute(cufftHandle plan, Complex* data, int direction) {
    return cufftExecC2C(plan, data, data, direction);
  }
};

// The floor of FFT stages: a bare batched in-place cuFFT (Z2Z for double, C2C for float) of
// `batch` rows of `length` points, forward, or forward + inverse, on random values in [-1, 1)
// (zeros could hide work). Each transform starts from those values, restored untimed before it:
// an unnormalised pair multiplies them by `length`.
template <class Real>
class CufftFloor {
  using Types = CufftTypes<Real>;

 public:
  CufftFloor(std::size_t length, std::size_t batch, bool with_inverse)
      : pristine_(length * batch), data_(length * batch), with_inverse_(with_inverse) {
    long long n = static_cast<long long>(length);
    std::size_t work_bytes = 0;
    check(cufftCreate(&plan_), "cufftCreate");
    check(cufftMakePlanMany64(plan_, 1, &n, nullptr, 1, n, nullptr, 1, n, Types::type,
                              static_cast<long long>(batch), &work_bytes),
          "cufftMakePlanMany64 (floor)");
    std::vector<std::complex<Real>> values(length * batch);
    std::mt19937_64 engine(2024);
    std::uniform_real_distribution<Real> uniform(Real(-1), Real(1));
    for (auto& value : values) value = {uniform(engine), uniform(engine)};
    check(cudaMemcpy(pristine_.data(), values.data(), pristine_.bytes(), cudaMemcpyHostToDevice),
          "cudaMemcpy (floor values)");
  }
  ~CufftFloor() { cufftDestroy(plan_); }
  CufftFloor(const CufftFloor&) = delete;
  CufftFloor& operator=(const CufftFloor&) = delete;

  // Seconds of `count` transforms (or pairs), each timed from its restored values.
  double seconds(DeviceStopwatch& stopwatch, std::size_t count) {
    double total = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
      check(cudaMemcpy(data_.data(), pristine_.data(), data_.bytes(), cudaMemcpyDeviceToDevice),
            "cudaMemcpy (floor restore)");
      total += stopwatch.seconds([&] {
        check(Types::execute(plan_, data_.data(), CUFFT_FORWARD), "cufftExec (floor)");
        if (with_inverse_) check(Types::execute(plan_, data_.data(), CUFFT_INVERSE), "cufftExec (floor)");
      });
    }
    return total;
  }

 private:
  DeviceArray<typename Types::Complex> pristine_;
  DeviceArray<typename Types::Complex> data_;
  bool with_inverse_;
  cufftHandle plan_ = 0;
};

// The floor of sweeps: `count` device-to-device copies of `bytes` (each reads and writes them).
class CopyFloor {
 public:
  explicit CopyFloor(std::size_t bytes) : source_(bytes), target_(bytes) {
    check(cudaMemset(source_.data(), 1, bytes), "cudaMemset (floor)");
  }
  double seconds(DeviceStopwatch& stopwatch, std::size_t count) {
    return stopwatch.seconds([&] {
      for (std::size_t i = 0; i < count; ++i) {
        check(cudaMemcpy(target_.data(), source_.data(), source_.bytes(), cudaMemcpyDeviceToDevice),
              "cudaMemcpy (floor)");
      }
    });
  }

 private:
  DeviceArray<unsigned char> source_;
  DeviceArray<unsigned char> target_;
};

void require_device() {
  std::string reason;
  if (!cuda::device_available(&reason)) throw Error("backend cuda: no usable device: " + reason);
}

std::size_t log2_option(const Options& options, std::size_t fallback, std::size_t small) {
  if (options.size == "default") return fallback;
  if (options.size == "small") return small;
  return static_cast<std::size_t>(std::stoul(options.size));
}

// Random members (never zeros: they can hide work) with equal weights.
Ensemble random_ensemble(const Grid& grid, std::size_t members) {
  std::mt19937_64 engine(12345);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Ensemble ensemble(grid, members);
  for (auto& value : ensemble.psi) value = complex(uniform(engine), uniform(engine));
  return ensemble;
}

template <class Real>
Row splitstep_rows(const Options& options, cuda::FftCallbacks callbacks) {
  const bool small = options.size == "small";
  const std::size_t size = std::size_t{1} << log2_option(options, 20, 12);
  const std::size_t members = small ? 2 : 16;
  const std::size_t steps = small ? 5 : 100;
  const double hbar = 1e-3;
  const double dt = 1e-4;
  const Grid grid = make_grid(-10.0, 10.0, size);
  cuda::DeviceEnsemble<Real> ensemble(random_ensemble(grid, members));
  cuda::SplitStepPropagator<Real> propagator(grid, Potential("x^4/4 - x^2/2"),
                                             {1.0, hbar, dt, Scheme::strang, {}}, members, callbacks);
  CufftFloor<Real> floor(size, members, true);
  DeviceStopwatch stopwatch;
  double t = 0.0;
  // A sample: `steps` steps, then as many FFT pairs.
  const PairedSamples samples = time_pairs(
      [&] {
        return stopwatch.seconds([&] {
          propagator.advance(ensemble, t, steps);
          t += static_cast<double>(steps) * dt;
        });
      },
      [&] { return floor.seconds(stopwatch, steps); }, options.repeat);
  cuda::synchronize();

  Row row;
  row.stage = "splitstep";
  row.backend = "cuda";
  row.precision = options.precision;
  row.shape = std::to_string(size) + " points x " + std::to_string(members) + " members" +
              (callbacks == cuda::FftCallbacks::on ? " fft-callbacks" : "");
  row.floor = "cufft forward+inverse pair";
  set_timings(row, samples, static_cast<double>(steps), static_cast<double>(steps));
  // ψ read and written once per step, as the CPU row counts it.
  row.bytes = 2.0 * 2.0 * sizeof(Real) * static_cast<double>(size * members);
  row.device = cuda::device_name();
  return row;
}

// The CPU row's shape (benchmarks/cpu_projection.cpp): 2^20 points of one member onto 4096
// centres × 1024 momenta, σ = 48 dx for fft_length 1024; small: 2^14 points, 256 × 256.
template <class Real>
Row projection_rows(const Options& options, cuda::FftCallbacks callbacks) {
  const bool small = options.size == "small";
  const std::size_t size = std::size_t{1} << log2_option(options, 20, 14);
  const std::size_t fft_length = small ? 256 : 1024;
  const std::size_t centre_stride = small ? 64 : 256;
  const std::size_t members = 1;
  const double hbar = 1e-3;
  const Grid grid = make_grid(-10.0, 10.0, size);
  // Gaussian window whose support (2·ceil(8.85σ/dx) + 1 points) fits the FFT length.
  const Window window{WindowShape::gaussian,
                      48.0 * grid.dx() * static_cast<double>(fft_length) / 1024.0};
  PhaseSpaceOptions ps_options;
  ps_options.centre_stride = centre_stride;
  ps_options.fft_length = fft_length;
  const PhaseSpaceGrid phase_space = make_phase_space_grid(grid, hbar, window, ps_options);
  cuda::DeviceEnsemble<Real> ensemble(random_ensemble(grid, members));
  cuda::Projector<Real> projector(grid, window, phase_space, std::size_t{256} << 20, callbacks);
  cuda::DeviceDensity<Real> density(phase_space.cells());
  CufftFloor<Real> floor(fft_length, phase_space.centres * members, false);
  DeviceStopwatch stopwatch;
  const PairedSamples samples = time_pairs(
      [&] { return stopwatch.seconds([&] { projector.project(ensemble, density); }); },
      [&] { return floor.seconds(stopwatch, 1); }, options.repeat);
  cuda::synchronize();

  Row row;
  row.stage = "projection";
  row.backend = "cuda";
  row.precision = options.precision;
  row.shape = std::to_string(size) + " pts -> " + std::to_string(phase_space.centres) + "x" +
              std::to_string(phase_space.momenta) +
              (callbacks == cuda::FftCallbacks::on ? " fft-callbacks" : "");
  row.floor = "cufft batched forward " + std::to_string(phase_space.centres * members) + "x" +
              std::to_string(fft_length);
  set_timings(row, samples, 1.0, 1.0);
  // As the CPU row counts it: ψ read once, the density written once.
  row.bytes = static_cast<double>(size * members * 2 * sizeof(Real) +
                                  phase_space.cells() * sizeof(Real));
  row.device = cuda::device_name();
  return row;
}

// Passes over a field's worth of memory that one sweep makes: Lagrange reads f and writes the
// other buffer; a spline or spectral sweep is a R2C (f to the spectrum), the factors (the
// spectrum read and written) and a C2R (back to f), three (cuFFT's own passes not counted).
double passes_per_sweep(const Interpolation& interpolation) {
  return interpolation.kind == InterpolationKind::lagrange ? 1.0 : 3.0;
}

template <class Real>
Row liouville_row(const Options& options, std::size_t side, const Interpolation& interpolation) {
  const bool small = options.size == "small";
  const std::size_t steps = small ? 2 : 10;
  PhaseSpaceGrid grid;
  grid.hbar = 1e-3;
  grid.centres = side;
  grid.x0_first = -4.0;
  grid.dx0 = 8.0 / static_cast<double>(side);
  grid.fft_length = side;
  grid.k_first = -static_cast<long>(side / 2);
  grid.momenta = side;
  grid.dp = 6.0 / static_cast<double>(side);
  LiouvilleOptions liouville_options;
  liouville_options.dt = 1e-3;
  liouville_options.interpolation = interpolation;
  std::vector<double> values(grid.cells());
  std::mt19937_64 engine(777);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto& value : values) value = uniform(engine);
  cuda::DeviceDensity<Real> f(values);
  cuda::LiouvilleSolver<Real> solver(grid, Potential("x^4/4 - x^2/2"), liouville_options);
  CopyFloor floor(f.bytes());
  DeviceStopwatch stopwatch;
  double t = 0.0;
  std::size_t timed_steps = 0;
  std::size_t timed_sweeps = 0;  // counted, not assumed: 2 + 1/steps for fused Strang
  // A sample: `steps` steps, then as many copies.
  const PairedSamples samples = time_pairs(
      [&] {
        const std::size_t sweeps_before = solver.sweeps();
        const double seconds = stopwatch.seconds([&] { solver.advance(f, t, steps); });
        timed_sweeps += solver.sweeps() - sweeps_before;
        timed_steps += steps;
        t += static_cast<double>(steps) * liouville_options.dt;
        return seconds;
      },
      [&] { return floor.seconds(stopwatch, steps); }, options.repeat);
  cuda::synchronize();
  const double sweeps_per_step =
      static_cast<double>(timed_sweeps) / static_cast<double>(timed_steps);
  char sweeps_text[32];
  std::snprintf(sweeps_text, sizeof sweeps_text, "%.2f", sweeps_per_step);

  Row row;
  row.stage = "liouville";
  row.backend = "cuda";
  row.precision = options.precision;
  row.shape = std::to_string(side) + " x " + std::to_string(side) + " cells, " +
              to_string(liouville_options.interpolation) + " strang fused/" +
              std::to_string(steps) + ", " + sweeps_text + " sweeps/step";
  set_timings(row, samples, static_cast<double>(steps), static_cast<double>(steps));
  // ratio = step seconds / one copy: >= sweeps/step even at copy bandwidth. bytes = every
  // sweep's passes, each a read + write of f (as the CPU rows count them), so GB/s is the
  // achieved bandwidth, comparable with the copy's 2·|f| / floor seconds.
  const double passes = passes_per_sweep(interpolation);
  row.floor = "device-to-device copy of f (" +
              std::to_string(static_cast<long>(f.bytes() >> 20)) + " MiB, r+w); bytes = " +
              sweeps_text + " sweeps x " + std::to_string(static_cast<int>(passes)) +
              " r+w of f";
  row.bytes = sweeps_per_step * passes * 2.0 * static_cast<double>(f.bytes());
  row.device = cuda::device_name();
  return row;
}

// The stage's row with the kernels, then with cuFFT callbacks (not yet run on a GPU: a failure
// there is reported and the kernels row still counts).
template <class Real>
std::vector<Row> with_and_without_callbacks(const Options& options,
                                            Row (*rows_of)(const Options&, cuda::FftCallbacks)) {
  std::vector<Row> rows = {rows_of(options, cuda::FftCallbacks::off)};
  try {
    rows.push_back(rows_of(options, cuda::FftCallbacks::on));
  } catch (const std::exception& error) {
    std::cerr << "phasespace-bench: the same with fft callbacks failed: " << error.what() << "\n";
  }
  return rows;
}

}  // namespace

std::vector<Row> splitstep_cuda(const Options& options) {
  require_device();
  if (options.precision == "float") return with_and_without_callbacks<float>(options, splitstep_rows<float>);
  return with_and_without_callbacks<double>(options, splitstep_rows<double>);
}

std::vector<Row> projection_cuda(const Options& options) {
  require_device();
  if (options.precision == "float") return with_and_without_callbacks<float>(options, projection_rows<float>);
  return with_and_without_callbacks<double>(options, projection_rows<double>);
}

std::vector<Row> liouville_cuda(const Options& options) {
  require_device();
  std::vector<std::size_t> sides = {4096, 8192};
  if (options.size == "small") sides = {256};
  else if (options.size != "default") sides = {std::size_t{1} << std::stoul(options.size)};
  std::vector<Row> rows;
  for (const char* name : {"lagrange5", "spline", "spectral"}) {
    const Interpolation interpolation = parse_interpolation(name);
    for (std::size_t side : sides) {
      rows.push_back(options.precision == "float" ? liouville_row<float>(options, side, interpolation)
                                                  : liouville_row<double>(options, side, interpolation));
    }
  }
  return rows;
}

#endif

}  // namespace phasespace::bench
