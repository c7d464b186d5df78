#pragma once
// Where the element-wise work around a cuFFT transform runs: in the backend's own kernels, one
// pass over the data each (off), or inside the transform as cuFFT LTO load/store callbacks (on):
// the split-step's kick and kinetic phases, the projection's gather + window and |A|²
// accumulation (cuda/callbacks/, compiled to LTO-IR and linked into cuFFT's kernels at plan
// time). The callbacks have not yet run on a GPU: off by default until scripts/gpu-check has
// verified them against the CPU reference.
namespace phasespace::cuda {

enum class FftCallbacks { off, on };

}  // namespace phasespace::cuda
