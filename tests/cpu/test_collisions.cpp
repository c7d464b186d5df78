// Collision operators against closed forms: BGK relaxation (given and local Maxwellian),
// golden-rule back-scattering, the rate-matrix exponential, and the impurity transforms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "phasespace/collisions.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/collision.hpp"

namespace phasespace {
namespace {

constexpr double pi = std::numbers::pi;

PhaseSpaceGrid make_grid(std::size_t centres, std::size_t momenta, long k_first, double dp) {
  PhaseSpaceGrid grid;
  grid.centres = centres;
  grid.x0_first = -pi;
  grid.dx0 = 2.0 * pi / static_cast<double>(centres);
  grid.momenta = momenta;
  grid.k_first = k_first;
  grid.dp = dp;
  return grid;
}

template <class Function>
std::vector<double> sample(const PhaseSpaceGrid& grid, Function function) {
  std::vector<double> f(grid.cells());
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) f[c * grid.momenta + j] = function(grid.x0(c), grid.p(j));
  }
  return f;
}

// Σ_j p_j^k f(c, j) for one centre.
double row_moment(const PhaseSpaceGrid& grid, const std::vector<double>& f, std::size_t c, int k) {
  double sum = 0.0;
  for (std::size_t j = 0; j < grid.momenta; ++j) sum += std::pow(grid.p(j), k) * f[c * grid.momenta + j];
  return sum;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

LiouvilleOptions free_options(double dt) {
  LiouvilleOptions options;
  options.dt = dt;
  options.interpolation = parse_interpolation("lagrange5");
  return options;
}

// ------------------------------------------------------------------ BGK

TEST(Relaxation, GivenEquilibriumFollowsTheHomogeneousClosedForm) {
  const auto grid = make_grid(8, 64, -32, 0.25);
  const std::string equilibrium = "exp(-p^2/2)/sqrt(2*_pi)";
  const double relaxation_time = 0.7;
  auto initial = [](double, double p) { return std::exp(-2.0 * (p - 1.0) * (p - 1.0)); };
  auto maxwellian = [](double, double p) { return std::exp(-0.5 * p * p) / std::sqrt(2.0 * pi); };
  // Free streaming leaves an x-independent f alone, so the solver must give the closed form.
  LiouvilleSolver solver(grid, Potential("0", std::string("0")), free_options(0.05),
                         {make_relaxation(relaxation_time, 1.0, equilibrium)});
  auto f = sample(grid, initial);
  solver.advance(f, 0.0, 40);
  const double decay = std::exp(-2.0 / relaxation_time);
  const auto exact = sample(grid, [&](double x, double p) {
    return maxwellian(x, p) + (initial(x, p) - maxwellian(x, p)) * decay;
  });
  EXPECT_LT(max_difference(f, exact), 1e-13);
}

TEST(Relaxation, RejectsBadParameters) {
  EXPECT_THROW(make_relaxation(0.0, 1.0, std::nullopt), InputError);
  EXPECT_THROW(make_relaxation(1.0, -1.0, std::nullopt), InputError);
  EXPECT_THROW(make_relaxation(1.0, 1.0, std::string("exp(-q^2)")), InputError);
}

// A non-Maxwellian, x-dependent distribution: two unequal bumps.
double two_bumps(double x, double p) {
  return (1.0 + 0.5 * std::sin(x)) *
         (std::exp(-(p - 1.5) * (p - 1.5) / 0.5) + 0.5 * std::exp(-(p + 1.0 + 0.3 * std::cos(x)) *
                                                                    (p + 1.0 + 0.3 * std::cos(x)) / 0.3));
}

TEST(Relaxation, LocalMaxwellianConservesDensityMomentumAndEnergyPerCentre) {
  const auto grid = make_grid(16, 96, -48, 0.125);
  const auto collision = make_relaxation(1.0, 1.0, std::nullopt);
  auto f = sample(grid, two_bumps);
  const auto initial = f;
  collision->apply(grid, 0.4, f);
  EXPECT_GT(max_difference(f, initial), 0.01) << "the operator must do something";
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (int k = 0; k <= 2; ++k) {
      const double before = row_moment(grid, initial, c, k);
      const double scale = row_moment(grid, initial, c, 0) * (k == 0 ? 1.0 : 2.0);
      EXPECT_NEAR(row_moment(grid, f, c, k), before, 1e-13 * scale) << "c=" << c << " k=" << k;
    }
  }
  // Long after, each row is the discrete Maxwellian: ln f is a quadratic in p (constant
  // second differences).
  collision->apply(grid, 60.0, f);
  for (std::size_t c = 0; c < grid.centres; c += 5) {
    const double* row = f.data() + c * grid.momenta;
    const double curvature = std::log(row[2]) - 2.0 * std::log(row[1]) + std::log(row[0]);
    for (std::size_t j = 40; j + 2 < 56; ++j) {
      const double second = std::log(row[j + 2]) - 2.0 * std::log(row[j + 1]) + std::log(row[j]);
      EXPECT_NEAR(second, curvature, 1e-9) << "c=" << c << " j=" << j;
    }
  }
}

