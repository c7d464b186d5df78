#pragma once
// PHASESPACE_HOST_DEVICE marks the small math shared by the CPU reference and CUDA kernels.
#if defined(__CUDACC__)
#define PHASESPACE_HOST_DEVICE __host__ __device__
#else
#define PHASESPACE_HOST_DEVICE
#endif
