// cuFFT load/store callbacks, compiled to LTO-IR (cuda/CMakeLists.txt) and handed to cuFFT by
// name (cufftXtSetJITCallback), so the element-wise work around a transform happens as cuFFT
// loads and stores its data instead of in passes of its own:
// - split-step drift: the forward transform multiplies each element by the kick as it loads it
//   and by the kinetic phase as it stores it (a step is then the bare transform pair); with one
//   extra potential per member (member_split_step) the kick comes from the member's table row;
// - projection: the forward transform loads w(m dx)·ψ(x0_c + m dx) straight from ψ (no row
//   buffer is written) and stores only scale·|A|² into ρ (no rows are read back).
// Compiled twice (cuda/CMakeLists.txt): with PHASESPACE_FFT_CALLBACKS_LOAD the load callbacks
// only, with PHASESPACE_FFT_CALLBACKS_STORE the store callbacks only. cuFFT links a plan's load
// and store fatbins together, so each callback must be defined in exactly one of them.
#include <cufft.h>

#include "fft_callbacks.cuh"

namespace {

using phasespace::cuda::detail::MemberSplitStepCallbackInfo;
using phasespace::cuda::detail::ProjectionCallbackInfo;
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

// Member offset / size feels row kick_row[member] of the kick table.
template <class ComplexType>
__device__ ComplexType load_member_kicked(const void* data, unsigned long long offset,
                                          const void* info) {
  const auto& callback = *static_cast<const MemberSplitStepCallbackInfo<ComplexType>*>(info);
  const unsigned long long member = offset / callback.size;
  const unsigned long long point = offset - member * callback.size;
  const ComplexType value = static_cast<const ComplexType*>(data)[offset];
  return multiply(value, callback.kick[callback.kick_row[member] * callback.size + point]);
}

// Info: SplitStepCallbackInfo or MemberSplitStepCallbackInfo (both have kinetic and size).
template <class ComplexType, class Info>
__device__ void store_drifted(void* data, unsigned long long offset, ComplexType element,
                              const void* info) {
  const auto& callback = *static_cast<const Info*>(info);
  static_cast<ComplexType*>(data)[offset] = multiply(element, callback.kinetic[offset % callback.size]);
}

// Slot m mod M of the row of centre c holds w(m dx)·ψ((c·stride + m) mod N) for |m| <= half,
// zero elsewhere (as gather_window_kernel in cuda/src/projection.cu).
template <class ComplexType, class RealType>
__device__ ComplexType load_windowed(unsigned long long offset, const void* info) {
  const auto& callback = *static_cast<const ProjectionCallbackInfo<ComplexType, RealType>*>(info);
  const unsigned long long row = offset / callback.length;
  const unsigned long long slot = offset - row * callback.length;
  ComplexType value;
  value.x = 0;
  value.y = 0;
  long long m;
  if (slot <= callback.half) {
    m = static_cast<long long>(slot);
  } else if (slot >= callback.length - callback.half) {
    m = static_cast<long long>(slot) - static_cast<long long>(callback.length);
  } else {
    return value;
  }
  const long long n = static_cast<long long>(callback.size);
  long long point = static_cast<long long>((callback.centre_first + row) * callback.centre_stride) + m;
  if (point < 0) point += n;
  else if (point >= n) point -= n;
  if (point < 0 || point >= n) point = ((point % n) + n) % n;  // a window wider than the grid
  const ComplexType sample = callback.psi[point];
  const RealType w = callback.table[slot];
  value.x = w * sample.x;
  value.y = w * sample.y;
  return value;
}

// ρ[c][j] (+)= scale·|A|² for the slot of momentum j; the other slots are dropped.
template <class ComplexType, class RealType>
__device__ void store_density(unsigned long long offset, ComplexType element, const void* info) {
  const auto& callback = *static_cast<const ProjectionCallbackInfo<ComplexType, RealType>*>(info);
  const unsigned long long row = offset / callback.length;
  const unsigned long long slot = offset - row * callback.length;
  unsigned long long j = slot + callback.length - callback.first_slot;
  if (j >= callback.length) j -= callback.length;
  if (j >= callback.momenta) return;
  RealType& cell = callback.density[(callback.centre_first + row) * callback.momenta + j];
  const RealType value = callback.scale * (element.x * element.x + element.y * element.y);
  cell = callback.overwrite ? value : cell + value;
}

}  // namespace

