// Windowed projection: definitions, closed forms, conservation and the stated error bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "phasespace/ensemble.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/projection.hpp"

namespace phasespace {
namespace {

constexpr double pi = std::numbers::pi;

// The offset of sample m from the window centre.
double sample_offset(long m, double dx) { return static_cast<double>(m) * dx; }

// ψ = (2πσ0²)^{-1/4} exp[-(x-x0)²/4σ0² + i p0 x/ħ], nearest periodic image; written here rather
// than taken from initial_state so that these tests depend on the projection alone.
std::vector<complex> packet(const Grid& grid, double hbar, double x0, double p0, double sigma0) {
  std::vector<complex> psi(grid.size);
  for (std::size_t n = 0; n < grid.size; ++n) {
    double offset = grid.x(n) - x0;
    offset -= grid.length * std::round(offset / grid.length);
    const double envelope = std::pow(2.0 * pi * sigma0 * sigma0, -0.25) *
                            std::exp(-offset * offset / (4.0 * sigma0 * sigma0));
    psi[n] = envelope * std::polar(1.0, p0 * (x0 + offset) / hbar);
  }
  return psi;
}

Ensemble ensemble_of(const Grid& grid, const std::vector<std::vector<complex>>& members,
                     const std::vector<double>& weights) {
  Ensemble ensemble(grid, 0);
  for (std::size_t k = 0; k < members.size(); ++k) ensemble.add(weights[k], members[k]);
  return ensemble;
}

Ensemble pure(const Grid& grid, const std::vector<complex>& psi) {
  return ensemble_of(grid, {psi}, {1.0});
}

std::vector<double> project(const Grid& grid, const Window& window, const PhaseSpaceGrid& phase,
                            const Ensemble& ensemble) {
  Projector projector(grid, window, phase);
  std::vector<double> density(phase.cells());
  projector.project(ensemble, density);
  return density;
}

// ∬ρ dx0 dp on the phase-space grid.
double mass(const PhaseSpaceGrid& phase, const std::vector<double>& density) {
  double sum = 0.0;
  for (double value : density) sum += value;
  return sum * phase.dx0 * phase.dp;
}

double max_abs(const std::vector<double>& values) {
  double largest = 0.0;
  for (double value : values) largest = std::max(largest, std::abs(value));
  return largest;
}

double norm_squared(const Grid& grid, const std::vector<complex>& psi) {
  double sum = 0.0;
  for (const complex& value : psi) sum += std::norm(value);
  return sum * grid.dx();
}

// A smooth, generic test state: three packets with different centres, momenta and widths.
std::vector<complex> generic_state(const Grid& grid, double hbar) {
  // Each packet is >= 10 widths from the periodic edge, so ψ has no kink there (< 1e-10).
  const auto a = packet(grid, hbar, grid.x_min + 0.3 * grid.length, 0.8, 0.025 * grid.length);
  const auto b = packet(grid, hbar, grid.x_min + 0.55 * grid.length, -1.7, 0.04 * grid.length);
  const auto c = packet(grid, hbar, grid.x_min + 0.75 * grid.length, 0.2, 0.02 * grid.length);
  std::vector<complex> psi(grid.size);
  for (std::size_t n = 0; n < grid.size; ++n) {
    psi[n] = a[n] + complex(0.3, -0.6) * b[n] + complex(-0.5, 0.1) * c[n];
  }
  const double scale = 1.0 / std::sqrt(norm_squared(grid, psi));
  for (complex& value : psi) value *= scale;
  return psi;
}

// The definition, summed directly: A = dx Σ_m w(m dx) e^{-i p m dx/ħ} ψ(x0_c + m dx).
std::vector<double> direct_density(const Grid& grid, const Window& window,
                                   const PhaseSpaceGrid& phase, const Ensemble& ensemble) {
  const double dx = grid.dx();
  const long half = static_cast<long>(window.support_half_points(dx));
  const long size = static_cast<long>(grid.size);
  std::vector<double> density(phase.cells(), 0.0);
  for (std::size_t k = 0; k < ensemble.members(); ++k) {
    const auto psi = ensemble.member(k);
    for (std::size_t c = 0; c < phase.centres; ++c) {
      for (std::size_t j = 0; j < phase.momenta; ++j) {
        complex sum = 0.0;
        for (long m = -half; m <= half; ++m) {
          const long n = ((static_cast<long>(c * phase.centre_stride) + m) % size + size) % size;
          const double offset = static_cast<double>(m) * dx;
          sum += window.sample(offset, dx) * std::polar(1.0, -phase.p(j) * offset / phase.hbar) *
                 psi[static_cast<std::size_t>(n)];
        }
        density[c * phase.momenta + j] +=
            ensemble.weights[k] * std::norm(dx * sum) / (2.0 * pi * phase.hbar);
      }
    }
  }
  return density;
}

template <class Function>
std::string error_message(Function&& function) {
  try {
    function();
  } catch (const InputError& error) {
    return error.what();
  }
  return "no InputError thrown";
}

// ---------------------------------------------------------------------------------------------
// Windows

TEST(ProjectionWindow, ShapesParseAndPrint) {
  for (WindowShape shape : {WindowShape::box, WindowShape::gaussian, WindowShape::hann}) {
    EXPECT_EQ(parse_window_shape(to_string(shape)), shape);
  }
  const std::string message = error_message([] { parse_window_shape("tophat"); });
  EXPECT_NE(message.find("window.shape = tophat"), std::string::npos) << message;
}

TEST(ProjectionWindow, SampledWindowsAreNormalised) {
  const double dx = 0.01;
  // Gaussian: the sampled Σ dx w² equals ∫w² = 1 up to e^{-π²σ²/dx²} (Poisson).
  const Window gaussian{WindowShape::gaussian, 0.137};
  // Hann with a width of 64 cells: cos⁴ is a trigonometric polynomial of degree 2 in 2πu/Δx,
  // summed over a whole period of 64 samples, so the sum is exact.
  const Window hann{WindowShape::hann, 64 * dx};
  // Box with an odd number of cells: the edges fall on cell boundaries, all weights are 1.
  const Window box{WindowShape::box, 45 * dx};
  for (const Window& window : {gaussian, hann, box}) {
    const long half = static_cast<long>(window.support_half_points(dx));
    double sum = 0.0;
    for (long m = -half; m <= half; ++m)
      sum += dx * std::pow(window.sample(sample_offset(m, dx), dx), 2);
    EXPECT_NEAR(sum, 1.0, 1e-13) << to_string(window.shape);
  }
}

TEST(ProjectionWindow, BoxEdgesAreWeightedByCoveredFraction) {
  const double dx = 0.01;
  for (double cells : {45.0, 44.0, 44.37, 10.9}) {
    const Window box{WindowShape::box, cells * dx};
    const long half = static_cast<long>(box.support_half_points(dx));
    // ∫w dx = Δx^{1/2} exactly, whatever the width: this is what makes A(p = p0) exact.
    double sum = 0.0;
    for (long m = -half; m <= half; ++m) sum += dx * box.sample(sample_offset(m, dx), dx);
    EXPECT_NEAR(sum, std::sqrt(box.width), 1e-14) << cells;
    // The support is tight: the outermost samples are inside the box.
    EXPECT_GT(box.sample(sample_offset(half, dx), dx), 0.0) << cells;
    EXPECT_EQ(box.sample(sample_offset(half + 1, dx), dx), 0.0) << cells;
  }
  EXPECT_EQ(Window(WindowShape::box, 45 * dx).support_half_points(dx), 22u);
  EXPECT_EQ(Window(WindowShape::box, 44 * dx).support_half_points(dx), 22u);
}

TEST(ProjectionWindow, GaussianSupportHoldsAllButNegligibleWeight) {
  const double dx = 0.01;
  const Window gaussian{WindowShape::gaussian, 0.1};
  const double half = static_cast<double>(gaussian.support_half_points(dx));
  EXPECT_LT(gaussian.sample((half + 1) * dx, dx), 1e-17 * gaussian.sample(0.0, dx));
  EXPECT_GT(gaussian.sample((half - 2) * dx, dx), 1e-17 * gaussian.sample(0.0, dx));
}

TEST(ProjectionWindow, WidthRule) {
  EXPECT_NEAR(window_width_rule(2.0, 0.5, 0.01), 0.2, 1e-15);
  EXPECT_NEAR(window_width_rule(0.5, 1.0, 0.3), 0.15, 1e-15);
  const std::string message = error_message([] { window_width_rule(-1.0, 0.5, 0.01); });
  EXPECT_NE(message.find("window.coefficient"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------
// The phase-space grid

TEST(ProjectionGrid, DefaultsFollowTheWindow) {
  const Grid grid{-8.0, 16.0, 2048};                 // dx = 1/128
  const Window window{WindowShape::gaussian, 0.25};  // 32 points
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, 0.05, window);
  const std::size_t support = 2 * window.support_half_points(grid.dx()) + 1;
  EXPECT_EQ(phase.centre_stride, 8u);  // largest power of two <= 32/4
  EXPECT_EQ(phase.centres, 256u);
  EXPECT_DOUBLE_EQ(phase.x0(0), -8.0);
  EXPECT_DOUBLE_EQ(phase.dx0, 8.0 / 128.0);
  EXPECT_GE(phase.fft_length, support);
  EXPECT_LT(phase.fft_length / 2, support);
  EXPECT_EQ(phase.momenta, phase.fft_length);
  EXPECT_EQ(phase.k_first, -static_cast<long>(phase.fft_length / 2));
  EXPECT_DOUBLE_EQ(phase.dp, 2.0 * pi * 0.05 / (static_cast<double>(phase.fft_length) * grid.dx()));
  EXPECT_DOUBLE_EQ(phase.p(0), -grid.max_momentum(0.05));
}

TEST(ProjectionGrid, MomentumCutGivesASymmetricGrid) {
  const Grid grid{0.0, 1.0, 1000};
  const Window window{WindowShape::hann, 0.05};
  PhaseSpaceOptions options;
  options.fft_length = 100;
  options.centre_stride = 5;
  options.p_max = 3.3;
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, 0.01, window, options);
  // dp = 2π·0.01/(100·0.001) = 0.6283: K = floor(3.3/dp) = 5.
  EXPECT_EQ(phase.k_first, -5);
  EXPECT_EQ(phase.momenta, 11u);
  EXPECT_TRUE(phase.momentum_symmetric());
  EXPECT_NEAR(phase.p(10), 5 * phase.dp, 1e-14);
  EXPECT_EQ(phase.centres, 200u);
  // p_max at the FFT's largest momentum keeps k = -(M/2 - 1)..M/2 - 1: no slot twice.
  options.p_max = grid.max_momentum(0.01);
  const PhaseSpaceGrid full = make_phase_space_grid(grid, 0.01, window, options);
  EXPECT_EQ(full.momenta, 99u);
}

TEST(ProjectionGrid, BadOptionsNameTheOption) {
  const Grid grid{0.0, 1.0, 1024};
  const Window window{WindowShape::gaussian, 0.02};  // support 2·ceil(8.85·0.02·1024)+1 = 365
  auto with = [&](auto change) {
    PhaseSpaceOptions options;
    change(options);
    return error_message([&] { make_phase_space_grid(grid, 0.01, window, options); });
  };
  auto expect_names = [](const std::string& message, const std::string& what) {
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  expect_names(with([](PhaseSpaceOptions& o) { o.fft_length = 64; }),
               "phase_space.fft_length = 64: must be >= the window support 365 points");
  expect_names(with([](PhaseSpaceOptions& o) { o.centre_stride = 3; }),
               "phase_space.centre_stride = 3");
  expect_names(with([](PhaseSpaceOptions& o) { o.centre_stride = 0; }),
               "phase_space.centre_stride = 0");
  expect_names(with([](PhaseSpaceOptions& o) { o.p_max = 0.0; }), "phase_space.p_max = 0");
  expect_names(with([](PhaseSpaceOptions& o) { o.p_max = -1.0; }), "phase_space.p_max = -1");
  expect_names(with([](PhaseSpaceOptions& o) { o.p_max = 40.0; }), "phase_space.p_max = 40");
  expect_names(with([](PhaseSpaceOptions& o) { o.p_max = 1e-4; }), "momentum spacing");
  expect_names(error_message([&] {
                 make_phase_space_grid(grid, 0.01, Window{WindowShape::box, 0.0});
               }),
               "window.width = 0");
  expect_names(error_message([&] {
                 make_phase_space_grid(grid, 0.01, Window{WindowShape::box, 1.0});
               }),
               "window.width = 1");
  expect_names(error_message([&] { make_phase_space_grid(grid, -0.01, window); }), "hbar");
  // A valid set passes.
  EXPECT_NO_THROW(with([](PhaseSpaceOptions& o) {
    o.fft_length = 365;
    o.centre_stride = 4;
    o.p_max = 30.0;
  }));
}

// ---------------------------------------------------------------------------------------------
// The projection

// Against the definition summed directly, for every window shape, a momentum cut, windows that
// wrap around the periodic domain, a box with cut edges and an ensemble of two.
TEST(Projection, MatchesTheDefinitionSummedDirectly) {
  const Grid grid{-1.0, 2.0, 240};
  const double hbar = 0.02;
  const auto first = generic_state(grid, hbar);
  const auto second = packet(grid, hbar, 0.9, -0.4, 0.2);  // straddles the periodic edge
  const Ensemble ensemble = ensemble_of(grid, {first, second}, {0.7, 0.3});
  for (const Window& window : {Window{WindowShape::box, 0.2137}, Window{WindowShape::hann, 0.31},
                               Window{WindowShape::gaussian, 0.04}}) {
    PhaseSpaceOptions options;
    options.centre_stride = 3;
    options.fft_length = 2 * window.support_half_points(grid.dx()) + 7;  // odd and not a power of 2
    options.p_max = 0.6 * grid.max_momentum(hbar);
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window, options);
    const auto expected = direct_density(grid, window, phase, ensemble);
    const auto density = project(grid, window, phase, ensemble);
    const double peak = max_abs(expected);
    for (std::size_t cell = 0; cell < density.size(); ++cell) {
      ASSERT_NEAR(density[cell], expected[cell], 1e-12 * peak) << to_string(window.shape) << cell;
    }
  }
}

// Husimi of ψ = Gaussian(x0, p0, σ0) with a Gaussian window σ: a normalised Gaussian in (x0, p)
// with variances σ0² + σ²/2 and ħ²/4σ0² + ħ²/2σ² (physics.md, closed forms). The discrete sum
// is the trapezoid rule of a smooth rapidly decaying integrand: its error is aliasing, which is
// far below 1e-10 for these well-resolved packets.
TEST(Projection, HusimiOfAGaussianPacketMatchesTheClosedForm) {
  struct Case {
    double x0, p0, sigma0, hbar, sigma;
    std::size_t stride;
  };
  const Grid grid{-10.0, 20.0, 1024};
  for (const Case& c : {Case{0.3, 0.7, 0.5, 0.1, 0.3, 4}, Case{-2.1, -1.3, 0.2, 0.05, 0.2, 1},
                        Case{1.7, 2.0, 1.0, 0.02, 0.15, 2}, Case{-3.0, 0.0, 0.4, 0.2, 0.9, 8}}) {
    const Window window{WindowShape::gaussian, c.sigma};
    PhaseSpaceOptions options;
    options.centre_stride = c.stride;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, c.hbar, window, options);
    const auto density =
        project(grid, window, phase, pure(grid, packet(grid, c.hbar, c.x0, c.p0, c.sigma0)));
    const double variance_x = c.sigma0 * c.sigma0 + 0.5 * c.sigma * c.sigma;
    const double variance_p =
        c.hbar * c.hbar * (0.25 / (c.sigma0 * c.sigma0) + 0.5 / (c.sigma * c.sigma));
    const double peak = 1.0 / (2.0 * pi * std::sqrt(variance_x * variance_p));
    double worst = 0.0;
    for (std::size_t i = 0; i < phase.centres; ++i) {
      for (std::size_t j = 0; j < phase.momenta; ++j) {
        const double dx0 = phase.x0(i) - c.x0;
        const double dp = phase.p(j) - c.p0;
        const double expected =
            peak * std::exp(-0.5 * dx0 * dx0 / variance_x - 0.5 * dp * dp / variance_p);
        worst = std::max(worst, std::abs(density[i * phase.momenta + j] - expected));
      }
    }
    EXPECT_LE(worst, 1e-10 * peak) << "x0 " << c.x0 << " p0 " << c.p0 << " hbar " << c.hbar;
  }
}

// Plane wave e^{ip0x/ħ} through a box of width Δx: the paper's |A|² = Δx sinc²((p-p0)Δx/2ħ).
// With θ = (p - p0)dx/ħ the discrete sum differs from the integral by
//   |ΔA|/√Δx <= ε = θ²/24 + (dx/Δx)(θ²/12 + |θ|/4)
// (each full cell: ∫(1 - e^{iqt})dt = dx(1 - sinc(θ/2)) <= dx θ²/24; each of the two cut edge
// cells: <= dx(|θ|/8 + θ²/24) since its first moment is at most dx²/8), so
//   |ρ - ρ_sinc| <= ρ_peak·ε(2 + ε),  ρ_peak = Δx/2πħ.
// At p = p0 (θ = 0) the covered-fraction weights make it exact; a 0/1 mask would be off by ~dx/Δx.
// For an odd number L of whole cells the sum is the Dirichlet kernel, which is checked exactly.
TEST(Projection, PlaneWaveThroughABoxIsSincSquared) {
  const std::size_t size = 2048;
  const Grid grid{0.0, 2.0 * pi, size};
  const double dx = grid.dx();
  const double hbar = 0.01;
  for (double cells : {101.0, 100.37, 57.81}) {
    const Window box{WindowShape::box, cells * dx};
    PhaseSpaceOptions options;
    options.fft_length = 128;
    options.centre_stride = 64;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, box, options);
    // p0 = 3 dp is periodic on the grid: 3 dp = 2πħ·48/L.
    const double p0 = 3.0 * phase.dp;
    std::vector<complex> wave(size);
    for (std::size_t n = 0; n < size; ++n) wave[n] = std::polar(1.0, p0 * grid.x(n) / hbar);
    const auto density = project(grid, box, phase, pure(grid, wave));
    const double peak = box.width / (2.0 * pi * hbar);
    for (std::size_t i = 0; i < phase.centres; ++i) {
      for (std::size_t j = 0; j < phase.momenta; ++j) {
        const double value = density[i * phase.momenta + j];
        const double theta = (phase.p(j) - p0) * dx / hbar;
        if (std::abs(theta) > 1.0) continue;
        const double u = 0.5 * (phase.p(j) - p0) * box.width / hbar;
        const double sinc = u == 0.0 ? 1.0 : std::sin(u) / u;
        const double expected = peak * sinc * sinc;
        const double epsilon = theta * theta / 24.0 +
                               (dx / box.width) * (theta * theta / 12.0 + std::abs(theta) / 4.0);
        ASSERT_LE(std::abs(value - expected), peak * (epsilon * (2.0 + epsilon) + 1e-12))
            << "cells " << cells << " theta " << theta;
        if (cells == 101.0 && theta != 0.0) {
          const double dirichlet = std::sin(cells * theta / 2) / std::sin(theta / 2);
          ASSERT_NEAR(value, dx * dx / box.width * dirichlet * dirichlet / (2 * pi * hbar),
                      1e-12 * peak);
        }
        if (theta == 0.0) {
          ASSERT_NEAR(value, peak, 1e-12 * peak) << cells;
        }
      }
    }
  }
}

// Mass over all fft_length momenta is, by Parseval, exactly dx Σ_n |ψ_n|² g(x_n) with the
// partition of unity g(x) = dx0 Σ_c |w(x - x0_c)|². For a box of an odd number of whole cells
// that is a multiple of the (odd) centre stride, g = 1: mass = ‖ψ‖² to round-off.
TEST(Projection, MassIsExactForABoxOfWholeCellsAndCentreSpacings) {
  const Grid grid{-3.0, 6.0, 1080};  // 1080 = 2³·3³·5: odd strides divide it
  const double hbar = 0.03;
  const auto psi = generic_state(grid, hbar);
  for (std::size_t stride : {1u, 3u, 5u, 9u, 15u}) {
    const Window box{WindowShape::box, 45 * grid.dx()};
    PhaseSpaceOptions options;
    options.centre_stride = stride;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, box, options);
    const auto density = project(grid, box, phase, pure(grid, psi));
    EXPECT_NEAR(mass(phase, density), norm_squared(grid, psi), 1e-12) << stride;
  }
}

