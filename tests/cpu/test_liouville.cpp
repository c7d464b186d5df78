// Semi-Lagrangian Liouville solver against exact solutions: line shifts, free streaming,
// harmonic rotation (with measured orders in dt and in the grid), pendulum flow against
// characteristics integrated backwards, conservation and the momentum boundary.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "phasespace/errors.hpp"
#include "phasespace/kernels/lagrange.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace {
namespace {

constexpr double pi = std::numbers::pi;

PhaseSpaceGrid square_grid(std::size_t centres, double x_first, double dx0, std::size_t momenta,
                           long k_first, double dp) {
  PhaseSpaceGrid grid;
  grid.centres = centres;
  grid.x0_first = x_first;
  grid.dx0 = dx0;
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

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

double sum(const std::vector<double>& values) {
  double total = 0.0;
  for (double value : values) total += value;
  return total;
}

const std::vector<std::string> all_interpolations = {"lagrange3", "lagrange5", "lagrange7",
                                                     "lagrange9", "spline", "spectral"};

LiouvilleOptions options_for(const std::string& interpolation, double dt, Scheme scheme) {
  LiouvilleOptions options;
  options.dt = dt;
  options.scheme = scheme;
  options.interpolation = parse_interpolation(interpolation);
  return options;
}

// ------------------------------------------------------------------ names

TEST(Interpolation, ParsesNamesAndRejectsBadOnes) {
  for (const auto& name : all_interpolations) EXPECT_EQ(to_string(parse_interpolation(name)), name);
  EXPECT_EQ(parse_interpolation("lagrange7").order, 7);
  EXPECT_EQ(parse_interpolation("spline").kind, InterpolationKind::spline);
  for (const std::string bad : {"lagrange4", "lagrange11", "lagrange1", "cubic", ""}) {
    try {
      parse_interpolation(bad, "classical.interpolation");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find("classical.interpolation"), std::string::npos);
      EXPECT_NE(std::string(error.what()).find("lagrange5"), std::string::npos) << "lists allowed";
    }
  }
  EXPECT_EQ(parse_momentum_boundary("zero"), MomentumBoundary::zero);
  EXPECT_EQ(parse_momentum_boundary("periodic"), MomentumBoundary::periodic);
  EXPECT_THROW(parse_momentum_boundary("reflecting"), InputError);
}

TEST(Interpolation, SolverRejectsAnEvenOrOutOfRangeLagrangeOrder) {
  const auto grid = square_grid(8, 0.0, 1.0, 8, -4, 1.0);
  for (int order : {4, 1, 11}) {
    LiouvilleOptions options;
    options.interpolation = {InterpolationKind::lagrange, order};
    try {
      LiouvilleSolver solver(grid, Potential("0"), options);
      ADD_FAILURE() << "order " << order << " was accepted";
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find("classical.interpolation"), std::string::npos);
    }
  }
}

// ------------------------------------------------------------------ line shifts

std::vector<double> random_line(std::size_t n, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> line(n);
  for (double& value : line) value = uniform(generator);
  return line;
}

TEST(ShiftLine, IntegerShiftsMoveSamplesExactly) {
  const auto line = random_line(37, 1);
  for (const auto& name : all_interpolations) {
    std::vector<double> out(line.size());
    shift_line(parse_interpolation(name), line, out, 5.0, false);
    for (std::size_t i = 0; i < line.size(); ++i) {
      EXPECT_NEAR(out[i], line[(i + line.size() - 5) % line.size()], 1e-13) << name << " i=" << i;
    }
  }
}

// Error of shifting exp(sin(2πx/n)) sampled on n points by `shift` cells.
double periodic_shift_error(const Interpolation& interpolation, std::size_t n, double shift) {
  std::vector<double> line(n);
  std::vector<double> exact(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i) / static_cast<double>(n);
    line[i] = std::exp(std::sin(2.0 * pi * x));
    exact[i] = std::exp(std::sin(2.0 * pi * (x - shift / static_cast<double>(n))));
  }
  std::vector<double> out(n);
  shift_line(interpolation, line, out, shift, false);
  return max_difference(out, exact);
}