TEST(Relaxation, LocalMaxwellianLeavesADiscreteMaxwellianAlone) {
  const auto grid = make_grid(4, 40, -20, 0.2);
  auto f = sample(grid, [](double x, double p) { return (2.0 + std::cos(x)) * std::exp(-0.8 * (p - 0.3) * (p - 0.3)); });
  const auto initial = f;
  make_relaxation(0.5, 1.0, std::nullopt)->apply(grid, 1.0, f);
  EXPECT_LT(max_difference(f, initial), 1e-13);
}

TEST(Relaxation, LocalMaxwellianWithTransportConservesTheTotals) {
  // U = 0: streaming conserves every momentum's total, the collisions conserve the moments.
  const auto grid = make_grid(32, 64, -32, 0.15);
  LiouvilleSolver solver(grid, Potential("0", std::string("0")), free_options(0.1),
                         {make_relaxation(0.3, 1.0, std::nullopt)});
  auto f = sample(grid, two_bumps);
  auto totals = [&](const std::vector<double>& g) {
    std::vector<double> moments(3, 0.0);
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (int k = 0; k <= 2; ++k) moments[k] += row_moment(grid, g, c, k);
    }
    return moments;
  };
  const auto before = totals(f);
  const double entropy_before = solver.diagnostics(f).entropy;
  solver.advance(f, 0.0, 10);
  const auto after = totals(f);
  EXPECT_NEAR(after[0], before[0], 1e-12 * before[0]);
  EXPECT_NEAR(after[1], before[1], 1e-12 * before[2]);
  EXPECT_NEAR(after[2], before[2], 1e-12 * before[2]);
  EXPECT_GT(solver.diagnostics(f).entropy, entropy_before);
}

// Two x rows of the issue-14 repro (U = x²/2, ħ = 0.2, p_max = 3, relaxation_time 1) at
// t ≈ 0.1: interpolation noise 1e-21 below the peak, with negative values. No Maxwellian on the
// grid has their moments (the first's variance is below what dp allows at its mean, the second's
// mean lies beyond p_max); the fit used to diverge and turn them into NaN.
const std::vector<double> noise_row_too_cold = {
    -1.033e-28, 5.993e-28,  4.526e-27,  1.395e-26,  2.674e-26,  1.705e-26,  -1.113e-25, -5.865e-25,
    -1.777e-24, -4.033e-24, -7.275e-24, -1.058e-23, -1.224e-23, -1.094e-23, -6.898e-24, -2.539e-24,
    1.485e-24,  -3.967e-24, 2.570e-24,  4.986e-23,  9.274e-23,  4.755e-23,  -6.404e-23, -9.262e-23,
    7.567e-23,  3.791e-22,  6.349e-22,  7.072e-22,  6.029e-22,  4.120e-22,  2.636e-22};
