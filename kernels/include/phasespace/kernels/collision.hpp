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

PHASESPACE_HOST_DEVICE inline bool is_finite(double value) {
#if defined(__CUDA_ARCH__)
  return isfinite(value);
#else
  return std::isfinite(value);
#endif
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
// q_j = (p_j - mean)/scale, whose discrete moments Σ_j g_j q_j^k (k = 0, 1, 2) equal the row's:
// then density, momentum and energy are conserved to round-off on the grid. The fit below is the
// one algorithm both backends run; only the moment sums differ (a loop on the CPU, a block
// reduction on the device).
//
// Such a g exists exactly when the row's (Σf, mean, variance) lie inside what exp-quadratics on
// the grid's momenta reach: Σf > 0, the mean strictly between the first and last momentum, and
// the variance strictly between the smallest any distribution on the grid with that mean has
// (all of it on the two momenta around the mean: u(1 - u)dp², u the mean's offset in its cell)
// and the largest (all of it on the two end momenta). A non-negative row can only lie on that
// boundary, where it is its own limit (zero temperature, or everything at the grid's ends);
// rows outside have negative values (interpolation undershoot in near-empty tails).

// What the relaxation did with one row.
enum class MaxwellianRow : int {
  relaxed,        // relaxed towards its Maxwellian (the fit's mismatch says how well it matched)
  at_limit,       // non-negative, within maxwellian_edge of the boundary: its own limit, left as is
  no_mass,        // Σf <= 0
  mean_off_grid,  // the mean momentum is not inside the grid's momenta
  too_cold,       // the variance is not above the smallest the grid has at that mean
  too_hot,        // the variance is not below the largest the grid has at that mean
  not_finite,     // f is not finite in the row
};

// A row this close to the boundary (relative to dp, dp²) is taken as on it: a non-negative such
// row has at most this fraction of its mass away from its limit, and the fit would need
// exponents beyond ln(1e-12).
constexpr double maxwellian_edge = 1e-12;

// Which of the above a row with these moments and no fit yet is (relaxed: a Maxwellian exists).
// `negative`: the row has a value < 0 (else a row outside is at_limit).
PHASESPACE_HOST_DEVICE inline MaxwellianRow maxwellian_row_class(double density, double mean,
                                                                 double variance, bool negative,
                                                                 double p_first, double p_last,
                                                                 double dp) {
  MaxwellianRow outside = MaxwellianRow::relaxed;
  if (!is_finite(density)) return MaxwellianRow::not_finite;
  if (!(density > 0.0)) {
    outside = MaxwellianRow::no_mass;
  } else if (!is_finite(mean) || !is_finite(variance)) {
    return MaxwellianRow::not_finite;
  } else if (!(mean > p_first + maxwellian_edge * dp && mean < p_last - maxwellian_edge * dp)) {
    outside = MaxwellianRow::mean_off_grid;
  } else {
    const double cell = (mean - p_first) / dp;
    const double offset = cell - floor(cell);
    if (!(variance > (offset * (1.0 - offset) + maxwellian_edge) * dp * dp)) {
      outside = MaxwellianRow::too_cold;
    } else if (!(variance < (mean - p_first) * (p_last - mean) - maxwellian_edge * dp * dp)) {
      outside = MaxwellianRow::too_hot;
    }
  }
  if (outside != MaxwellianRow::relaxed && !negative) return MaxwellianRow::at_limit;
  return outside;
}

// The length q is measured in: the row's spread, but not below dp, so that the starting
// Gaussian e^{-q²/2} has weight on several momenta however cold the row is.
PHASESPACE_HOST_DEVICE inline double maxwellian_scale(double variance, double dp) {
  const double spread = sqrt(variance);
  return spread > dp ? spread : dp;
}

struct MaxwellianRowOutcome {
  MaxwellianRow status;
  double mismatch;       // relaxed: the fit's relative moment mismatch (the row is left as it is
                         // unless <= maxwellian_mismatch_limit)
  double absolute_mass;  // Σ_j |f_j| of the row before the step
  double density;        // Σ_j f_j, and the mean and variance of p (for messages)
  double mean;
  double variance;
};

// A fit whose relative moment mismatch stays above this is an error: no Maxwellian on this grid
// has the row's moments.
constexpr double maxwellian_mismatch_limit = 1e-10;

// Rows left without relaxation because no Maxwellian has their moments may hold at most this
// fraction of Σ|f| (a step changes them by at most twice their mass): beyond it the momentum grid
// does not resolve f, and the run stops.
constexpr double maxwellian_unrelaxed_limit = 1e-5;

PHASESPACE_HOST_DEVICE inline double exponential_quadratic(const double theta[3], double q) {
  return exp(theta[0] + theta[1] * q + theta[2] * q * q);
}

// Solves the symmetric 3×3 system h·x = r (h row-major, positive definite) by Cholesky; false
// when a pivot is not positive and finite (h singular to round-off: g has weight on fewer than
// three momenta, or is not finite).
PHASESPACE_HOST_DEVICE inline bool solve_symmetric3(const double h[9], const double r[3], double x[3]) {
  const double d0 = h[0];
  if (!(d0 > 0.0 && is_finite(d0))) return false;
  const double l00 = sqrt(d0);
  const double l10 = h[3] / l00;
  const double l20 = h[6] / l00;
  const double d1 = h[4] - l10 * l10;
  if (!(d1 > 0.0 && is_finite(d1))) return false;
  const double l11 = sqrt(d1);
  const double l21 = (h[7] - l20 * l10) / l11;
  const double d2 = h[8] - l20 * l20 - l21 * l21;
  if (!(d2 > 0.0 && is_finite(d2))) return false;
  const double l22 = sqrt(d2);
  const double y0 = r[0] / l00;
  const double y1 = (r[1] - l10 * y0) / l11;
  const double y2 = (r[2] - l20 * y0 - l21 * y1) / l22;
  x[2] = y2 / l22;
  x[1] = (y1 - l21 * x[2]) / l11;
  x[0] = (y0 - l10 * x[1] - l20 * x[2]) / l00;
  return is_finite(x[0]) && is_finite(x[1]) && is_finite(x[2]);
}

struct ExponentialQuadraticFit {
  double theta[3];
  double mismatch;  // relative mismatch |Σ g q^k - target_k| / target_0 reached (NaN: failed)
};

// The dual objective F(θ) = Σ g - θ·target, from the moments of g at θ.
PHASESPACE_HOST_DEVICE inline double fit_dual(const double theta[3], const double moments[5],
                                              const double target[3]) {
  return moments[0] - theta[0] * target[0] - theta[1] * target[1] - theta[2] * target[2];
}

PHASESPACE_HOST_DEVICE inline double fit_mismatch(const double moments[5], const double target[3]) {
  const double gradient[3] = {moments[0] - target[0], moments[1] - target[1],
                              moments[2] - target[2]};
  return sqrt(gradient[0] * gradient[0] + gradient[1] * gradient[1] + gradient[2] * gradient[2]) /
         target[0];
}

// θ whose g has the moments `target` (Σ f, Σ q f, Σ q² f of the row): Newton on the convex dual
// F, whose gradient is the moment mismatch and whose Hessian is the moment matrix of g, from the
// Gaussian θ = (ln(target_0/gaussian_sum), 0, -1/2), gaussian_sum = Σ_j e^{-q_j²/2}. The
// iteration runs on target/target_0 (moments of order one whatever the scale of f, from 1e-300
// to 1e300) and adds ln target_0 to θ0 at the end.
// evaluate(θ, moments) sets moments[k] = Σ_j exponential_quadratic(θ, q_j)·q_j^k, k = 0..4.
// Only finite steps that decrease F are taken; when none is found (or the Hessian is singular to
// round-off) the fit stops where it is and its mismatch says so. Call it only for rows that
// maxwellian_row_class finds relaxed: elsewhere no solution exists.
// On the device every thread of a block runs this with the same block-wide sums, so all take
// the same branches.
template <class Evaluate>
PHASESPACE_HOST_DEVICE ExponentialQuadraticFit fit_exponential_quadratic(const double target[3],
                                                                          double gaussian_sum,
                                                                          Evaluate& evaluate) {
  const double unit[3] = {1.0, target[1] / target[0], target[2] / target[0]};
  ExponentialQuadraticFit fit = {{-log(gaussian_sum), 0.0, -0.5}, 0.0};
  double* theta = fit.theta;
  double moments[5] = {};
  evaluate(theta, moments);
  int polishing = 0;
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double gradient[3] = {moments[0] - unit[0], moments[1] - unit[1], moments[2] - unit[2]};
    fit.mismatch = fit_mismatch(moments, unit);
    if (fit.mismatch < 1e-15) break;
    // Below 1e-11 round-off decides; a few more Newton steps settle the last digits.
    if (fit.mismatch < 1e-11 && ++polishing > 3) break;
    const double hessian[9] = {moments[0], moments[1], moments[2],
                               moments[1], moments[2], moments[3],
                               moments[2], moments[3], moments[4]};
    const double descent[3] = {-gradient[0], -gradient[1], -gradient[2]};
    double step[3];
    if (!solve_symmetric3(hessian, descent, step)) break;
    const double slope = gradient[0] * step[0] + gradient[1] * step[1] + gradient[2] * step[2];
    const double current = fit_dual(theta, moments, unit);
    double length = 1.0;
    double trial[3] = {};
    double trial_moments[5] = {};
    bool accepted = false;
    // Backtracking only far from the solution; near it the dual is flat to round-off.
    for (int halving = 0; halving < 60 && !accepted; ++halving) {
      for (int k = 0; k < 3; ++k) trial[k] = theta[k] + length * step[k];
      evaluate(trial, trial_moments);
      const double value = fit_dual(trial, trial_moments, unit);
      accepted = is_finite(value) && is_finite(trial_moments[4]) &&
                 (fit.mismatch < 1e-6 || value <= current + 1e-4 * length * slope);
      length *= 0.5;
    }
    if (!accepted) break;
    for (int k = 0; k < 3; ++k) theta[k] = trial[k];
    for (int k = 0; k < 5; ++k) moments[k] = trial_moments[k];
  }
  fit.mismatch = fit_mismatch(moments, unit);
  theta[0] += log(target[0]);
  return fit;
}

}  // namespace phasespace::kernels
