#pragma once
// The periodic 1D quantum grid: x_n = x_min + n dx, dx = L/N; FFT momenta p_k = 2πħk/L.
#include <cstddef>

namespace phasespace {

struct Grid {
  double x_min = 0.0;
  double length = 0.0;
  std::size_t size = 0;

  double dx() const { return length / static_cast<double>(size); }
  double x(std::size_t n) const { return x_min + static_cast<double>(n) * dx(); }
  double x_max() const { return x_min + length; }
  // Signed FFT index of slot k: 0, 1, ..., N/2-1, -N/2, ..., -1.
  long signed_index(std::size_t k) const {
    return k < size / 2 ? static_cast<long>(k) : static_cast<long>(k) - static_cast<long>(size);
  }
  // Momentum of FFT slot k for a given ħ: p_k = 2πħ k / L.
  double momentum(std::size_t k, double hbar) const;
  // Largest momentum the grid resolves at ħ: πħ/dx.
  double max_momentum(double hbar) const;
};

// Validated grid on [x_min, x_max) with `size` points (size >= 2).
Grid make_grid(double x_min, double x_max, std::size_t size);

// Smallest n' >= n whose prime factors are 2, 3, 5, 7 (sizes FFTW and cuFFT handle fastest).
std::size_t next_fft_size(std::size_t n);

// Grid size that carries momenta up to p_cut at ħ with the given oversampling (>= 1):
// πħN/L >= oversampling·p_cut, rounded up to an FFT-friendly size.
std::size_t grid_size_for_momentum(double length, double hbar, double p_cut, double oversampling);

}  // namespace phasespace
