#pragma once
// Initial states: pure ones (packets, WKB, superpositions) and mixed ensembles.
// Every wavefunction is normalised on the grid, ‖ψ‖² = dx Σ|ψ|² = 1.
#include <complex>
#include <string>
#include <vector>

#include "phasespace/ensemble.hpp"

namespace phasespace {

// ψ = (2πσ²)^{-1/4} exp[-(x-x0)²/4σ² + i p0 x/ħ]; σ is the standard deviation of |ψ|².
// Periodic: x - x0 is taken to the nearest image.
struct GaussianPacket {
  double x0 = 0.0;
  double p0 = 0.0;
  double sigma = 1.0;
};
AlignedVector<complex> gaussian_packet(const Grid& grid, double hbar, const GaussianPacket& packet);

// ψ = a(x) e^{iS(x)/ħ}, a and S expressions in x, normalised on the grid.
AlignedVector<complex> wkb_state(const Grid& grid, double hbar, const std::string& amplitude,
                                 const std::string& phase);

// Σ_j c_j |packet_j⟩, normalised as a whole.
struct PacketTerm {
  std::complex<double> coefficient;
  GaussianPacket packet;
};
AlignedVector<complex> superposition(const Grid& grid, double hbar,
                                     const std::vector<PacketTerm>& terms);

// Displaced squeezed thermal state with Wigner function N((x0,p0), diag(σx², σp²)).
// Members: displaced, squeezed oscillator eigenstates φ_n, weights (1-q)q^n, q = n̄/(n̄+1),
// n̄ = σxσp/ħ - 1/2, truncated once the left-out weight q^M falls below weight_tolerance,
// then renormalised. Throws InputError when σxσp < ħ/2.
struct GaussianMixedState {
  double x0 = 0.0;
  double p0 = 0.0;
  double sigma_x = 1.0;
  double sigma_p = 1.0;
  double weight_tolerance = 1e-10;
};
Ensemble gaussian_mixed_state(const Grid& grid, double hbar, const GaussianMixedState& state);

// Coherent-state sampling of a classical density f0(x, p) (expression in x and p): Gaussian
// packets of width σ = sqrt(ħ/2)·aspect on the lattice of spacings Δx = sqrt(πħ)·aspect·spacing,
// Δp = sqrt(πħ)/aspect·spacing, weights ∝ f0 at the lattice points (cells with f0 ≤ 0 skipped).
struct CoherentEnsemble {
  std::string density;  // f0(x, p)
  double aspect = 1.0;
  double spacing = 1.0;
  double x_range[2] = {0.0, 0.0};  // lattice extent in x; defaults to the grid
  double p_range[2] = {-1.0, 1.0};
};
Ensemble coherent_ensemble(const Grid& grid, double hbar, const CoherentEnsemble& state);

// ψ of a pure state as a one-member ensemble.
Ensemble pure_state(const Grid& grid, AlignedVector<complex> psi);

}  // namespace phasespace
