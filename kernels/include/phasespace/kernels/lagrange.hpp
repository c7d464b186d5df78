#pragma once
// Centred Lagrange interpolation of odd order n (n+1 points) for a shift by a fractional
// amount: a value at position i0 + s (0 <= s < 1) uses samples i0 - (n-1)/2 .. i0 + (n+1)/2.
#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

constexpr int max_lagrange_points = 10;

// weights[m] for sample i0 - (points/2 - 1) + m, m = 0..points-1, at fractional position s.
PHASESPACE_HOST_DEVICE inline void lagrange_weights(int points, double s, double* weights) {
  const int first = -(points / 2 - 1);
  for (int m = 0; m < points; ++m) {
    double w = 1.0;
    const double node_m = static_cast<double>(first + m);
    for (int l = 0; l < points; ++l) {
      if (l == m) continue;
      const double node_l = static_cast<double>(first + l);
      w *= (s - node_l) / (node_m - node_l);
    }
    weights[m] = w;
  }
}

}  // namespace phasespace::kernels