const std::vector<double> noise_row_mean_off_grid = {
    2.791e-29,  -1.478e-28, -9.584e-28, -2.173e-27, -1.439e-27, 1.113e-26,  6.460e-26,  2.184e-25,
    5.527e-25,  1.113e-24,  1.814e-24,  2.380e-24,  2.465e-24,  1.935e-24,  1.098e-24,  3.912e-25,
    2.984e-25,  9.893e-25,  -1.340e-24, -4.207e-25, 1.995e-23,  4.914e-23,  4.230e-23,  -2.252e-23,
    -1.020e-22, -1.273e-22, -7.592e-23, 1.077e-23,  7.647e-23,  9.171e-23,  8.738e-23};

// The repro's momentum grid: 31 momenta, dp = 2πħ/(32 dx) = 0.19635, |p| <= 3.
PhaseSpaceGrid repro_grid(std::size_t centres) {
  auto grid = make_grid(centres, 31, -15, 0.19634954084936207);
  grid.hbar = 0.2;
  return grid;
}

bool all_finite(const std::vector<double>& f) {
  return std::all_of(f.begin(), f.end(), [](double v) { return std::isfinite(v); });
}

TEST(Relaxation, LocalMaxwellianLeavesRowsWithoutOneAsTheyAreAndStaysFinite) {
  const auto grid = repro_grid(3);
  std::vector<double> f;
  f.insert(f.end(), noise_row_too_cold.begin(), noise_row_too_cold.end());
  // A healthy row between them: a non-Maxwellian bump of unit size.
  for (std::size_t j = 0; j < grid.momenta; ++j) f.push_back(two_bumps(0.3, grid.p(j)));
  f.insert(f.end(), noise_row_mean_off_grid.begin(), noise_row_mean_off_grid.end());
  const auto initial = f;
  make_relaxation(1.0, 1.0, std::nullopt)->apply(grid, 0.01, f);
  ASSERT_TRUE(all_finite(f));
  for (std::size_t j = 0; j < grid.momenta; ++j) {
    EXPECT_EQ(f[j], initial[j]) << "too-cold noise row, j = " << j;
    EXPECT_EQ(f[2 * grid.momenta + j], initial[2 * grid.momenta + j]) << "mean-off-grid row, j = " << j;
  }
  EXPECT_GT(max_difference(f, initial), 1e-4) << "the healthy row relaxes";
  for (int k = 0; k <= 2; ++k) {
    const double scale = row_moment(grid, initial, 1, 0) * 9.0;
    EXPECT_NEAR(row_moment(grid, f, 1, k), row_moment(grid, initial, 1, k), 1e-14 * scale) << "k=" << k;
  }
}

TEST(Relaxation, LocalMaxwellianRowsClassifyByWhatTheGridCanHold) {
  using kernels::MaxwellianRow;
  const double dp = 0.5;
  const double first = -2.0;
  const double last = 2.0;
  auto classify = [&](double density, double mean, double variance, bool negative) {
    return kernels::maxwellian_row_class(density, mean, variance, negative, first, last, dp);
  };
  EXPECT_EQ(classify(1.0, 0.1, 0.5, false), MaxwellianRow::relaxed);
  EXPECT_EQ(classify(1.0, 0.1, 0.5, true), MaxwellianRow::relaxed);
  // The smallest variance at mean 0.1 (offset u = 0.2 in its cell): u(1 - u)dp² = 0.04.
  EXPECT_EQ(classify(1.0, 0.1, 0.0401, true), MaxwellianRow::relaxed);
  EXPECT_EQ(classify(1.0, 0.1, 0.0399, true), MaxwellianRow::too_cold);
  EXPECT_EQ(classify(1.0, 0.1, 0.0399, false), MaxwellianRow::at_limit);
  // The largest at mean 0.1: (0.1 + 2)(2 - 0.1) = 3.99.
  EXPECT_EQ(classify(1.0, 0.1, 3.98, true), MaxwellianRow::relaxed);
  EXPECT_EQ(classify(1.0, 0.1, 4.0, true), MaxwellianRow::too_hot);
  EXPECT_EQ(classify(1.0, 2.0, 0.1, true), MaxwellianRow::mean_off_grid);
  EXPECT_EQ(classify(1.0, -2.5, 0.1, true), MaxwellianRow::mean_off_grid);
  EXPECT_EQ(classify(-1e-20, 0.0, 0.0, true), MaxwellianRow::no_mass);
  EXPECT_EQ(classify(0.0, 0.0, 0.0, false), MaxwellianRow::at_limit);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(classify(nan, 0.0, 0.0, false), MaxwellianRow::not_finite);
  EXPECT_EQ(classify(1.0, 0.0, nan, false), MaxwellianRow::not_finite);
}

