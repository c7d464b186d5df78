// cuFFT load/store callbacks of the split-step drift, compiled to LTO-IR (cuda/CMakeLists.txt)
// and handed to cuFFT by name (cufftXtSetJITCallback): the forward transform multiplies each
// element by the kick as it loads it, and by the kinetic phase as it stores it, so a step is
// the bare transform pair instead of the pair plus two element-wise passes over ψ.
// Element `offset` of the batch is member offset / size, grid point (or slot) offset % size.
#include <cufft.h>

#include "split_step_callbacks.cuh"

namespace {

using phasespace::cuda::detail::SplitStepCallbackInfo;

template <class ComplexType>
__device__ ComplexType multiply(ComplexType a, ComplexType b) {
  ComplexType product;
  product.x = a.x * b.x - a.y * b.y;
  product.y = a.x * b.y + a.y * b.x;
  return product;
}

template <class ComplexType>
__device__ ComplexType load_kicked(const void* data, unsigned long long offset, const void* info) {
  const auto& callback = *static_cast<const SplitStepCallbackInfo<ComplexType>*>(info);
  const ComplexType value = static_cast<const ComplexType*>(data)[offset];
  return multiply(value, callback.kick[offset % callback.size]);
}

template <class ComplexType>
__device__ void store_drifted(void* data, unsigned long long offset, ComplexType element,
                              const void* info) {
  const auto& callback = *static_cast<const SplitStepCallbackInfo<ComplexType>*>(info);
  static_cast<ComplexType*>(data)[offset] = multiply(element, callback.kinetic[offset % callback.size]);
}

}  // namespace

// The names propagator.cu passes to cufftXtSetJITCallback.
extern "C" __device__ cufftDoubleComplex phasespace_split_step_load_double(
    void* data, unsigned long long offset, void* info, void*) {
  return load_kicked<cufftDoubleComplex>(data, offset, info);
}

extern "C" __device__ void phasespace_split_step_store_double(
    void* data, unsigned long long offset, cufftDoubleComplex element, void* info, void*) {
  store_drifted<cufftDoubleComplex>(data, offset, element, info);
}

extern "C" __device__ cufftComplex phasespace_split_step_load_float(
    void* data, unsigned long long offset, void* info, void*) {
  return load_kicked<cufftComplex>(data, offset, info);
}

extern "C" __device__ void phasespace_split_step_store_float(
    void* data, unsigned long long offset, cufftComplex element, void* info, void*) {
  store_drifted<cufftComplex>(data, offset, element, info);
}