TEST(ShiftLine, SmoothLineConvergesAtTheOrderOfTheInterpolation) {
  // A shift by a fixed fraction of a cell: error ∝ h^(points) for Lagrange, h^4 for the spline.
  for (const auto& [name, expected] : std::vector<std::pair<std::string, double>>{
           {"lagrange3", 4.0}, {"lagrange5", 6.0}, {"lagrange7", 8.0}, {"lagrange9", 10.0},
           {"spline", 4.0}}) {
    const auto interpolation = parse_interpolation(name);
    const double coarse = periodic_shift_error(interpolation, 32, 3.4);
    const double fine = periodic_shift_error(interpolation, 64, 3.4);
    const double observed = std::log2(coarse / fine);
    EXPECT_GT(observed, expected - 0.5) << name << " errors " << coarse << " " << fine;
    EXPECT_LT(observed, expected + 1.0) << name << " errors " << coarse << " " << fine;
  }
  EXPECT_LT(periodic_shift_error(parse_interpolation("spectral"), 32, 3.4), 1e-13);
}

TEST(ShiftLine, PeriodicShiftConservesTheSumForEveryInterpolation) {
  for (std::size_t n : {std::size_t{31}, std::size_t{64}}) {
    const auto line = random_line(n, 7);
    for (const auto& name : all_interpolations) {
      for (double shift : {0.3, 7.77, -123.61}) {
        std::vector<double> out(n);
        shift_line(parse_interpolation(name), line, out, shift, false);
        EXPECT_NEAR(sum(out), sum(line), 1e-13 * sum(line)) << name << " n=" << n << " shift=" << shift;
      }
    }
  }
}

// Lengths 128 and 131: a prime length pads (spectral) to a 7-smooth length other than 2·n.
TEST(ShiftLine, ZeroOutsideKeepsWhatStaysAndLosesWhatLeaves) {
  for (const std::size_t n : {std::size_t{128}, std::size_t{131}}) {
    const std::size_t centre = n / 2;
    std::vector<double> bump(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double u = (static_cast<double>(i) - static_cast<double>(centre)) / 6.0;
      bump[i] = std::exp(-0.5 * u * u);
    }
    for (const auto& name : all_interpolations) {
      SCOPED_TRACE(name + ", n = " + std::to_string(n));
      const auto interpolation = parse_interpolation(name);
      std::vector<double> out(n);
      shift_line(interpolation, bump, out, 10.5, true);  // stays inside
      EXPECT_NEAR(sum(out), sum(bump), 1e-9 * sum(bump));
      EXPECT_NEAR(out[centre + 11], std::exp(-0.5 * (0.5 / 6.0) * (0.5 / 6.0)), 2e-3);
      // The half beyond the centre leaves (the centre lands just past the last sample).
      shift_line(interpolation, bump, out, static_cast<double>(n - centre), true);
      EXPECT_NEAR(sum(out), 0.5 * sum(bump) - 0.5, 1e-9 * sum(bump));
      shift_line(interpolation, bump, out, -200.0, true);  // all of it leaves
      EXPECT_LT(*std::max_element(out.begin(), out.end()), 1e-12);
      // A whole shift moves samples exactly; what leaves must not come back round (a
      // spectral line padded to less than 2·n would wrap the ones into the first samples).
      const std::vector<double> ones(n, 1.0);
      const std::size_t whole = n - 3;
      shift_line(interpolation, ones, out, static_cast<double>(whole), true);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(out[i], i >= whole ? 1.0 : 0.0, 1e-12) << "sample " << i;
      }
    }
  }
}

// ------------------------------------------------------------------ free streaming

TEST(Liouville, FreeStreamingMatchesTheShearedSolution) {
  const std::size_t n = 64;
  const auto grid = square_grid(n, -pi, 2.0 * pi / n, n, -32, 0.125);
  const double mass = 1.3;
  auto initial = [](double x, double p) { return std::exp(std::cos(x)) * std::exp(-0.5 * p * p); };
  const double time = 1.7;
  // Periodic in x: the exact solution is f0(x - pt/m, p) with cos periodic.
  const auto exact = sample(grid, [&](double x, double p) { return initial(x - p * time / mass, p); });
  for (const auto& [name, tolerance] : std::vector<std::pair<std::string, double>>{
           {"lagrange3", 2e-3}, {"lagrange5", 1e-4}, {"lagrange9", 1e-6}, {"spline", 1e-3},
           {"spectral", 1e-12}}) {
    auto options = options_for(name, 0.1, Scheme::strang);
    options.mass = mass;
    LiouvilleSolver solver(grid, Potential("0", std::string("0")), options);
    auto f = sample(grid, initial);
    solver.advance(f, 0.0, 17);
    EXPECT_LT(max_difference(f, exact), tolerance) << name;
  }
}