// Rows at the edges of what the grid holds, at any scale of f: relaxed ones keep their moments
// to round-off, rows at the limit (a single momentum, weight e^-40 beside it) stay as they are.
TEST(Relaxation, LocalMaxwellianConservesOnNarrowWideAndExtremeRows) {
  const auto grid = make_grid(1, 41, -20, 0.1);
  auto check = [&](std::vector<double> row, const std::string& what) -> std::vector<double> {
    const auto initial = row;
    make_relaxation(0.5, 1.0, std::nullopt)->apply(grid, 2.0, row);
    EXPECT_TRUE(all_finite(row)) << what;
    const double mass = row_moment(grid, initial, 0, 0);
    for (int k = 0; k <= 2; ++k) {
      EXPECT_NEAR(row_moment(grid, row, 0, k), row_moment(grid, initial, 0, k), 1e-13 * mass * 4.0)
          << what << ", k = " << k;
    }
    return row;
  };
  for (double scale : {1e-300, 1e-30, 1.0, 1e30, 1e300}) {
    const std::string at = " at scale " + format_number(scale);
    std::vector<double> narrow(grid.momenta, 0.0);  // four momenta, spread below dp
    std::vector<double> wide(grid.momenta, 0.0);    // mass piled at both ends
    std::vector<double> edge(grid.momenta, 0.0);    // mean near p_max
    std::vector<double> single(grid.momenta, 0.0);  // one momentum and e^-40 beside it
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double p = grid.p(j);
      wide[j] = scale * (std::exp(6.0 * p * p) * 1e-10 + 1e-3);
      edge[j] = scale * (std::exp(40.0 * (p - 2.0)) + 1e-3 * std::exp(-p * p));
      single[j] = j == 20 ? scale : (j == 19 || j == 21 ? scale * std::exp(-40.0) : 0.0);
    }
    narrow[19] = 0.01 * scale;
    narrow[20] = scale;
    narrow[21] = 0.5 * scale;
    narrow[22] = 0.002 * scale;
    const auto relaxed_narrow = check(narrow, "narrow" + at);
    EXPECT_GT(max_difference(relaxed_narrow, narrow), 1e-3 * scale) << "narrow" + at;
    check(wide, "wide" + at);
    check(edge, "edge" + at);
    EXPECT_EQ(check(single, "single" + at), single);
  }
}

TEST(Relaxation, LocalMaxwellianStopsWhenRowsWithoutOneHoldMass) {
  // A row with a net negative sum of order one beside a healthy row: no Maxwellian, and too
  // much mass to leave unrelaxed silently.
  const auto grid = repro_grid(2);
  std::vector<double> f(grid.cells());
  for (std::size_t j = 0; j < grid.momenta; ++j) {
    f[j] = two_bumps(0.3, grid.p(j));
    f[grid.momenta + j] = -0.01 * two_bumps(0.3, grid.p(j));
  }
  try {
    make_relaxation(1.0, 1.0, std::nullopt)->apply(grid, 0.01, f);
    FAIL() << "a heavy row without a Maxwellian was left unrelaxed silently";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("x0 = " + format_number(grid.x0(1))), std::string::npos) << message;
    EXPECT_NE(message.find("not positive"), std::string::npos) << message;
  }
  // f that is not finite names its row.
  std::vector<double> g(grid.cells(), 1.0);
  g[grid.momenta + 3] = std::numeric_limits<double>::quiet_NaN();
  try {
    make_relaxation(1.0, 1.0, std::nullopt)->apply(grid, 0.01, g);
    FAIL() << "NaN in f went through the relaxation";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("x0 = " + format_number(grid.x0(1))), std::string::npos)
        << error.what();
  }
}