// Any window: mass = dx Σ_n |ψ_n|² g(x_n) exactly. For a box whose edges cut cells (covered
// fractions f): at stride 1, Σf = Δx/dx and f² - f >= -1/4 on the two edge cells, so
// g - 1 in [-dx/2Δx, 0]; at stride s, the cells of one residue class cover between
// ⌊Δx/s dx⌋ and that + 1 cells of the box, so |g - 1| <= 1.5·s·dx/Δx. |mass - ‖ψ‖²| is bounded
// by max|g - 1|·‖ψ‖². (Hann: the identity only.)
TEST(Projection, MassIsTheNormWeightedByThePartitionOfUnity) {
  const Grid grid{-3.0, 6.0, 1080};
  const double dx = grid.dx();
  const double hbar = 0.03;
  const auto psi = generic_state(grid, hbar);
  struct Case {
    Window window;
    std::size_t stride;
    double bound;  // on |mass - ‖ψ‖²|
  };
  const Window cut_box{WindowShape::box, 44.37 * dx};
  const double infinity = std::numeric_limits<double>::infinity();
  for (const Case& c : {Case{cut_box, 1, dx / (2.0 * cut_box.width)},
                        Case{cut_box, 6, 1.5 * 6.0 * dx / cut_box.width},
                        Case{Window{WindowShape::hann, 40.3 * dx}, 4, infinity}}) {
    PhaseSpaceOptions options;
    options.centre_stride = c.stride;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, c.window, options);
    const auto density = project(grid, c.window, phase, pure(grid, psi));
    const long half = static_cast<long>(c.window.support_half_points(dx));
    double expected = 0.0;
    for (std::size_t n = 0; n < grid.size; ++n) {
      double partition = 0.0;  // g(x_n)
      for (long m = -half; m <= half; ++m) {
        const long centre_point = static_cast<long>(n) - m;
        if (centre_point % static_cast<long>(c.stride) != 0) continue;
        partition += phase.dx0 * std::pow(c.window.sample(sample_offset(m, dx), dx), 2);
      }
      expected += dx * std::norm(psi[n]) * partition;
    }
    const double total = mass(phase, density);
    EXPECT_NEAR(total, expected, 1e-12) << to_string(c.window.shape) << c.stride;
    EXPECT_LE(std::abs(total - 1.0), c.bound) << to_string(c.window.shape) << c.stride;
  }
}

