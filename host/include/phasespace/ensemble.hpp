#pragma once
// A weighted ensemble of wavefunctions on one grid: a pure state (one member) or a mixed
// state ρ̂ = Σ_k w_k |ψ_k⟩⟨ψ_k|, Σ w_k = 1. Storage is member-major: psi[k·N + n] = ψ_k(x_n).
#include <complex>
#include <cstddef>
#include <span>
#include <vector>

#include "phasespace/aligned_vector.hpp"
#include "phasespace/grid.hpp"

namespace phasespace {

using complex = std::complex<double>;

struct Ensemble {
  Grid grid;
  std::vector<double> weights;
  AlignedVector<complex> psi;

  Ensemble() = default;
  // `members` zero wavefunctions with equal weights.
  Ensemble(const Grid& grid, std::size_t members);

  std::size_t members() const { return weights.size(); }
  std::span<complex> member(std::size_t k);
  std::span<const complex> member(std::size_t k) const;
  // Appends ψ with weight w (weights are not renormalised here; see normalise_weights).
  void add(double weight, std::span<const complex> wavefunction);
  // ‖ψ_k‖² = dx Σ_n |ψ_k(x_n)|².
  double norm(std::size_t k) const;
  // Σ_k w_k ‖ψ_k‖²: the trace of the density matrix.
  double trace() const;
  // Scales the weights to sum to one; throws InputError if any is negative or all are zero.
  void normalise_weights();
};

}  // namespace phasespace