// ------------------------------------------------------------------ back-scattering

TEST(Backscattering, OddPartDecaysEvenPartStaysAndEntropyGrows) {
  const auto grid = make_grid(4, 65, -32, 0.1);  // symmetric: p = -3.2 .. 3.2
  ASSERT_TRUE(grid.momentum_symmetric());
  const ImpurityShape delta{ImpurityShape::Kind::delta, 0.3, 0.0, ""};
  const double density = 2.0;
  LiouvilleSolver solver(grid, Potential("0", std::string("0")), free_options(0.05),
                         {make_backscattering(delta, density, 1.0, 1.0)});
  auto initial = [](double, double p) { return std::exp(-(p - 1.0) * (p - 1.0)); };
  auto f = sample(grid, initial);
  double entropy = solver.diagnostics(f).entropy;
  for (int step = 0; step < 20; ++step) {
    solver.advance(f, 0.05 * step, 1);
    const double next = solver.diagnostics(f).entropy;
    EXPECT_GE(next, entropy - 1e-14 * std::fabs(entropy)) << "step " << step;
    entropy = next;
  }
  const double time = 1.0;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double p = grid.p(j);
      const double even = 0.5 * (initial(0.0, p) + initial(0.0, -p));
      double odd = 0.5 * (initial(0.0, p) - initial(0.0, -p));
      if (p != 0.0) odd *= std::exp(-2.0 * density * 0.09 / std::fabs(p) * time);
      EXPECT_NEAR(f[c * grid.momenta + j], even + odd, 1e-13) << "p=" << p;
    }
  }
}

TEST(Backscattering, NeedsAMomentumSymmetricGrid) {
  const auto grid = make_grid(4, 64, -32, 0.1);
  std::vector<double> f(grid.cells(), 1.0);
  const auto collision = make_backscattering({}, 1.0, 1.0, 1.0);
  try {
    collision->apply(grid, 0.1, f);
    FAIL() << "an asymmetric grid was accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("symmetric"), std::string::npos);
  }
}

TEST(Backscattering, DeltaRateIsTheGoldenRule) {
  const ImpurityShape delta{ImpurityShape::Kind::delta, 0.7, 0.0, ""};
  for (double p : {0.1, -0.5, 2.0}) {
    for (double hbar : {1.0, 0.05}) {
      const double expected = 3.0 * 1.5 * 0.49 / (hbar * hbar * std::fabs(p));
      EXPECT_NEAR(backscattering_rate(delta, 3.0, 1.5, hbar, p), expected, 1e-14 * expected);
    }
  }
}

TEST(ImpurityFourier, GaussianMatchesItsClosedFormAndTheQuadrature) {
  const double strength = 0.8;
  const double width = 0.3;
  const ImpurityShape gaussian{ImpurityShape::Kind::gaussian, strength, width, ""};
  const ImpurityShape expression{ImpurityShape::Kind::expression, 1.0, 12.0 * width,
                                 "0.8*exp(-x^2/(2*0.3^2))/(sqrt(2*_pi)*0.3)"};
  for (double hbar : {1.0, 0.1}) {
    for (double q : {0.0, 0.2, 1.0, 3.0}) {
      const double exact = strength * std::exp(-q * q * width * width / (2.0 * hbar * hbar));
      EXPECT_NEAR(impurity_fourier(gaussian, q, hbar), exact, 1e-15);
      EXPECT_NEAR(impurity_fourier(expression, q, hbar), exact, 1e-12) << "q=" << q << " hbar=" << hbar;
    }
  }
  const double rate = backscattering_rate(expression, 2.0, 1.0, 0.1, 0.5);
  const double vtilde = strength * std::exp(-1.0 * width * width / (2.0 * 0.01));
  EXPECT_NEAR(rate, 2.0 * vtilde * vtilde / (0.01 * 0.5), 1e-10 * rate);
  // An odd part makes Ṽ complex: |Ṽ|² counts the sine transform too.
  const ImpurityShape shifted{ImpurityShape::Kind::expression, 1.0, 12.0,
                              "exp(-(x-0.5)^2/2)/sqrt(2*_pi)"};
  EXPECT_NEAR(backscattering_rate(shifted, 1.0, 1.0, 1.0, 0.5), std::exp(-1.0) / 0.5, 1e-10);
}

