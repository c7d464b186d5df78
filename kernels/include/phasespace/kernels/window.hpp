#pragma once
// Window values (normalised, ∫|w|² = 1), sampled at offset u from the centre on a grid of
// spacing dx. WindowShape is the one type of the shapes: the config parses into it
// (phasespace::WindowShape is this type), and the device kernels take it as it is.
#include <cmath>

#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

enum class WindowShape { box, gaussian, hann };

// Fraction of the cell [u - dx/2, u + dx/2) inside the box [-width/2, width/2).
PHASESPACE_HOST_DEVICE inline double box_covered_fraction(double u, double width, double dx) {
  const double lower = fmax(u - 0.5 * dx, -0.5 * width);
  const double upper = fmin(u + 0.5 * dx, 0.5 * width);
  return upper > lower ? (upper - lower) / dx : 0.0;
}

PHASESPACE_HOST_DEVICE inline double window_sample(WindowShape shape, double width, double u,
                                                   double dx) {
  const double pi = 3.141592653589793238462643383280;
  switch (shape) {
    case WindowShape::box: return box_covered_fraction(u, width, dx) / sqrt(width);
    case WindowShape::gaussian:
      return pow(pi * width * width, -0.25) * exp(-u * u / (2.0 * width * width));
    case WindowShape::hann: {
      if (fabs(u) >= 0.5 * width) return 0.0;
      const double c = cos(pi * u / width);
      return sqrt(8.0 / (3.0 * width)) * c * c;
    }
  }
  return 0.0;  // not reached: every shape is a case above
}

}  // namespace phasespace::kernels
