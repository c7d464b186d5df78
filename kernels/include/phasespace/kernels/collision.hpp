#pragma once
// Collision rates and exact single-step updates (Boltzmann right-hand sides), shared by the CPU
// reference and the CUDA kernels. Conventions in shared/design/physics.md ("Collisions").
#include <cmath>

#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

// Ṽ(q) of V = g e^{-x²/2a²}/(√(2π) a): g e^{-q²a²/2ħ²} (its integral is g, like g δ(x)).
PHASESPACE_HOST_DEVICE inline double gaussian_impurity_fourier(double strength, double width,
                                                               double q, double hbar) {
  const double u = q * width / hbar;
  return strength * exp(-0.5 * u * u);
}

// Golden-rule back-scattering rate W(p) = n_i m |Ṽ(2p)|² / (ħ² |p|) from |Ṽ(2p)|².
PHASESPACE_HOST_DEVICE inline double backscattering_rate_from(double fourier_squared,
                                                              double density, double mass,
                                                              double hbar, double p) {
  return density * mass * fourier_squared / (hbar * hbar * fabs(p));
}

// BGK over a step: f ← f_eq + (f - f_eq)·decay with decay = e^{-τ/τ_relax}.
PHASESPACE_HOST_DEVICE inline double relax(double f, double equilibrium, double decay) {
  return equilibrium + (f - equilibrium) * decay;
}

// Back-scattering of the pair (f(p), f(-p)) over a step: the even part stays, the odd part is
// multiplied by decay = e^{-2W(p)τ}.
PHASESPACE_HOST_DEVICE inline void backscatter_pair(double& f_plus, double& f_minus, double decay) {
  const double even = 0.5 * (f_plus + f_minus);
  const double odd = 0.5 * (f_plus - f_minus) * decay;
  f_plus = even + odd;
  f_minus = even - odd;
}

}  // namespace phasespace::kernels