TEST(ImpurityFourier, RejectsIncompleteShapes) {
  const ImpurityShape no_width{ImpurityShape::Kind::gaussian, 1.0, 0.0, ""};
  try {
    impurity_fourier(no_width, 1.0, 1.0);
    FAIL() << "a Gaussian of zero width was accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("impurity.width"), std::string::npos);
  }
  EXPECT_THROW(impurity_fourier({ImpurityShape::Kind::expression, 1.0, 1.0, ""}, 1.0, 1.0), InputError);
  EXPECT_THROW(make_backscattering({}, -1.0, 1.0, 1.0), InputError);
}

// ------------------------------------------------------------------ rate matrix

std::vector<std::vector<double>> random_generator(std::size_t n, unsigned seed, bool symmetric) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 2.0);
  std::vector<std::vector<double>> generator(n, std::vector<double>(n, 0.0));
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t l = 0; l < n; ++l) {
      if (k == l) continue;
      generator[k][l] = symmetric && l < k ? generator[l][k] : uniform(engine);
    }
  }
  for (std::size_t l = 0; l < n; ++l) {
    double outflow = 0.0;
    for (std::size_t k = 0; k < n; ++k) outflow += k == l ? 0.0 : generator[k][l];
    generator[l][l] = -outflow;
  }
  return generator;
}

// df/dt = G f by RK4 in small steps (the reference for the exponential).
std::vector<double> integrate(const std::vector<std::vector<double>>& generator,
                              std::vector<double> f, double time) {
  const std::size_t n = f.size();
  const int steps = 4000;
  const double h = time / steps;
  auto rate = [&](const std::vector<double>& g) {
    std::vector<double> out(n, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
      for (std::size_t l = 0; l < n; ++l) out[k] += generator[k][l] * g[l];
    }
    return out;
  };
  auto add = [&](const std::vector<double>& a, const std::vector<double>& b, double scale) {
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + scale * b[i];
    return out;
  };
  for (int s = 0; s < steps; ++s) {
    const auto k1 = rate(f);
    const auto k2 = rate(add(f, k1, 0.5 * h));
    const auto k3 = rate(add(f, k2, 0.5 * h));
    const auto k4 = rate(add(f, k3, h));
    for (std::size_t i = 0; i < n; ++i) f[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
  }
  return f;
}

TEST(RateMatrix, ExponentialConservesMassAndMatchesTheOde) {
  const std::size_t n = 7;
  const auto grid = make_grid(3, n, -3, 1.0);
  const auto generator = random_generator(n, 11, false);
  const auto collision = make_rate_matrix(generator);
  std::mt19937 engine(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> f(grid.cells());
  for (double& value : f) value = uniform(engine);
  const auto initial = f;
  collision->apply(grid, 0.8, f);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    double before = 0.0;
    double after = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      before += initial[c * n + j];
      after += f[c * n + j];
      EXPECT_GE(f[c * n + j], 0.0);
    }
    EXPECT_NEAR(after, before, 1e-14 * before) << "columns conserve mass";
    const std::vector<double> row(initial.begin() + static_cast<long>(c * n),
                                  initial.begin() + static_cast<long>((c + 1) * n));
    const auto reference = integrate(generator, row, 0.8);
    for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(f[c * n + j], reference[j], 1e-11);
  }
  // Semigroup: two steps of 0.3 and 0.5 equal one of 0.8.
  auto g = initial;
  collision->apply(grid, 0.3, g);
  collision->apply(grid, 0.5, g);
  EXPECT_LT(max_difference(f, g), 1e-13);
}

