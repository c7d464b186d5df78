#include "phasespace/ensemble.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>

#include "phasespace/errors.hpp"

namespace phasespace {

void* fftw_aligned_allocate(std::size_t bytes) {
  void* pointer = fftw_malloc(bytes == 0 ? 1 : bytes);
  if (pointer == nullptr) throw std::bad_alloc();
  return pointer;
}

void fftw_aligned_free(void* pointer) noexcept { fftw_free(pointer); }

Ensemble::Ensemble(const Grid& grid_in, std::size_t members)
    : grid(grid_in), weights(members, members > 0 ? 1.0 / static_cast<double>(members) : 0.0),
      psi(members * grid_in.size, complex(0.0, 0.0)) {}

std::span<complex> Ensemble::member(std::size_t k) {
  return {psi.data() + k * grid.size, grid.size};
}

std::span<const complex> Ensemble::member(std::size_t k) const {
  return {psi.data() + k * grid.size, grid.size};
}

void Ensemble::add(double weight, std::span<const complex> wavefunction) {
  require(wavefunction.size() == grid.size, "ensemble member size",
          std::to_string(wavefunction.size()), "must equal the grid size " + std::to_string(grid.size));
  require(weight >= 0.0, "ensemble weight", format_number(weight), "must be >= 0");
  weights.push_back(weight);
  psi.insert(psi.end(), wavefunction.begin(), wavefunction.end());
}

double Ensemble::norm(std::size_t k) const {
  double sum = 0.0;
  for (const complex& value : member(k)) sum += std::norm(value);
  return sum * grid.dx();
}

double Ensemble::trace() const {
  double sum = 0.0;
  for (std::size_t k = 0; k < members(); ++k) sum += weights[k] * norm(k);
  return sum;
}

void Ensemble::normalise_weights() {
  require(!weights.empty(), "initial_state", "an empty ensemble", "needs at least one member");
  for (double weight : weights) {
    require(weight >= 0.0 && std::isfinite(weight), "initial_state weight", format_number(weight),
            "weights must be finite and >= 0");
  }
  const double largest = *std::max_element(weights.begin(), weights.end());
  require(largest > 0.0, "initial_state weights", "all zero", "at least one weight must be > 0");
  double total = 0.0;
  for (double weight : weights) total += weight;
  if (std::isfinite(total)) {
    for (double& weight : weights) weight /= total;
    return;
  }
  // The sum overflowed (1e308 + 1e308): scaled by the largest weight first, it cannot.
  total = 0.0;
  for (double weight : weights) total += weight / largest;
  for (double& weight : weights) weight = weight / largest / total;
}

}  // namespace phasespace
