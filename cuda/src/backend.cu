// Device queries, typed error reporting, cuFFT plans, reductions and the benchmark floors.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "device_support.cuh"
#include "phasespace/cuda/backend.hpp"

namespace phasespace::cuda {
namespace detail {

namespace {

std::string location(const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line);
}

const char* cufft_result_name(cufftResult status) {
  // By value: CUDA 13 dropped some enumerators, so no switch over the enum itself.
  switch (static_cast<int>(status)) {
    case 0x1: return "CUFFT_INVALID_PLAN";
    case 0x2: return "CUFFT_ALLOC_FAILED";
    case 0x3: return "CUFFT_INVALID_TYPE";
    case 0x4: return "CUFFT_INVALID_VALUE";
    case 0x5: return "CUFFT_INTERNAL_ERROR";
    case 0x6: return "CUFFT_EXEC_FAILED";
    case 0x7: return "CUFFT_SETUP_FAILED";
    case 0x8: return "CUFFT_INVALID_SIZE";
    case 0x9: return "CUFFT_UNALIGNED_DATA";
    case 0xB: return "CUFFT_INVALID_DEVICE";
    case 0xD: return "CUFFT_NO_WORKSPACE";
    case 0xE: return "CUFFT_NOT_IMPLEMENTED";
    case 0x10: return "CUFFT_NOT_SUPPORTED";
    case 0x11: return "CUFFT_MISSING_DEPENDENCY";
    default: return "cufftResult";
  }
}

}  // namespace

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // Clear a non-sticky error (e.g. a failed cudaMalloc) from the runtime's last-error slot, or
  // the next launch check would report it again.
  cudaGetLastError();
  throw CudaError(std::string(call) + " failed: " + cudaGetErrorName(status) + " (" +
                  cudaGetErrorString(status) + ") at " + location(file, line));
}

void throw_cufft_error(cufftResult status, const char* call, const char* file, int line) {
  cudaGetLastError();  // as above, for CUDA errors cuFFT met internally
  throw CufftError(std::string(call) + " failed: " + cufft_result_name(status) + " (" +
                   std::to_string(static_cast<int>(status)) + ") at " + location(file, line));
}

template <class Real>
FftPlan<Real>::FftPlan(std::size_t length, std::size_t batch) : length_(length), batch_(batch) {
  long long n = static_cast<long long>(length);
  const cufftType type = sizeof(Real) == sizeof(double) ? CUFFT_Z2Z : CUFFT_C2C;
  PHASESPACE_CUFFT_CHECK(cufftMakePlanMany64(handle_.value, 1, &n, nullptr, 1, n, nullptr, 1, n,
                                             type, static_cast<long long>(batch), &work_bytes_));
}

template <>
void FftPlan<double>::forward(Complex<double>* data) {
  PHASESPACE_CUFFT_CHECK(cufftExecZ2Z(handle_.value, data, data, CUFFT_FORWARD));
}
template <>
void FftPlan<double>::inverse(Complex<double>* data) {
  PHASESPACE_CUFFT_CHECK(cufftExecZ2Z(handle_.value, data, data, CUFFT_INVERSE));
}
template <>
void FftPlan<float>::forward(Complex<float>* data) {
  PHASESPACE_CUFFT_CHECK(cufftExecC2C(handle_.value, data, data, CUFFT_FORWARD));
}
template <>
void FftPlan<float>::inverse(Complex<float>* data) {
  PHASESPACE_CUFFT_CHECK(cufftExecC2C(handle_.value, data, data, CUFFT_INVERSE));
}

template class FftPlan<double>;
template class FftPlan<float>;

namespace {

// Block sums of value(i) in double, added into *result (one atomic per block).
template <class Load>
__global__ void sum_reduce_kernel(Load load, std::size_t count, double* result) {
  __shared__ double partial[threads_per_block];
  double sum = 0.0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    sum += load(i);
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(result, partial[0]);
}

template <class Real>
struct LoadValue {
  const Real* values;
  __device__ double operator()(std::size_t i) const { return static_cast<double>(values[i]); }
};
template <class Real>
struct LoadSquaredModulus {
  const Complex<Real>* values;
  __device__ double operator()(std::size_t i) const {
    const double re = values[i].x;
    const double im = values[i].y;
    return re * re + im * im;
  }
};

template <class Load>
double run_sum(Load load, std::size_t count) {
  DeviceBuffer<double> result(1);
  result.zero();
  // Few blocks: each thread sums many elements, so the atomics stay rare.
  const unsigned int blocks = std::min(blocks_for(count), 1024u);
  sum_reduce_kernel<<<blocks, threads_per_block>>>(load, count, result.data());
  PHASESPACE_CUDA_CHECK_LAUNCH("sum_reduce_kernel");
  double host = 0.0;
  result.download(&host, 1);
  return host;
}

}  // namespace

template <class Real>
double device_sum(const Real* values, std::size_t count) {
  return run_sum(LoadValue<Real>{values}, count);
}
template <class Real>
double device_squared_norm(const Complex<Real>* values, std::size_t count) {
  return run_sum(LoadSquaredModulus<Real>{values}, count);
}
template double device_sum<double>(const double*, std::size_t);
template double device_sum<float>(const float*, std::size_t);
template double device_squared_norm<double>(const Complex<double>*, std::size_t);
template double device_squared_norm<float>(const Complex<float>*, std::size_t);

}  // namespace detail

using detail::Complex;
using detail::DeviceBuffer;
using detail::FftPlan;