// Gaussian window: by Poisson summation g(x) = Σ_q e^{-π²q²σ²/dx0²} e^{2πiq(x - x0_0)/dx0}, so
//   mass - ‖ψ‖² = 2 Σ_{q>=1} e^{-π²q²σ²/dx0²} dx Σ_n |ψ_n|² cos(2πq(x_n - x0_0)/dx0),
// bounded by 2 Σ_{q>=1} e^{-π²q²σ²/dx0²} ≈ 2e^{-π²σ²/dx0²} (physics.md). Checked both ways, with
// centres so coarse that the error is visible (σ/dx0 = 0.64, 1.28).
TEST(Projection, GaussianMassFollowsPoissonSummation) {
  const Grid grid{0.0, 8.0, 1024};
  const double hbar = 0.05;
  // Narrow (σ0 < dx0/3) and on a centre, so that the q = 1 term is seen: its weight is
  // e^{-2π²σ0²/dx0²} >= 0.13.
  const auto psi = packet(grid, hbar, 4.0, 0.5, 0.02);
  for (std::size_t stride : {16u, 8u}) {
    const Window window{WindowShape::gaussian, 0.08};
    PhaseSpaceOptions options;
    options.centre_stride = stride;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window, options);
    const auto density = project(grid, window, phase, pure(grid, psi));
    double predicted = 0.0;
    double bound = 0.0;
    for (int q = 1; q <= 6; ++q) {
      const double factor = std::exp(-pow(pi * q * window.width / phase.dx0, 2));
      bound += 2.0 * factor;
      for (std::size_t n = 0; n < grid.size; ++n) {
        predicted += 2.0 * factor * grid.dx() * std::norm(psi[n]) *
                     std::cos(2.0 * pi * q * (grid.x(n) - phase.x0(0)) / phase.dx0);
      }
    }
    const double error = mass(phase, density) - norm_squared(grid, psi);
    EXPECT_NEAR(error, predicted, 1e-13) << stride;
    EXPECT_LE(std::abs(error), bound) << stride;
    EXPECT_GT(std::abs(error), 1e-3 * bound) << "the check must see the effect, stride " << stride;
  }
}

