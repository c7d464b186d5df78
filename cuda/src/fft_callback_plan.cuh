#pragma once
// Internal to the CUDA backend: a batched, contiguous, in-place forward cuFFT plan with a load
// and a store callback from cuda/callbacks/fft_callbacks.cu (linked in at plan time from the
// embedded LTO-IR), and the device copy of the callbacks' Info, rewritten before each transform.
#include <cufftXt.h>

#include <cstddef>

#include "device_support.cuh"
#include "fft_callbacks.cuh"
// Generated (cuda/CMakeLists.txt): the load and the store callbacks as LTO-IR, one fatbin each
// (given one fatbin for both, cuFFT's link would define every callback twice).
#include "fft_callbacks_load_fatbin.h"
#include "fft_callbacks_store_fatbin.h"

namespace phasespace::cuda::detail {

// The callbacks' names carry the precision; cuFFT's callback types too.
template <class Real>
struct FftCallbackTypes;
template <>
struct FftCallbackTypes<double> {
  static constexpr const char* suffix = "_double";
  static constexpr cufftXtCallbackType load = CUFFT_CB_LD_COMPLEX_DOUBLE;
  static constexpr cufftXtCallbackType store = CUFFT_CB_ST_COMPLEX_DOUBLE;
};
template <>
struct FftCallbackTypes<float> {
  static constexpr const char* suffix = "_float";
  static constexpr cufftXtCallbackType load = CUFFT_CB_LD_COMPLEX;
  static constexpr cufftXtCallbackType store = CUFFT_CB_ST_COMPLEX;
};

// Writes the callbacks' Info on the device in stream order: a kernel argument travels with the
// launch, so unlike a cudaMemcpy from host memory it does not make the host wait for the GPU.
template <class Info>
__global__ void set_callback_info_kernel(Info* destination, Info value) {
  *destination = value;
}

template <class Real, class Info>
class FftCallbackPlan {
 public:
  // `batch` forward transforms of `length` points; `name` picks the callbacks
  // phasespace_<name>_load_<precision> and phasespace_<name>_store_<precision>.
  FftCallbackPlan(std::size_t length, std::size_t batch, const std::string& name)
      : info_(1), info_pointer_(info_.data()) {
    PHASESPACE_CUFFT_CHECK(cufftCreate(&handle_));
    try {
      const std::string prefix = "phasespace_" + name;
      const std::string load = prefix + "_load" + FftCallbackTypes<Real>::suffix;
      const std::string store = prefix + "_store" + FftCallbackTypes<Real>::suffix;
      PHASESPACE_CUFFT_CHECK(cufftXtSetJITCallback(handle_, load.c_str(), fft_callbacks_load_fatbin,
                                                   sizeof(fft_callbacks_load_fatbin),
                                                   FftCallbackTypes<Real>::load, &info_pointer_));
      PHASESPACE_CUFFT_CHECK(cufftXtSetJITCallback(handle_, store.c_str(),
                                                   fft_callbacks_store_fatbin,
                                                   sizeof(fft_callbacks_store_fatbin),
                                                   FftCallbackTypes<Real>::store, &info_pointer_));
      long long n = static_cast<long long>(length);
      const cufftType type = sizeof(Real) == sizeof(double) ? CUFFT_Z2Z : CUFFT_C2C;
      PHASESPACE_CUFFT_CHECK(cufftMakePlanMany64(handle_, 1, &n, nullptr, 1, n, nullptr, 1, n, type,
                                                 static_cast<long long>(batch), &work_bytes_));
    } catch (...) {
      cufftDestroy(handle_);
      throw;
    }
  }
  ~FftCallbackPlan() { cufftDestroy(handle_); }
  FftCallbackPlan(const FftCallbackPlan&) = delete;
  FftCallbackPlan& operator=(const FftCallbackPlan&) = delete;

  // The forward transform of `data` (in place) with the callbacks reading `info`.
  void forward(Complex<Real>* data, const Info& info) {
    set_callback_info_kernel<Info><<<1, 1>>>(info_.data(), info);  // after the previous transform
    PHASESPACE_CUDA_CHECK_LAUNCH("set_callback_info_kernel");
    if constexpr (sizeof(Real) == sizeof(double)) {
      PHASESPACE_CUFFT_CHECK(cufftExecZ2Z(handle_, data, data, CUFFT_FORWARD));
    } else {
      PHASESPACE_CUFFT_CHECK(cufftExecC2C(handle_, data, data, CUFFT_FORWARD));
    }
  }
  std::size_t work_bytes() const { return work_bytes_; }

 private:
  cufftHandle handle_ = 0;
  DeviceBuffer<Info> info_;
  // The callerInfo array cuFFT is given (one device pointer): a member, so it outlives the plan
  // whether cuFFT copies the pointer or keeps the array's address.
  void* info_pointer_ = nullptr;
  std::size_t work_bytes_ = 0;
};

}  // namespace phasespace::cuda::detail