#if !defined(PHASESPACE_FFT_CALLBACKS_LOAD) && !defined(PHASESPACE_FFT_CALLBACKS_STORE)
#error "compile with PHASESPACE_FFT_CALLBACKS_LOAD or PHASESPACE_FFT_CALLBACKS_STORE (cuda/CMakeLists.txt)"
#endif

// The names the host passes to cufftXtSetJITCallback.
#if defined(PHASESPACE_FFT_CALLBACKS_LOAD)
extern "C" __device__ cufftDoubleComplex phasespace_split_step_load_double(
    void* data, unsigned long long offset, void* info, void*) {
  return load_kicked<cufftDoubleComplex>(data, offset, info);
}

extern "C" __device__ cufftComplex phasespace_split_step_load_float(
    void* data, unsigned long long offset, void* info, void*) {
  return load_kicked<cufftComplex>(data, offset, info);
}

extern "C" __device__ cufftDoubleComplex phasespace_member_split_step_load_double(
    void* data, unsigned long long offset, void* info, void*) {
  return load_member_kicked<cufftDoubleComplex>(data, offset, info);
}

extern "C" __device__ cufftComplex phasespace_member_split_step_load_float(
    void* data, unsigned long long offset, void* info, void*) {
  return load_member_kicked<cufftComplex>(data, offset, info);
}

extern "C" __device__ cufftDoubleComplex phasespace_projection_load_double(
    void*, unsigned long long offset, void* info, void*) {
  return load_windowed<cufftDoubleComplex, double>(offset, info);
}

extern "C" __device__ cufftComplex phasespace_projection_load_float(
    void*, unsigned long long offset, void* info, void*) {
  return load_windowed<cufftComplex, float>(offset, info);
}
#endif  // PHASESPACE_FFT_CALLBACKS_LOAD

#if defined(PHASESPACE_FFT_CALLBACKS_STORE)
extern "C" __device__ void phasespace_split_step_store_double(
    void* data, unsigned long long offset, cufftDoubleComplex element, void* info, void*) {
  store_drifted<cufftDoubleComplex, SplitStepCallbackInfo<cufftDoubleComplex>>(data, offset,
                                                                              element, info);
}

extern "C" __device__ void phasespace_split_step_store_float(
    void* data, unsigned long long offset, cufftComplex element, void* info, void*) {
  store_drifted<cufftComplex, SplitStepCallbackInfo<cufftComplex>>(data, offset, element, info);
}

extern "C" __device__ void phasespace_member_split_step_store_double(
    void* data, unsigned long long offset, cufftDoubleComplex element, void* info, void*) {
  store_drifted<cufftDoubleComplex, MemberSplitStepCallbackInfo<cufftDoubleComplex>>(
      data, offset, element, info);
}

extern "C" __device__ void phasespace_member_split_step_store_float(
    void* data, unsigned long long offset, cufftComplex element, void* info, void*) {
  store_drifted<cufftComplex, MemberSplitStepCallbackInfo<cufftComplex>>(data, offset, element,
                                                                         info);
}

extern "C" __device__ void phasespace_projection_store_double(
    void*, unsigned long long offset, cufftDoubleComplex element, void* info, void*) {
  store_density<cufftDoubleComplex, double>(offset, element, info);
}

extern "C" __device__ void phasespace_projection_store_float(
    void*, unsigned long long offset, cufftComplex element, void* info, void*) {
  store_density<cufftComplex, float>(offset, element, info);
}
#endif  // PHASESPACE_FFT_CALLBACKS_STORE
