#pragma once
// Phase angles of the split-step factors, reduced modulo 2π in double before anyone rounds
// them: at small ħ, p²dt/2mħ and U dt/2ħ reach hundreds of radians per step, and a float
// angle of that size has lost its fractional part.
#include <cmath>

#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

constexpr double two_pi = 6.283185307179586476925286766559;

// angle mod 2π, in [-π, π).
PHASESPACE_HOST_DEVICE inline double reduce_angle(double angle) {
  double reduced = angle - two_pi * floor(angle / two_pi + 0.5);
  return reduced;
}

// Kinetic phase angle -p² τ / (2mħ) for p = 2πħk/L.
PHASESPACE_HOST_DEVICE inline double kinetic_angle(long k, double length, double hbar, double mass,
                                                   double tau) {
  const double p = two_pi * hbar * static_cast<double>(k) / length;
  return reduce_angle(-p * p * tau / (2.0 * mass * hbar));
}

// Potential phase angle -U τ / ħ.
PHASESPACE_HOST_DEVICE inline double potential_angle(double potential, double hbar, double tau) {
  return reduce_angle(-potential * tau / hbar);
}

}  // namespace phasespace::kernels