bool device_available(std::string* reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it, so later checks do not see it
    if (reason != nullptr) {
      *reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
                cudaGetErrorString(status) + ")";
    }
    return false;
  }
  if (count < 1) {
    if (reason != nullptr) *reason = "cudaGetDeviceCount found no CUDA device";
    return false;
  }
  if (reason != nullptr) reason->clear();
  return true;
}

std::string device_name() {
  int device = 0;
  PHASESPACE_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp properties{};
  PHASESPACE_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  char text[64];
  std::snprintf(text, sizeof text, " (sm_%d%d, %d SMs, %.1f GiB)", properties.major,
                properties.minor, properties.multiProcessorCount,
                static_cast<double>(properties.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return std::string(properties.name) + text;
}

std::size_t device_free_bytes() {
  std::size_t free_bytes = 0, total_bytes = 0;
  PHASESPACE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

std::size_t device_total_bytes() {
  std::size_t free_bytes = 0, total_bytes = 0;
  PHASESPACE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return total_bytes;
}

void synchronize() { PHASESPACE_CUDA_CHECK(cudaDeviceSynchronize()); }

namespace {

// RAII pair of CUDA events.
struct EventPair {
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  EventPair() {
    PHASESPACE_CUDA_CHECK(cudaEventCreate(&start));
    const cudaError_t status = cudaEventCreate(&stop);
    if (status != cudaSuccess) {
      cudaEventDestroy(start);
      PHASESPACE_CUDA_CHECK(status);
    }
  }
  ~EventPair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  double seconds() {
    PHASESPACE_CUDA_CHECK(cudaEventSynchronize(stop));
    float milliseconds = 0.0f;
    PHASESPACE_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start, stop));
    return 1e-3 * static_cast<double>(milliseconds);
  }
};

DeviceTiming summarise(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  return {median, median > 0.0 ? (seconds.back() - seconds.front()) / median : 0.0};
}

// Deterministic pseudo-random values in [-1, 1) (a hash of the index): timing on zeros could
// hide work, and forward+inverse pairs need a fresh start each repeat (unnormalised growth).
template <class Real>
__global__ void fill_random_kernel(Complex<Real>* values, std::size_t count, unsigned int seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    unsigned long long h = (i + 1) * 0x9E3779B97F4A7C15ull ^ (static_cast<unsigned long long>(seed) << 32);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    const Real re = static_cast<Real>(static_cast<double>(h & 0xFFFFFFull) / 8388608.0 - 1.0);
    const Real im = static_cast<Real>(static_cast<double>((h >> 24) & 0xFFFFFFull) / 8388608.0 - 1.0);
    values[i].x = re;
    values[i].y = im;
  }
}

template <class Real>
void fill_random(DeviceBuffer<Complex<Real>>& buffer, unsigned int seed) {
  fill_random_kernel<Real><<<detail::blocks_for(buffer.size()), detail::threads_per_block>>>(
      buffer.data(), buffer.size(), seed);
  PHASESPACE_CUDA_CHECK_LAUNCH("fill_random_kernel");
}

template <class Real>
DeviceTiming time_fft(std::size_t length, std::size_t batch, int repeat, bool with_inverse) {
  // The plan first: a shape cuFFT rejects fails here, before any large allocation.
  FftPlan<Real> plan(length, batch);
  DeviceBuffer<Complex<Real>> data(length * batch);
  EventPair events;
  std::vector<double> seconds;
  for (int i = 0; i <= repeat; ++i) {  // i = 0 is the warm-up
    fill_random<Real>(data, static_cast<unsigned int>(i));
    PHASESPACE_CUDA_CHECK(cudaEventRecord(events.start));
    plan.forward(data.data());
    if (with_inverse) plan.inverse(data.data());
    PHASESPACE_CUDA_CHECK(cudaEventRecord(events.stop));
    const double elapsed = events.seconds();
    if (i > 0) seconds.push_back(elapsed);
  }
  return summarise(seconds);
}

}  // namespace

DeviceTiming time_events(const std::function<void()>& work, int repeat) {
  if (repeat < 1) throw InputError("time_events: repeat = " + std::to_string(repeat) + ": >= 1");
  EventPair events;
  work();  // warm-up: plans, module load, first-touch
  synchronize();
  std::vector<double> seconds;
  for (int i = 0; i < repeat; ++i) {
    PHASESPACE_CUDA_CHECK(cudaEventRecord(events.start));
    work();
    PHASESPACE_CUDA_CHECK(cudaEventRecord(events.stop));
    seconds.push_back(events.seconds());
  }
  synchronize();
  return summarise(seconds);
}

template <class Real>
DeviceTiming time_fft_pair(std::size_t length, std::size_t batch, int repeat) {
  return time_fft<Real>(length, batch, repeat, true);
}
template <class Real>
DeviceTiming time_fft_forward(std::size_t length, std::size_t batch, int repeat) {
  return time_fft<Real>(length, batch, repeat, false);
}
template DeviceTiming time_fft_pair<double>(std::size_t, std::size_t, int);
template DeviceTiming time_fft_pair<float>(std::size_t, std::size_t, int);
template DeviceTiming time_fft_forward<double>(std::size_t, std::size_t, int);
template DeviceTiming time_fft_forward<float>(std::size_t, std::size_t, int);

DeviceTiming time_device_copy(std::size_t bytes, int repeat) {
  DeviceBuffer<Complex<float>> source((bytes + 7) / 8);
  DeviceBuffer<Complex<float>> target(source.size());
  fill_random<float>(source, 7u);
  return time_events(
      [&] {
        PHASESPACE_CUDA_CHECK(cudaMemcpy(target.data(), source.data(), source.bytes(),
                                         cudaMemcpyDeviceToDevice));
      },
      repeat);
}

}  // namespace phasespace::cuda
