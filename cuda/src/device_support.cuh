#pragma once
// Internal to the CUDA backend (included by cuda/src/*.cu only): error checking that throws typed
// errors naming the call, file and line; RAII device buffers; cuFFT plans cached per shape.
#include <cuda_runtime.h>
#include <cufft.h>

#include <complex>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "phasespace/errors.hpp"

namespace phasespace::cuda::detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cufft_error(cufftResult status, const char* call, const char* file, int line);

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw_cuda_error(status, call, file, line);
}
inline void check_cufft(cufftResult status, const char* call, const char* file, int line) {
  if (status != CUFFT_SUCCESS) throw_cufft_error(status, call, file, line);
}

}  // namespace phasespace::cuda::detail

// Every CUDA runtime and cuFFT call goes through one of these.
#define PHASESPACE_CUDA_CHECK(call) \
  ::phasespace::cuda::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define PHASESPACE_CUFFT_CHECK(call) \
  ::phasespace::cuda::detail::check_cufft((call), #call, __FILE__, __LINE__)
// After each kernel launch: launch-configuration errors show up here, named by the kernel.
#define PHASESPACE_CUDA_CHECK_LAUNCH(kernel_name) \
  ::phasespace::cuda::detail::check_cuda(cudaGetLastError(), kernel_name "<<<>>>", __FILE__, __LINE__)

namespace phasespace::cuda::detail {

// The cuFFT complex type of each precision (layout-compatible with std::complex<Real>).
template <class Real>
struct ComplexOf;
template <>
struct ComplexOf<double> {
  using type = cufftDoubleComplex;
};
template <>
struct ComplexOf<float> {
  using type = cufftComplex;
};
template <class Real>
using Complex = typename ComplexOf<Real>::type;

// Owning device allocation of `count` elements of T. Not copyable; movable.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count_ > 0) {
      void* pointer = nullptr;
      PHASESPACE_CUDA_CHECK(cudaMalloc(&pointer, count_ * sizeof(T)));
      data_ = static_cast<T*>(pointer);
    }
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);  // no throw from a destructor
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) cudaFree(data_);
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

  void upload(const T* host, std::size_t count) {
    if (count != count_) {
      throw InputError("DeviceBuffer upload of " + std::to_string(count) + " elements into " +
                       std::to_string(count_));
    }
    if (count_ > 0) PHASESPACE_CUDA_CHECK(cudaMemcpy(data_, host, bytes(), cudaMemcpyHostToDevice));
  }
  void download(T* host, std::size_t count) const {
    if (count != count_) {
      throw InputError("DeviceBuffer download of " + std::to_string(count_) + " elements into " +
                       std::to_string(count));
    }
    if (count_ > 0) PHASESPACE_CUDA_CHECK(cudaMemcpy(host, data_, bytes(), cudaMemcpyDeviceToHost));
  }
  // All bits set: a NaN in float and double, so any element a kernel forgets to write shows up.
  void poison() {
    if (count_ > 0) PHASESPACE_CUDA_CHECK(cudaMemset(data_, 0xFF, bytes()));
  }
  void zero() {
    if (count_ > 0) PHASESPACE_CUDA_CHECK(cudaMemset(data_, 0, bytes()));
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// An owned cuFFT handle: destroyed even when making its plan throws.
struct CufftHandle {
  cufftHandle value = 0;
  CufftHandle() { PHASESPACE_CUFFT_CHECK(cufftCreate(&value)); }
  ~CufftHandle() { cufftDestroy(value); }
  CufftHandle(const CufftHandle&) = delete;
  CufftHandle& operator=(const CufftHandle&) = delete;
};

// A batched, contiguous, in-place 1D complex FFT plan: `batch` transforms of `length` points
// (Z2Z in double, C2C in float). The handle is destroyed even when plan creation throws.
template <class Real>
class FftPlan {
 public:
  FftPlan(std::size_t length, std::size_t batch);
  FftPlan(const FftPlan&) = delete;
  FftPlan& operator=(const FftPlan&) = delete;
  // Unnormalised: forward then inverse multiplies by `length`.
  void forward(Complex<Real>* data);
  void inverse(Complex<Real>* data);
  std::size_t length() const { return length_; }
  std::size_t batch() const { return batch_; }
  std::size_t work_bytes() const { return work_bytes_; }

 private:
  CufftHandle handle_;
  std::size_t length_;
  std::size_t batch_;
  std::size_t work_bytes_ = 0;
};

// Plans made on first use and kept per (length, batch).
template <class Real>
class FftPlanCache {
 public:
  FftPlan<Real>& get(std::size_t length, std::size_t batch) {
    auto& slot = plans_[{length, batch}];
    if (!slot) slot = std::make_unique<FftPlan<Real>>(length, batch);
    return *slot;
  }
  std::size_t work_bytes() const {
    std::size_t total = 0;
    for (const auto& entry : plans_) total += entry.second->work_bytes();
    return total;
  }

 private:
  std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<FftPlan<Real>>> plans_;
};

// Launch shape for a grid-stride loop over `count` elements.
constexpr int threads_per_block = 256;
inline unsigned int blocks_for(std::size_t count) {
  const std::size_t blocks = (count + threads_per_block - 1) / threads_per_block;
  const std::size_t cap = std::size_t{1} << 20;  // the grid-stride loop covers the rest
  return static_cast<unsigned int>(blocks == 0 ? 1 : (blocks < cap ? blocks : cap));
}

// Σ values (double accumulation) of a device array, for mass and norm diagnostics.
template <class Real>
double device_sum(const Real* values, std::size_t count);
// Σ |z|² of a device array of complex values.
template <class Real>
double device_squared_norm(const Complex<Real>* values, std::size_t count);

}  // namespace phasespace::cuda::detail
