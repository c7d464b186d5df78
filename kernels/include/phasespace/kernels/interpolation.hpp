#pragma once
// Shift of a sampled line by a constant number of cells: out[i] = f(i - shift).
// Writing -shift = offset + fraction (offset integer, 0 <= fraction < 1), the value at
// position i - shift lies between samples i + offset and i + offset + 1, so every point of
// the line uses the same interpolation weights. Shared by the CPU reference and CUDA kernels.
#include <cmath>

#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

struct ShiftSplit {
  long offset;      // floor(-shift)
  double fraction;  // -shift - offset, in [0, 1]
};

PHASESPACE_HOST_DEVICE inline ShiftSplit split_shift(double shift) {
  const double base = floor(-shift);
  return {static_cast<long>(base), -shift - base};
}

// Index of the first sample of a centred stencil of `points` samples (Lagrange, see
// lagrange.hpp), relative to the sample left of the position.
PHASESPACE_HOST_DEVICE inline int stencil_first(int points) { return -(points / 2 - 1); }

// The pole of the cubic B-spline prefilter 6/(q + 4 + 1/q): z = sqrt(3) - 2.
constexpr double bspline_pole = -0.26794919243112270647255365849413;

// Cubic B-spline weights of coefficients i0 - 1 .. i0 + 2 at position i0 + s, 0 <= s <= 1.
PHASESPACE_HOST_DEVICE inline void bspline_weights(double s, double* weights) {
  const double r = 1.0 - s;
  weights[0] = r * r * r / 6.0;
  weights[1] = (4.0 - 6.0 * s * s + 3.0 * s * s * s) / 6.0;
  weights[2] = (4.0 - 6.0 * r * r + 3.0 * r * r * r) / 6.0;
  weights[3] = s * s * s / 6.0;
}

}  // namespace phasespace::kernels
