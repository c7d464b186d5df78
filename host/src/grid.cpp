#include "phasespace/grid.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "phasespace/errors.hpp"

namespace phasespace {

double Grid::momentum(std::size_t k, double hbar) const {
  return 2.0 * std::numbers::pi * hbar * static_cast<double>(signed_index(k)) / length;
}

double Grid::max_momentum(double hbar) const { return std::numbers::pi * hbar / dx(); }

Grid make_grid(double x_min, double x_max, std::size_t size) {
  require(std::isfinite(x_min) && std::isfinite(x_max) && x_max > x_min, "system.domain",
          "[" + format_number(x_min) + ", " + format_number(x_max) + "]",
          "needs finite x_min < x_max");
  require(size >= 2, "resolution.points", std::to_string(size), "needs at least 2 points");
  return Grid{x_min, x_max - x_min, size};
}

namespace {
bool has_only_small_factors(std::size_t n) {
  for (std::size_t factor : {2u, 3u, 5u, 7u}) {
    while (n % factor == 0) n /= factor;
  }
  return n == 1;
}
}  // namespace

std::size_t next_fft_size(std::size_t n) {
  std::size_t candidate = n < 1 ? 1 : n;
  while (!has_only_small_factors(candidate)) ++candidate;
  return candidate;
}

std::size_t grid_size_for_momentum(double length, double hbar, double p_cut, double oversampling) {
  require(hbar > 0.0 && std::isfinite(hbar), "hbar", format_number(hbar), "must be > 0");
  require(p_cut > 0.0 && std::isfinite(p_cut), "resolution.p_cut", format_number(p_cut),
          "must be > 0");
  require(oversampling >= 1.0, "resolution.oversampling", format_number(oversampling),
          "must be >= 1");
  const double needed = oversampling * p_cut * length / (std::numbers::pi * hbar);
  require(needed < 1e10, "resolution", format_number(needed) + " points",
          "the grid for this hbar and p_cut would exceed 1e10 points");
  std::size_t size = static_cast<std::size_t>(std::ceil(needed));
  if (size % 2 == 1) ++size;  // even sizes keep the Nyquist slot and symmetric momenta
  return next_fft_size(size < 2 ? 2 : size);
}

}  // namespace phasespace
