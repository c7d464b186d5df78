#pragma once
// What the split-step's cuFFT callbacks read (their callerInfo), shared by the callbacks
// (cuda/callbacks/split_step_callbacks.cu, compiled to LTO-IR and linked into cuFFT's kernels
// at plan time) and cuda/src/propagator.cu, which fills it before each forward transform.
#include <cufft.h>

namespace phasespace::cuda::detail {

template <class ComplexType>
struct SplitStepCallbackInfo {
  const ComplexType* kick;     // potential phase and damping per grid point (x)
  const ComplexType* kinetic;  // kinetic phase per FFT slot (p), the transform pair's 1/N in it
  unsigned long long size;     // grid points: element `offset` is point offset % size
};

}  // namespace phasespace::cuda::detail