TEST(Projection, EnsembleIsTheWeightedSumOfItsMembers) {
  const Grid grid{-4.0, 8.0, 768};
  const double hbar = 0.04;
  const std::vector<std::vector<complex>> members = {packet(grid, hbar, -1.0, 0.5, 0.3),
                                                     packet(grid, hbar, 0.5, -1.0, 0.2),
                                                     generic_state(grid, hbar)};
  const std::vector<double> weights = {0.5, 0.2, 0.3};
  const Window window{WindowShape::hann, 0.4};
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window);
  const auto together = project(grid, window, phase, ensemble_of(grid, members, weights));
  std::vector<double> summed(phase.cells(), 0.0);
  for (std::size_t k = 0; k < members.size(); ++k) {
    const auto alone = project(grid, window, phase, pure(grid, members[k]));
    for (std::size_t cell = 0; cell < summed.size(); ++cell)
      summed[cell] += weights[k] * alone[cell];
  }
  const double peak = max_abs(summed);
  for (std::size_t cell = 0; cell < summed.size(); ++cell) {
    ASSERT_NEAR(together[cell], summed[cell], 1e-13 * peak) << cell;
  }
}

// The chunking is invisible: a budget of one FFT row gives the same density, memory_bytes()
// stays within the budget, and a budget below one row is refused, as are a density of the wrong
// size and a phase-space grid whose labels are not the FFT's.
TEST(Projection, MemoryBudgetChunksTheBatch) {
  const Grid grid{-4.0, 8.0, 1024};
  const double hbar = 0.04;
  const Window window{WindowShape::gaussian, 0.1};
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window);
  const Ensemble ensemble =
      ensemble_of(grid, {generic_state(grid, hbar), packet(grid, hbar, 1.0, 1.0, 0.5)}, {0.6, 0.4});
  const std::size_t row_bytes = phase.fft_length * sizeof(complex);
  Projector roomy(grid, window, phase);
  Projector tight(grid, window, phase, row_bytes);
  EXPECT_LE(roomy.memory_bytes(), std::size_t{256} << 20);
  EXPECT_LE(tight.memory_bytes(), row_bytes + 2 * phase.fft_length * sizeof(double));
  std::vector<double> expected(phase.cells());
  std::vector<double> density(phase.cells());
  roomy.project(ensemble, expected);
  tight.project(ensemble, density);
  const double peak = max_abs(expected);
  for (std::size_t cell = 0; cell < density.size(); ++cell) {
    ASSERT_NEAR(density[cell], expected[cell], 1e-13 * peak) << cell;
  }
  const std::string message =
      error_message([&] { Projector refused(grid, window, phase, row_bytes - 1); });
  EXPECT_NE(message.find("memory budget"), std::string::npos) << message;
  const std::string wrong_size = error_message([&] {
    std::vector<double> short_density(phase.cells() - 1);
    roomy.project(ensemble, short_density);
  });
  EXPECT_NE(wrong_size.find("density size"), std::string::npos) << wrong_size;
  PhaseSpaceGrid mislabelled = phase;
  mislabelled.dp *= 2.0;
  const std::string labels = error_message([&] { Projector refused(grid, window, mislabelled); });
  EXPECT_NE(labels.find("phase_space.dp"), std::string::npos) << labels;
}