// ------------------------------------------------------------------ harmonic rotation

// Harmonic oscillator m = ω = 1 on [-6, 6)²: a Gaussian at (1.5, 0) of width 0.5 rotates once
// per period 2π. The potential's sawtooth at x = ±6 is where f is below 1e-30.
struct Harmonic {
  static double initial(double x, double p) {
    const double u = (x - 1.5) / 0.5;
    const double v = p / 0.5;
    return std::exp(-0.5 * (u * u + v * v));
  }
  static PhaseSpaceGrid grid(std::size_t n) {
    return square_grid(n, -6.0, 12.0 / static_cast<double>(n), n, -static_cast<long>(n / 2),
                       12.0 / static_cast<double>(n));
  }
  static double error_after_period(const std::string& interpolation, std::size_t n,
                                   std::size_t steps, Scheme scheme) {
    const auto phase_space = grid(n);
    LiouvilleSolver solver(phase_space, Potential("x^2/2", std::string("x")),
                           options_for(interpolation, 2.0 * pi / static_cast<double>(steps), scheme));
    auto f = sample(phase_space, initial);
    solver.advance(f, 0.0, steps);
    return max_difference(f, sample(phase_space, initial));
  }
};

TEST(Liouville, HarmonicRotationConvergesInTimeAtSecondOrderForStrang) {
  // Spectral shifts on a fine grid leave only the splitting error.
  const double e16 = Harmonic::error_after_period("spectral", 96, 16, Scheme::strang);
  const double e32 = Harmonic::error_after_period("spectral", 96, 32, Scheme::strang);
  const double e64 = Harmonic::error_after_period("spectral", 96, 64, Scheme::strang);
  EXPECT_NEAR(std::log2(e16 / e32), 2.0, 0.25) << e16 << " " << e32;
  EXPECT_NEAR(std::log2(e32 / e64), 2.0, 0.15) << e32 << " " << e64;
}

TEST(Liouville, HarmonicRotationConvergesInTimeAtFourthOrderForYoshida) {
  const double e8 = Harmonic::error_after_period("spectral", 96, 8, Scheme::yoshida4);
  const double e16 = Harmonic::error_after_period("spectral", 96, 16, Scheme::yoshida4);
  const double e32 = Harmonic::error_after_period("spectral", 96, 32, Scheme::yoshida4);
  EXPECT_NEAR(std::log2(e16 / e32), 4.0, 0.4) << e8 << " " << e16 << " " << e32;
  EXPECT_GT(std::log2(e8 / e16), 3.0) << e8 << " " << e16;
  EXPECT_LT(e32, 2e-3);
}

TEST(Liouville, HarmonicRotationReturnsAfterOnePeriod) {
  EXPECT_LT(Harmonic::error_after_period("lagrange7", 128, 64, Scheme::yoshida4), 1.5e-4);
  EXPECT_LT(Harmonic::error_after_period("spectral", 128, 64, Scheme::yoshida4), 1e-4);
  EXPECT_LT(Harmonic::error_after_period("spline", 128, 64, Scheme::yoshida4), 3e-3);
}