TEST(RateMatrix, TwoStatesFollowTheClosedForm) {
  const double a = 3.0;  // rate 0 → 1
  const double b = 0.5;  // rate 1 → 0
  const auto collision = make_rate_matrix({{-a, b}, {a, -b}});
  const auto grid = make_grid(1, 2, 0, 1.0);
  std::vector<double> f = {1.0, 0.0};
  const double time = 2.7;  // many squarings: (a + b) t ≈ 9.5
  collision->apply(grid, time, f);
  const double stationary = b / (a + b);
  EXPECT_NEAR(f[0], stationary + (1.0 - stationary) * std::exp(-(a + b) * time), 1e-14);
  EXPECT_NEAR(f[0] + f[1], 1.0, 1e-14);
}

TEST(RateMatrix, SymmetricRatesKeepTheUniformStateAndRowsSumToZero) {
  const std::size_t n = 9;
  const auto generator = random_generator(n, 3, true);
  for (const auto& row : generator) {
    double sum = 0.0;
    for (double value : row) sum += value;
    EXPECT_NEAR(sum, 0.0, 1e-14);
  }
  const auto grid = make_grid(2, n, -4, 1.0);
  std::vector<double> f(grid.cells(), 0.25);
  make_rate_matrix(generator)->apply(grid, 5.0, f);
  for (double value : f) EXPECT_NEAR(value, 0.25, 1e-14);
}

TEST(RateMatrix, RejectsWhatIsNotAGenerator) {
  EXPECT_THROW(make_rate_matrix({{-1.0, 1.0}, {1.0}}), InputError);             // not square
  EXPECT_THROW(make_rate_matrix({{-1.0, -1.0}, {1.0, 1.0}}), InputError);       // negative rate
  EXPECT_THROW(make_rate_matrix({{-1.0, 2.0}, {1.5, -2.0}}), InputError);       // column sum ≠ 0
  const auto collision = make_rate_matrix({{-1.0, 2.0}, {1.0, -2.0}});
  std::vector<double> f(9, 1.0);
  EXPECT_THROW(collision->apply(make_grid(3, 3, -1, 1.0), 0.1, f), InputError);  // wrong size
}

TEST(RateMatrix, GoldenRuleOnASymmetricGridIsBackscattering) {
  auto grid = make_grid(3, 33, -16, 0.2);
  grid.hbar = 0.5;
  const ImpurityShape gaussian{ImpurityShape::Kind::gaussian, 0.4, 0.2, ""};
  const auto generator = golden_rule_generator(grid, gaussian, 1.5, 1.0);
  for (std::size_t l = 0; l < grid.momenta; ++l) {
    double column = 0.0;
    double row = 0.0;
    for (std::size_t k = 0; k < grid.momenta; ++k) {
      column += generator[k][l];
      row += generator[l][k];
    }
    EXPECT_NEAR(column, 0.0, 1e-12);
    EXPECT_NEAR(row, 0.0, 1e-12) << "W(p) = W(-p): rows sum to zero too";
  }
  auto f = sample(grid, [](double x, double p) { return (1.5 + std::sin(x)) * std::exp(-(p - 1.0) * (p - 1.0)); });
  auto g = f;
  make_rate_matrix(generator)->apply(grid, 0.3, f);
  make_backscattering(gaussian, 1.5, 1.0, 0.5)->apply(grid, 0.3, g);
  EXPECT_LT(max_difference(f, g), 1e-13);
}

TEST(RateMatrix, GoldenRuleKeepsTheTotalRateOnAnyGrid) {
  auto grid = make_grid(1, 40, -20, 0.15);  // p = -3 .. 2.85: mirrors fall between cells
  const ImpurityShape delta{ImpurityShape::Kind::delta, 0.3, 0.0, ""};
  const auto generator = golden_rule_generator(grid, delta, 2.0, 1.0);
  for (std::size_t l = 1; l < grid.momenta; ++l) {
    const double p = grid.p(l);
    if (p == 0.0) continue;
    EXPECT_NEAR(-generator[l][l], backscattering_rate(delta, 2.0, 1.0, 1.0, p), 1e-12) << "p=" << p;
  }
}

// ------------------------------------------------------------------ tables for the CUDA backend

// An operator made outside collisions.hpp: the CUDA backend has no device version of it.
class CustomCollision final : public CollisionOperator {
 public:
  void apply(const PhaseSpaceGrid&, double, std::span<double>) const override {}
  std::string name() const override { return "custom"; }
};

