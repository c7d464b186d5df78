#pragma once
// Windowed projection of wavefunctions onto the phase-space density
//   A(x0, p) = ∫ w(x - x0) e^{-ip(x-x0)/ħ} ψ(x) dx,   ρ(x0, p) = Σ_k w_k |A_k|² / (2πħ).
// Discretely: A(x0_c, p_j) = dx Σ_m w(m dx) e^{-i p_j m dx/ħ} ψ(x0_c + m dx), computed for all
// centres (and all members) as one batched zero-padded FFT of length fft_length.
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "phasespace/ensemble.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/kernels/window.hpp"

namespace phasespace {

using WindowShape = kernels::WindowShape;  // box, gaussian, hann
WindowShape parse_window_shape(const std::string& name, const std::string& field = "window.shape");
std::string to_string(WindowShape shape);

// A window normalised to ∫|w|² dx = 1, labelled by its centre.
//   box:      w = Δx^{-1/2} on [-Δx/2, Δx/2), width = Δx; a sample whose cell
//             [m dx - dx/2, m dx + dx/2) is cut by an edge is weighted by the covered fraction.
//   gaussian: w = (πσ²)^{-1/4} e^{-u²/2σ²}, width = σ (Husimi).
//   hann:     w = sqrt(8/3Δx)·cos²(πu/Δx) on |u| < Δx/2, width = Δx.
struct Window {
  WindowShape shape = WindowShape::gaussian;
  double width = 1.0;

  // Sample weight at offset u = m·dx from the centre.
  double sample(double offset, double dx) const;
  // Samples with |m| <= support_half_points(dx) carry all non-negligible weight (< 1e-17).
  std::size_t support_half_points(double dx) const;
};

// The sweep rule width = coefficient·ħ^exponent.
double window_width_rule(double coefficient, double exponent, double hbar);

// The phase-space grid on which quantum and classical densities live.
// Centres x0_c = grid.x(c·centre_stride), c = 0..centres-1 (periodic with the quantum grid);
// momenta p_j = (k_first + j)·dp, dp = 2πħ/(fft_length·dx), j = 0..momenta-1.
struct PhaseSpaceGrid {
  double hbar = 1.0;
  std::size_t centre_stride = 1;
  std::size_t centres = 0;
  double x0_first = 0.0;
  double dx0 = 0.0;
  std::size_t fft_length = 0;
  long k_first = 0;
  std::size_t momenta = 0;
  double dp = 0.0;

  double x0(std::size_t c) const { return x0_first + static_cast<double>(c) * dx0; }
  double p(std::size_t j) const { return static_cast<double>(k_first + static_cast<long>(j)) * dp; }
  double x_length() const { return static_cast<double>(centres) * dx0; }
  std::size_t cells() const { return centres * momenta; }
  // True when p_j = -p_{momenta-1-j} for all j (needed by back-scattering).
  bool momentum_symmetric() const { return 2 * k_first + static_cast<long>(momenta) - 1 == 0; }
};

struct PhaseSpaceOptions {
  // Centre spacing in quantum grid points; default: the largest power of two <= the window's
  // width/4 in points (at least 1). Must divide the grid size.
  std::optional<std::size_t> centre_stride;
  // FFT length; default: the smallest power of two >= the window support (2·half + 1).
  std::optional<std::size_t> fft_length;
  // Keep |p| <= p_max (symmetric grid k = -K..K); default: all fft_length momenta, k = -M/2..M/2-1.
  // (The config's phase_space.p_max; resolution.p_cut is the quantum grid's, a different thing.)
  std::optional<double> p_max;
};

// Validates and derives the grid; throws InputError naming the option that is inconsistent.
PhaseSpaceGrid make_phase_space_grid(const Grid& grid, double hbar, const Window& window,
                                     const PhaseSpaceOptions& options = {});

class Projector {
 public:
  // memory_budget bounds the batch buffer; the batch is chunked to fit.
  Projector(const Grid& grid, const Window& window, const PhaseSpaceGrid& phase_space,
            std::size_t memory_budget = std::size_t{256} << 20);
  ~Projector();
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // density[c·momenta + j] = Σ_k w_k |A_k(x0_c, p_j)|² / (2πħ). `density` has phase_space.cells().
  void project(const Ensemble& ensemble, std::span<double> density);
  // Bytes of work buffers this projector holds (bounded by the budget).
  std::size_t memory_bytes() const;
  const PhaseSpaceGrid& phase_space() const { return phase_space_; }

 private:
  struct Impl;
  Grid grid_;
  Window window_;
  PhaseSpaceGrid phase_space_;
  std::unique_ptr<Impl> impl_;
};

// Observables straight from ψ (weighted over the ensemble), on the quantum grid:
// n(x) = Σ w_k |ψ_k|², j(x) = Σ w_k (ħ/m) Im(ψ_k* ∂ψ_k) with a spectral derivative.
std::vector<double> position_density(const Ensemble& ensemble);
std::vector<double> current_density(const Ensemble& ensemble, double hbar, double mass);
// The same smoothed by |w|² and sampled at the centres: ∫|w(x - x0_c)|² n(x) dx, so they are
// comparable with the marginals ∫ρ dp and ∫(p/m)ρ dp.
std::vector<double> smooth_at_centres(const Grid& grid, const Window& window,
                                      const PhaseSpaceGrid& phase_space,
                                      std::span<const double> values);

}  // namespace phasespace