// The Strang map of the oscillator is linear, M = X(dt/2) P(dt) X(dt/2); the scheme with exact
// shifts gives f0(M^{-n} z). Comparing with that isolates the interpolation error.
double harmonic_interpolation_error(const std::string& interpolation, std::size_t n) {
  const std::size_t steps = 10;
  const double dt = 2.0 * pi / 10.0;  // 10 steps per period
  const auto grid = Harmonic::grid(n);
  LiouvilleSolver solver(grid, Potential("x^2/2", std::string("x")),
                         options_for(interpolation, dt, Scheme::strang));
  auto f = sample(grid, Harmonic::initial);
  solver.advance(f, 0.0, steps);
  // Inverse of one step: X(-dt/2) P(-dt) X(-dt/2), as a matrix on (x, p).
  using M2 = std::array<double, 4>;
  auto product = [](const M2& a, const M2& b) {
    return M2{a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
              a[2] * b[1] + a[3] * b[3]};
  };
  const M2 drift_back = {1.0, -0.5 * dt, 0.0, 1.0};
  const M2 kick_back = {1.0, 0.0, dt, 1.0};
  const M2 step_back = product(drift_back, product(kick_back, drift_back));
  M2 back = {1.0, 0.0, 0.0, 1.0};
  for (std::size_t s = 0; s < steps; ++s) back = product(step_back, back);
  const auto exact = sample(grid, [&](double x, double p) {
    return Harmonic::initial(back[0] * x + back[1] * p, back[2] * x + back[3] * p);
  });
  return max_difference(f, exact);
}

TEST(Liouville, HarmonicRotationConvergesInTheGridAtTheInterpolationOrder) {
  for (const auto& [name, expected] : std::vector<std::pair<std::string, double>>{
           {"lagrange3", 4.0}, {"lagrange5", 6.0}, {"spline", 4.0}}) {
    const double coarse = harmonic_interpolation_error(name, 64);
    const double fine = harmonic_interpolation_error(name, 128);
    const double observed = std::log2(coarse / fine);
    EXPECT_GT(observed, expected - 0.7) << name << " errors " << coarse << " " << fine;
    EXPECT_LT(observed, expected + 1.2) << name << " errors " << coarse << " " << fine;
  }
  EXPECT_LT(harmonic_interpolation_error("spectral", 64), 1e-11);
}

// ------------------------------------------------------------------ pendulum

// Pendulum H = p²/2 + 1 - cos x on the periodic cell [-π, π), p in [-π, π).
struct Pendulum {
  // A Gaussian at (1, 0.5), periodic in x (the nearest image; the kink at 10σ is below 1e-20).
  static double initial(double x, double p) {
    const double u = std::remainder(x - 1.0, 2.0 * pi) / 0.3;
    const double v = (p - 0.5) / 0.3;
    return std::exp(-0.5 * (u * u + v * v));
  }
  // f(z, t) = f0(Φ_{-t}(z)): Hamilton's equations integrated backwards by RK4 in small steps.
  static double exact(double x, double p, double time) {
    const std::size_t steps = 250;
    const double h = -time / static_cast<double>(steps);
    auto velocity = [](double xx, double pp) { return std::array<double, 2>{pp, -std::sin(xx)}; };
    for (std::size_t s = 0; s < steps; ++s) {
      const auto k1 = velocity(x, p);
      const auto k2 = velocity(x + 0.5 * h * k1[0], p + 0.5 * h * k1[1]);
      const auto k3 = velocity(x + 0.5 * h * k2[0], p + 0.5 * h * k2[1]);
      const auto k4 = velocity(x + h * k3[0], p + h * k3[1]);
      x += h * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]) / 6.0;
      p += h * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]) / 6.0;
    }
    return initial(x, p);
  }
};

TEST(Liouville, PendulumFlowMatchesBackwardCharacteristics) {
  const std::size_t n = 128;
  const auto grid = square_grid(n, -pi, 2.0 * pi / n, n, -64, 2.0 * pi / n);
  // By t = 2.5 the blob is sheared but resolved; later its tails near the separatrix grow
  // filaments thinner than the grid.
  const double time = 2.5;
  const auto exact = sample(grid, [&](double x, double p) { return Pendulum::exact(x, p, time); });
  for (const auto& [name, tolerance] : std::vector<std::pair<std::string, double>>{
           {"lagrange7", 1e-3}, {"lagrange9", 5e-4}, {"spline", 3e-3}, {"spectral", 2e-5}}) {
    LiouvilleSolver solver(grid, Potential("1 - cos(x)", std::string("sin(x)")),
                           options_for(name, 0.05, Scheme::yoshida4));
    auto f = sample(grid, Pendulum::initial);
    solver.advance(f, 0.0, 50);
    EXPECT_LT(max_difference(f, exact), tolerance) << name << " " << max_difference(f, exact);
  }
}