TEST(CollisionTables, KindsAreRecognisedAndForeignOperatorsAreNot) {
  const ImpurityShape delta{ImpurityShape::Kind::delta, 0.3, 0.0, ""};
  EXPECT_EQ(collision_kind(*make_relaxation(1.0, 1.0, std::string("exp(-p^2)"))),
            CollisionKind::given_relaxation);
  EXPECT_EQ(collision_kind(*make_relaxation(1.0, 1.0, std::nullopt)),
            CollisionKind::maxwellian_relaxation);
  EXPECT_EQ(collision_kind(*make_backscattering(delta, 1.0, 1.0, 0.5)), CollisionKind::backscattering);
  EXPECT_EQ(collision_kind(*make_rate_matrix({{-1.0, 2.0}, {1.0, -2.0}})), CollisionKind::rate_matrix);
  const CustomCollision custom;
  EXPECT_FALSE(collision_kind(custom).has_value());
  EXPECT_THROW(collision_factors(custom, make_grid(2, 3, -1, 1.0), 0.1), Error);
  EXPECT_THROW(relaxation_equilibrium(custom, make_grid(2, 3, -1, 1.0)), Error);
}

// The tables are what apply() multiplies by, so a backend using them applies the same operator.
TEST(CollisionTables, FactorsAreWhatApplyUses) {
  auto grid = make_grid(5, 41, -20, 0.15);
  grid.hbar = 0.5;
  const double tau = 0.3;
  const ImpurityShape gaussian{ImpurityShape::Kind::gaussian, 0.4, 0.2, ""};

  const auto given = make_relaxation(0.7, 1.0, std::string("exp(-p^2/2)*(1 + 0.5*cos(x))"));
  EXPECT_EQ(collision_factors(*given, grid, tau), std::vector<double>{std::exp(-tau / 0.7)});
  const auto equilibrium = relaxation_equilibrium(*given, grid);
  ASSERT_EQ(equilibrium.size(), grid.cells());
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; j += 7) {
      const double expected = std::exp(-grid.p(j) * grid.p(j) / 2) * (1 + 0.5 * std::cos(grid.x0(c)));
      EXPECT_NEAR(equilibrium[c * grid.momenta + j], expected, 1e-15) << "c=" << c << " j=" << j;
    }
  }
  EXPECT_EQ(collision_factors(*make_relaxation(0.7, 1.0, std::nullopt), grid, tau),
            std::vector<double>{std::exp(-tau / 0.7)});

  const auto backscattering = make_backscattering(gaussian, 1.5, 1.0, grid.hbar);
  const auto decay = collision_factors(*backscattering, grid, tau);
  ASSERT_EQ(decay.size(), grid.momenta / 2);
  for (std::size_t j = 0; j < decay.size(); ++j) {
    const double rate = backscattering_rate(gaussian, 1.5, 1.0, grid.hbar, grid.p(j));
    EXPECT_EQ(decay[j], std::exp(-2.0 * rate * tau)) << "j=" << j;
  }
  EXPECT_THROW(collision_factors(*backscattering, make_grid(2, 40, -20, 0.15), tau), InputError);

  // exp(Gτ) applied to a unit row gives its column.
  const auto matrix = make_rate_matrix(golden_rule_generator(grid, gaussian, 1.5, 1.0));
  const auto propagator = collision_factors(*matrix, grid, tau);
  const std::size_t n = grid.momenta;
  ASSERT_EQ(propagator.size(), n * n);
  for (std::size_t l : {std::size_t{0}, std::size_t{13}, n - 1}) {
    std::vector<double> f(grid.cells(), 0.0);
    f[l] = 1.0;
    matrix->apply(grid, tau, f);
    for (std::size_t k = 0; k < n; ++k) EXPECT_EQ(f[k], propagator[k * n + l]) << "k=" << k << " l=" << l;
  }
  EXPECT_THROW(collision_factors(*matrix, grid, -0.1), InputError);
}

}  // namespace
}  // namespace phasespace