// Cat state in momentum: ψ ∝ φ(x; 0, +p1) + φ(x; 0, -p1). Both packets sit at the same place, so
// |ψ|² shows fringes cos(2p1x/ħ) of full contrast. In ρ the cross term is 2Re(A+* A-)/(2πħ)/N²
// and |A+||A-|/(2πħ) = sqrt(ρ+ρ-), which for the two Husimi Gaussians (variance s_p² in p) is at
// most peak·e^{-p1²/(2s_p²)}: the interference in ρ is bounded by
//   |ρ_cat - (ρ+ + ρ-)/N²| <= 2 peak e^{-D²/(8s_p²)} / N²,  D = 2p1 the momentum separation,
// s_p² = ħ²/4σ0² + ħ²/2σ² (in general e^{-Dx²/8s_x² - Dp²/8s_p²}). At (x0, p) = (0, 0) both
// amplitudes are equal and real, so the bound is attained there: the check also sees the term.
TEST(Projection, CatStateInterferenceIsSuppressedAsTheTheorySays) {
  const Grid grid{-6.0, 12.0, 1536};
  const double hbar = 0.1;
  const double sigma0 = 0.5;
  const double p1 = 0.675;
  const Window window{WindowShape::gaussian, 0.5};
  const auto plus = packet(grid, hbar, 0.0, p1, sigma0);
  const auto minus = packet(grid, hbar, 0.0, -p1, sigma0);
  std::vector<complex> cat(grid.size);
  for (std::size_t n = 0; n < grid.size; ++n) cat[n] = plus[n] + minus[n];
  const double norm = norm_squared(grid, cat);  // N² = 2 + 2Re⟨φ+|φ-⟩, overlap e^{-22.8}
  for (complex& value : cat) value /= std::sqrt(norm);

  PhaseSpaceOptions options;
  options.centre_stride = 4;
  const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window, options);
  const auto coherent = project(grid, window, phase, pure(grid, cat));
  const auto incoherent =
      project(grid, window, phase, ensemble_of(grid, {plus, minus}, {1.0, 1.0}));
  const double variance_x = sigma0 * sigma0 + 0.5 * window.width * window.width;
  const double variance_p = hbar * hbar * (0.25 / (sigma0 * sigma0) + 0.5 / pow(window.width, 2));
  const double peak = 1.0 / (2.0 * pi * std::sqrt(variance_x * variance_p));
  const double bound = 2.0 * peak * std::exp(-p1 * p1 / (2.0 * variance_p)) / norm;

  double cross = 0.0;
  for (std::size_t cell = 0; cell < coherent.size(); ++cell) {
    cross = std::max(cross, std::abs(coherent[cell] - incoherent[cell] / norm));
  }
  EXPECT_LE(cross, bound * (1.0 + 1e-8));
  EXPECT_GE(cross, 0.99 * bound);
  EXPECT_LT(bound, 2e-3 * peak / norm);  // the suppression is real: 0.1% of the peak

  // In |ψ|² the same cross term is as large as the direct terms.
  const auto density = position_density(pure(grid, cat));
  const auto direct = position_density(ensemble_of(grid, {plus, minus}, {1.0 / norm, 1.0 / norm}));
  double fringe = 0.0;
  for (std::size_t n = 0; n < grid.size; ++n)
    fringe = std::max(fringe, std::abs(density[n] - direct[n]));
  EXPECT_GT(fringe, 0.95 * max_abs(direct));
}