// ------------------------------------------------------------------ conservation, boundary

TEST(Liouville, MassIsConservedWithPeriodicBoundariesForEveryInterpolation) {
  const std::size_t n = 48;
  const auto grid = square_grid(n, -pi, 2.0 * pi / n, n + 2, -25, 0.11);
  const auto initial = random_line(grid.cells(), 3);  // rough data: no smoothness to lean on
  for (const auto& name : all_interpolations) {
    for (Scheme scheme : {Scheme::strang, Scheme::yoshida4}) {
      LiouvilleSolver solver(grid, Potential("1 - cos(x)", std::string("sin(x)")),
                             options_for(name, 0.37, scheme));
      auto f = initial;
      const double before = solver.diagnostics(f).mass;
      solver.advance(f, 0.0, 6);
      EXPECT_NEAR(solver.diagnostics(f).mass, before, 1e-12 * before) << name;
      EXPECT_EQ(solver.mass_lost(), 0.0);
    }
  }
}

TEST(Liouville, ZeroMomentumBoundaryReportsTheMassThatLeaves) {
  const std::size_t n = 32;
  const auto grid = square_grid(n, -pi, 2.0 * pi / n, 64, -32, 0.1);  // p in [-3.2, 3.1]
  for (const auto& name : all_interpolations) {
    auto options = options_for(name, 0.1, Scheme::strang);
    options.momentum_boundary = MomentumBoundary::zero;
    // U = -x: a constant force +1 pushes the distribution out through p = 3.1.
    LiouvilleSolver solver(grid, Potential("-x", std::string("-1")), options);
    auto f = sample(grid, [](double, double p) { return std::exp(-0.5 * (p - 1.5) * (p - 1.5) / 0.09); });
    const double before = solver.diagnostics(f).mass;
    solver.advance(f, 0.0, 15);  // the centre moves to p = 3
    const double after = solver.diagnostics(f).mass;
    EXPECT_NEAR(after + solver.mass_lost(), before, 1e-12 * before) << name;
    // Beyond the last cell's edge p = 3.15 lies the fraction 1 - Φ(0.15/0.3) of the Gaussian.
    const double beyond = 0.5 * std::erfc(0.5 / std::sqrt(2.0));
    EXPECT_NEAR(solver.mass_lost(), beyond * before, 0.01 * before) << name;
  }
}

TEST(Liouville, TimeDependentForceIsSampledAtTheRightTimes) {
  // U = -t·x: dp/dt = t, so ⟨p⟩ grows by t²/2. Both schemes integrate a force linear in t
  // exactly, and Lagrange shifts move the first moment exactly.
  const auto grid = square_grid(4, 0.0, 1.0, 128, -64, 0.1);
  for (Scheme scheme : {Scheme::strang, Scheme::yoshida4}) {
    LiouvilleSolver solver(grid, Potential("-t*x", std::string("-t")),
                           options_for("lagrange5", 0.125, scheme));
    auto f = sample(grid, [](double, double p) { return std::exp(-0.5 * (p + 2.0) * (p + 2.0) / 0.25); });
    const double t_start = 0.5;
    solver.advance(f, t_start, 16);  // to t = 2.5
    double mass = 0.0;
    double momentum = 0.0;
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      mass += f[j];
      momentum += grid.p(j) * f[j];
    }
    EXPECT_NEAR(momentum / mass, -2.0 + 0.5 * (2.5 * 2.5 - t_start * t_start), 1e-10);
  }
}

