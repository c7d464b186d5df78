#pragma once
// Windowed projection on the device, the twin of phasespace::Projector:
// gather + window (gather_window_kernel) → batched cuFFT of fft_length over (members × centres)
// rows, chunked to a memory budget → Σ_k w_k |A_k|²/(2πħ) into the device density. With
// FftCallbacks::on the gather + window and the |A|² accumulation run inside the transform, one
// member at a time: no row is written before the transform or read after it.
#include <cstddef>
#include <memory>
#include <span>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/fft_callbacks.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/projection.hpp"

namespace phasespace::cuda {

// The row buffer of one chunk, unless a caller gives another (study.cpp's device memory
// estimate counts this one).
inline constexpr std::size_t default_projection_memory_budget = std::size_t{256} << 20;

template <class Real>
class Projector {
 public:
  // memory_budget bounds the row buffer of one chunk (cuFFT's work area comes on top).
  Projector(const Grid& grid, const Window& window, const PhaseSpaceGrid& phase_space,
            std::size_t memory_budget = default_projection_memory_budget,
            FftCallbacks callbacks = FftCallbacks::off);
  ~Projector();
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // density[c·momenta + j] = Σ_k w_k |A_k(x0_c, p_j)|²/(2πħ); density has phase_space.cells().
  // An ensemble without members gives zeros, as on the CPU.
  void project(const DeviceEnsemble<Real>& ensemble, DeviceDensity<Real>& density);
  // The same over members [first, first + weights.size()) of `ensemble` only, member first + k
  // with weight weights[k] instead of its own (e.g. one batch of a disorder ensemble, weights
  // renormalised to the batch); ψ is read in place, not copied.
  void project(const DeviceEnsemble<Real>& ensemble, std::size_t first,
               std::span<const double> weights, DeviceDensity<Real>& density);
  // Device bytes this projector holds (row buffer, window table, weights, cuFFT work areas).
  std::size_t memory_bytes() const;
  const PhaseSpaceGrid& phase_space() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