// ∫ρ dp equals |ψ|² smoothed by |w|² exactly (Parseval over all fft_length momenta); ∫(p/m)ρ dp
// equals the smoothed current to spectral accuracy (continuum identity: Im∫(wψ)*(wψ)' = ∫w² Im
// ψ*ψ').
TEST(Projection, MarginalsMatchTheSmoothedObservables) {
  const Grid grid{-5.0, 10.0, 1200};
  const double hbar = 0.05;
  const double mass_value = 1.7;
  const Ensemble ensemble = ensemble_of(
      grid, {generic_state(grid, hbar), packet(grid, hbar, 2.0, -0.8, 0.25)}, {0.25, 0.75});
  for (const Window& window : {Window{WindowShape::gaussian, 0.2}, Window{WindowShape::hann, 0.9},
                               Window{WindowShape::box, 0.3}}) {
    PhaseSpaceOptions options;
    options.centre_stride = 5;
    const PhaseSpaceGrid phase = make_phase_space_grid(grid, hbar, window, options);
    const auto density = project(grid, window, phase, ensemble);
    const auto n_smooth = smooth_at_centres(grid, window, phase, position_density(ensemble));
    const auto j_smooth =
        smooth_at_centres(grid, window, phase, current_density(ensemble, hbar, mass_value));
    for (std::size_t c = 0; c < phase.centres; ++c) {
      double marginal = 0.0;
      double flux = 0.0;
      for (std::size_t j = 0; j < phase.momenta; ++j) {
        marginal += phase.dp * density[c * phase.momenta + j];
        flux += phase.dp * phase.p(j) / mass_value * density[c * phase.momenta + j];
      }
      ASSERT_NEAR(marginal, n_smooth[c], 1e-12) << to_string(window.shape) << c;
      // The box's cut edges make the windowed row rough, so only the smooth windows get the
      // spectral tolerance for the current.
      if (window.shape != WindowShape::box) {
        ASSERT_NEAR(flux, j_smooth[c], 1e-10) << to_string(window.shape) << c;
      }
    }
  }
}

// For ψ = a(x)e^{ip0x/ħ} with real a, j = (p0/m)|ψ|² exactly; the spectral derivative is exact
// for a packet that is band-limited on the grid.
TEST(Projection, CurrentOfAPacketIsVelocityTimesDensity) {
  const Grid grid{-5.0, 10.0, 1024};
  const double hbar = 0.05;
  const double p0 = -0.9;
  const double mass_value = 2.5;
  const Ensemble ensemble = pure(grid, packet(grid, hbar, 0.5, p0, 0.3));  // 15σ0 from the edge
  const auto current = current_density(ensemble, hbar, mass_value);
  const auto density = position_density(ensemble);
  const double scale = std::abs(p0) / mass_value * max_abs(density);
  for (std::size_t n = 0; n < grid.size; ++n) {
    ASSERT_NEAR(current[n], p0 / mass_value * density[n], 1e-11 * scale) << n;
  }
}

}  // namespace
}  // namespace phasespace