TEST(Liouville, FusedStepsEqualSingleSteps) {
  // Spectral X shifts compose exactly, so fusing the half steps changes nothing but round-off.
  const std::size_t n = 64;  // the Gaussian's Nyquist content (where shifts do not compose) < 1e-19
  const auto grid = square_grid(n, -pi, 2.0 * pi / n, n, -32, 0.1);
  const Potential potential("(1 + 0.3*t)*(1 - cos(x))", std::string("(1 + 0.3*t)*sin(x)"));
  for (Scheme scheme : {Scheme::strang, Scheme::yoshida4}) {
    LiouvilleSolver fused(grid, potential, options_for("spectral", 0.05, scheme));
    LiouvilleSolver single(grid, potential, options_for("spectral", 0.05, scheme));
    auto f = sample(grid, Pendulum::initial);
    auto g = f;
    fused.advance(f, 0.2, 5);
    for (std::size_t s = 0; s < 5; ++s) single.advance(g, 0.2 + 0.05 * static_cast<double>(s), 1);
    EXPECT_LT(max_difference(f, g), 1e-13);
  }
}

// `steps` steps of the splitting spelled out with shift_line, one line at a time: X sweeps
// (with the last X of a step and the first of the next merged, as the solver does) and P
// sweeps at the times the solver uses. Returns the mass that left through the p edges.
double advance_by_line_shifts(const PhaseSpaceGrid& grid, const Potential& potential,
                              const LiouvilleOptions& options, std::size_t steps,
                              std::vector<double>& f) {
  const std::size_t centres = grid.centres;
  const std::size_t momenta = grid.momenta;
  const bool zero_outside = options.momentum_boundary == MomentumBoundary::zero;
  auto sweep_x = [&](double tau) {
    std::vector<double> column(centres);
    std::vector<double> shifted(centres);
    for (std::size_t j = 0; j < momenta; ++j) {
      for (std::size_t c = 0; c < centres; ++c) column[c] = f[c * momenta + j];
      shift_line(options.interpolation, column, shifted, grid.p(j) * tau / (options.mass * grid.dx0), false);
      for (std::size_t c = 0; c < centres; ++c) f[c * momenta + j] = shifted[c];
    }
  };
  auto sweep_p = [&](double tau, double t) {
    const double before = sum(f);
    for (std::size_t c = 0; c < centres; ++c) {
      const std::vector<double> row(f.begin() + static_cast<long>(c * momenta),
                                    f.begin() + static_cast<long>((c + 1) * momenta));
      const double shift = -potential.derivative(grid.x0(c), t) * tau / grid.dp;
      shift_line(options.interpolation, row, std::span<double>(f.data() + c * momenta, momenta), shift, zero_outside);
    }
    return (before - sum(f)) * grid.dx0 * grid.dp;
  };
  const auto coefficients = splitting_coefficients(options.scheme);
  double lost = 0.0;
  double pending_x = 0.0;
  for (std::size_t step = 0; step < steps; ++step) {
    double elapsed = 0.0;
    for (std::size_t i = 0; i < coefficients.drifts.size(); ++i) {
      sweep_x((pending_x + coefficients.kicks[i]) * options.dt);
      pending_x = 0.0;
      elapsed += coefficients.kicks[i];
      lost += sweep_p(coefficients.drifts[i] * options.dt, (static_cast<double>(step) + elapsed) * options.dt);
    }
    pending_x = coefficients.kicks.back();
  }
  sweep_x(pending_x * options.dt);
  return lost;
}

