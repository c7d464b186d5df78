#pragma once
// The CUDA backend's device queries and timing helpers (host-visible; no CUDA headers).
// Everything here runs on CUDA device 0 and the legacy default stream.
#include <cstddef>
#include <functional>
#include <string>

namespace phasespace::cuda {

// True when a CUDA device can be used; otherwise false and, when given, `reason` says why
// (e.g. "cudaGetDeviceCount: cudaErrorInsufficientDriver: ..." or "no CUDA device found").
bool device_available(std::string* reason = nullptr);
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.2 GiB)"; throws CudaError without a device.
std::string device_name();
// Free and total device memory in bytes.
std::size_t device_free_bytes();
std::size_t device_total_bytes();
// Waits for all queued device work; throws CudaError if any of it failed.
void synchronize();

// Median and relative spread ((max - min)/median) of repeated device timings, in seconds.
struct DeviceTiming {
  double median = 0.0;
  double spread = 0.0;
};
// Runs `work` once as a warm-up, then `repeat` times between CUDA events on the default
// stream (work must queue its device work there).
DeviceTiming time_events(const std::function<void()>& work, int repeat);
// The floor of FFT stages: a bare batched in-place cuFFT forward + inverse of `batch` rows of
// `length` points (Z2Z for double, C2C for float) on random data. Real is float or double.
template <class Real>
DeviceTiming time_fft_pair(std::size_t length, std::size_t batch, int repeat);
// The same, forward only (the projection's floor).
template <class Real>
DeviceTiming time_fft_forward(std::size_t length, std::size_t batch, int repeat);
// The floor of sweeps: one cudaMemcpy device-to-device of `bytes` (it reads and writes them).
DeviceTiming time_device_copy(std::size_t bytes, int repeat);

}  // namespace phasespace::cuda
