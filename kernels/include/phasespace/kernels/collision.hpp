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

// ---------------------------------------------------------------- local Maxwellian (BGK)
// The conservative BGK relaxes each x row towards g_j = exp(θ0 + θ1 q_j + θ2 q_j²), with
// q_j = (p_j - mean)/spread, whose discrete moments Σ_j g_j q_j^k (k = 0, 1, 2) equal the row's:
// then density, momentum and energy are conserved to round-off on the grid. The fit below is the
// one algorithm both backends run; only the moment sums differ (a loop on the CPU, a block
// reduction on the device).

PHASESPACE_HOST_DEVICE inline double exponential_quadratic(const double theta[3], double q) {
  return exp(theta[0] + theta[1] * q + theta[2] * q * q);
}

PHASESPACE_HOST_DEVICE inline bool is_finite(double value) {
#if defined(__CUDA_ARCH__)
  return isfinite(value);
#else
  return std::isfinite(value);
#endif
}

// Solves the symmetric 3×3 system h·x = r (h row-major, positive definite) by Cholesky.
PHASESPACE_HOST_DEVICE inline void solve_symmetric3(const double h[9], const double r[3], double x[3]) {
  const double l00 = sqrt(h[0]);
  const double l10 = h[3] / l00;
  const double l20 = h[6] / l00;
  const double l11 = sqrt(h[4] - l10 * l10);
  const double l21 = (h[7] - l20 * l10) / l11;
  const double l22 = sqrt(h[8] - l20 * l20 - l21 * l21);
  const double y0 = r[0] / l00;
  const double y1 = (r[1] - l10 * y0) / l11;
  const double y2 = (r[2] - l20 * y0 - l21 * y1) / l22;
  x[2] = y2 / l22;
  x[1] = (y1 - l21 * x[2]) / l11;
  x[0] = (y0 - l10 * x[1] - l20 * x[2]) / l00;
}

// A fit whose relative moment mismatch stays above this is an error: no Maxwellian on this grid
// has the row's moments.
constexpr double maxwellian_mismatch_limit = 1e-10;

struct ExponentialQuadraticFit {
  double theta[3];
  double mismatch;  // relative mismatch |Σ g q^k - target_k| / target_0 reached
};

// The dual objective F(θ) = Σ g - θ·target, from the moments of g at θ.
PHASESPACE_HOST_DEVICE inline double fit_dual(const double theta[3], const double moments[5],
                                              const double target[3]) {
  return moments[0] - theta[0] * target[0] - theta[1] * target[1] - theta[2] * target[2];
}

// θ whose g has the moments `target` (Σ f, Σ q f, Σ q² f of the row): Newton on the convex dual
// F, whose gradient is the moment mismatch and whose Hessian is the moment matrix of g, from the
// Gaussian θ = (ln(target_0/gaussian_sum), 0, -1/2), gaussian_sum = Σ_j e^{-q_j²/2}.
// evaluate(θ, moments) sets moments[k] = Σ_j exponential_quadratic(θ, q_j)·q_j^k, k = 0..4.
// On the device every thread of a block runs this with the same block-wide sums, so all take
// the same branches.
template <class Evaluate>
PHASESPACE_HOST_DEVICE ExponentialQuadraticFit fit_exponential_quadratic(const double target[3],
                                                                          double gaussian_sum,
                                                                          Evaluate& evaluate) {
  ExponentialQuadraticFit fit = {{log(target[0] / gaussian_sum), 0.0, -0.5}, 0.0};
  double* theta = fit.theta;
  double moments[5] = {};
  evaluate(theta, moments);
  int polishing = 0;
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double gradient[3] = {moments[0] - target[0], moments[1] - target[1],
                                moments[2] - target[2]};
    fit.mismatch = sqrt(gradient[0] * gradient[0] + gradient[1] * gradient[1] +
                        gradient[2] * gradient[2]) / target[0];
    if (fit.mismatch < 1e-15) break;
    // Below 1e-11 round-off decides; a few more Newton steps settle the last digits.
    if (fit.mismatch < 1e-11 && ++polishing > 3) break;
    const double hessian[9] = {moments[0], moments[1], moments[2],
                               moments[1], moments[2], moments[3],
                               moments[2], moments[3], moments[4]};
    const double descent[3] = {-gradient[0], -gradient[1], -gradient[2]};
    double step[3];
    solve_symmetric3(hessian, descent, step);
    const double slope = gradient[0] * step[0] + gradient[1] * step[1] + gradient[2] * step[2];
    const double current = fit_dual(theta, moments, target);
    double length = 1.0;
    double trial[3] = {};
    double trial_moments[5] = {};
    // Backtracking only far from the solution; near it the dual is flat to round-off.
    for (int halving = 0; halving < 60; ++halving) {
      for (int k = 0; k < 3; ++k) trial[k] = theta[k] + length * step[k];
      evaluate(trial, trial_moments);
      const double value = fit_dual(trial, trial_moments, target);
      if (fit.mismatch < 1e-6 || (is_finite(value) && value <= current + 1e-4 * length * slope)) break;
      length *= 0.5;
    }
    for (int k = 0; k < 3; ++k) theta[k] = trial[k];
    for (int k = 0; k < 5; ++k) moments[k] = trial_moments[k];
  }
  return fit;
}

}  // namespace phasespace::kernels