TEST(Liouville, StepsEqualTheirLineShifts) {
  // The solver's Lagrange sweeps are blocked, vectorised and fused into passes (a lone step in
  // place), its spline X sweeps prefilter all columns together and its spectral X sweeps
  // transform them in one batch; the reference shifts one line at a time. Grids not multiples of the vector width
  // or the row block, and large enough for several threads; X shifts that step by less than a
  // cell across eight columns and by more than one per column; P shifts within and beyond the
  // rows' halo; momenta all negative (a lone step cannot then work in place) and X shifts
  // beyond the fused pass's reach; both momentum boundaries; one and several steps.
  struct Case {
    std::size_t centres, momenta;
    long k_first;
    double dt, force;
  };
  const Case cases[] = {{37, 53, -26, 0.2, 40.0},    {40, 24, -12, 0.2, 3.0},
                        {9, 130, -65, 2.0, 5.0},     {64, 256, -128, 0.05, 400.0},
                        {128, 257, -128, 0.1, 100.0}, {200, 53, -300, 0.2, 10.0},
                        {256, 160, -400, 0.02, 10.0}, {300, 40, -20, 30.0, 1.0}};
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (const Case& test : cases) {
    const auto grid = square_grid(test.centres, -1.0, 0.1, test.momenta, test.k_first, 0.1);
    const std::string force = std::to_string(test.force);
    const Potential potential(force + "*(1 - cos(x + t))", force + "*sin(x + t)");
    std::vector<double> f(grid.cells());
    for (double& value : f) value = uniform(random);
    for (const std::string interpolation :
         {"lagrange3", "lagrange5", "lagrange9", "spline", "spectral"}) {
      for (MomentumBoundary boundary : {MomentumBoundary::periodic, MomentumBoundary::zero}) {
        for (Scheme scheme : {Scheme::strang, Scheme::yoshida4}) {
          for (std::size_t steps : {1, 3}) {
            auto options = options_for(interpolation, test.dt, scheme);
            options.momentum_boundary = boundary;
            auto expected = f;
            const double expected_lost = advance_by_line_shifts(grid, potential, options, steps, expected);
            LiouvilleSolver solver(grid, potential, options);
            auto g = f;
            solver.advance(g, 0.0, steps);
            SCOPED_TRACE(std::to_string(test.centres) + " x " + std::to_string(test.momenta) + " " +
                         interpolation + (boundary == MomentumBoundary::zero ? " zero " : " periodic ") +
                         (scheme == Scheme::strang ? "strang " : "yoshida4 ") + std::to_string(steps) + " steps");
            EXPECT_LT(max_difference(g, expected), 1e-12);
            EXPECT_NEAR(solver.mass_lost(), expected_lost, 1e-12 * static_cast<double>(grid.cells()) * grid.dx0 * grid.dp);
          }
        }
      }
    }
  }
}

TEST(Liouville, DiagnosticsFollowTheirDefinitions) {
  const auto grid = square_grid(3, -1.0, 0.5, 4, -2, 0.25);
  const std::vector<double> f = {0.1, 0.2, 0.0, -0.05, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  LiouvilleOptions options;
  options.mass = 2.0;
  LiouvilleSolver solver(grid, Potential("x^2 + t"), options);
  const double t = 0.5;
  double mass = 0.0, square = 0.0, entropy = 0.0, energy = 0.0;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t j = 0; j < 4; ++j) {
      const double value = f[c * 4 + j];
      const double x = grid.x0(c);
      const double p = grid.p(j);
      mass += value;
      square += value * value;
      if (value > 0.0) entropy -= value * std::log(value);
      energy += (p * p / 4.0 + x * x + t) * value;
    }
  }
  const double cell = 0.5 * 0.25;
  const auto diagnostics = solver.diagnostics(f, t);
  EXPECT_NEAR(diagnostics.mass, mass * cell, 1e-15);
  EXPECT_NEAR(diagnostics.l2_norm, std::sqrt(square * cell), 1e-15);
  EXPECT_EQ(diagnostics.minimum, -0.05);
  EXPECT_NEAR(diagnostics.entropy, entropy * cell, 1e-15);
  EXPECT_NEAR(diagnostics.energy, energy * cell, 1e-14);
}

// The Lagrange stencils are a closed set: each allowed count reaches its compile-time stencil,
// any other count reaches none (there is no fallback stencil), and the solver refuses it.
TEST(Liouville, LagrangeStencilCountsAreAClosedSet) {
  for (int points = 0; points <= 12; ++points) {
    int reached = -1;
    const bool known = kernels::visit_lagrange_points(
        points, [&](auto count) { reached = decltype(count)::value; });
    const bool allowed = points == 4 || points == 6 || points == 8 || points == 10;
    EXPECT_EQ(known, allowed) << points << " points";
    EXPECT_EQ(kernels::is_lagrange_points(points), allowed) << points << " points";
    EXPECT_EQ(reached, allowed ? points : -1) << points << " points";
  }
  const auto grid = square_grid(8, -1.0, 0.25, 8, -4, 0.25);
  for (int order : {1, 2, 4, 11}) {
    LiouvilleOptions options;
    options.interpolation = Interpolation{InterpolationKind::lagrange, order};
    EXPECT_THROW(LiouvilleSolver(grid, Potential("0"), options), InputError) << "order " << order;
  }
}

}  // namespace
}  // namespace phasespace
