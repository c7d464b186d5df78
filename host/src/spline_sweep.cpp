// The CPU Liouville solver's spline X sweep over all columns at once (see spline_sweep.hpp).
// The prefilter is LineShifter's periodic one (interpolation.cpp: Unser's recursive filter with
// the pole z, started from the periodic sums), run for a slice of columns per thread.
#include "spline_sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <omp.h>

#include "phasespace/kernels/interpolation.hpp"

namespace phasespace::detail {

namespace {

// Terms of the periodic sums that start the recursions: |z|^48 < 1e-27.
constexpr std::size_t start_terms = 48;

}  // namespace

SplineXSweep::SplineXSweep(const PhaseSpaceGrid& grid, int threads)
    : grid_(grid),
      centres_(grid.centres),
      momenta_(grid.momenta),
      padded_momenta_(padded_row_length(grid.momenta)),
      threads_(std::max(1, threads)) {}

void SplineXSweep::shift(std::span<double> f, double cells_per_momentum) {
  if (coefficients_.size() != f.size()) coefficients_.resize(f.size());
  const XStencil& columns = stencil(cells_per_momentum);
  const double* coefficients = coefficients_.data();
  const long length = static_cast<long>(centres_);
  auto coefficient_row = [&](long i) {
    return coefficients + static_cast<std::size_t>(wrap_index(i, length)) * momenta_;
  };
  double* data = f.data();
  const bool stream = reinterpret_cast<std::uintptr_t>(data) % 16 == 0 && momenta_ % 2 == 0;
  const std::size_t blocks = (centres_ + block_rows - 1) / block_rows;
  const long first_node = kernels::stencil_first(4);
#pragma omp parallel num_threads(team_size())
  {
    // The prefilter runs down whole columns: each thread a slice of them, whole vectors wide.
    const auto part = static_cast<std::size_t>(omp_get_thread_num());
    const auto parts = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t groups = (momenta_ + lane_count - 1) / lane_count;
    const std::size_t first = std::min(momenta_, groups * part / parts * lane_count);
    const std::size_t last = std::min(momenta_, groups * (part + 1) / parts * lane_count);
    if (first < last) prefilter(data, first, last);
#pragma omp barrier
    // Every coefficient is known: f is overwritten a block of rows at a time.
#pragma omp for schedule(static)
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first_row = b * block_rows;
      const std::size_t count = std::min(block_rows, centres_ - first_row);
      combine_column_block(coefficient_row, static_cast<long>(first_row), count, columns,
                           first_node, padded_momenta_, data + first_row * momenta_,
                           momenta_, stream);
    }
    fence_streamed_rows();
  }
}

void SplineXSweep::prefilter(const double* f, std::size_t first, std::size_t last) {
  const double z = kernels::bspline_pole;
  const std::size_t n = centres_;
  const std::size_t width = last - first;
  double* c = coefficients_.data();
  auto row = [&](std::size_t r) { return c + r * momenta_ + first; };
  auto input_row = [&](std::size_t r) { return f + r * momenta_ + first; };
  const std::size_t terms = std::min(n, start_terms);
  const double wrap_factor = 1.0 / (1.0 - std::pow(z, static_cast<double>(n)));
  // Causal: c[0] = Σ_k z^k f[(n - k) mod n]/(1 - z^n), then c[r] = f[r] + z·c[r - 1].
  std::vector<double> start(width, 0.0);
  double power = 1.0;
  for (std::size_t k = 0; k < terms; ++k) {
    add_scaled_row(start.data(), input_row((n - k) % n), power, width);
    power *= z;
  }
  double* first_row = row(0);
  for (std::size_t j = 0; j < width; ++j) first_row[j] = start[j] * wrap_factor;
  for (std::size_t r = 1; r < n; ++r) recursive_filter_row(row(r), input_row(r), row(r - 1), z, width);
  // Anticausal: c[n-1] = Σ_k z^k c[(n - 1 + k) mod n]/(1 - z^n), then c[r] += z·c[r + 1].
  std::fill(start.begin(), start.end(), 0.0);
  power = 1.0;
  for (std::size_t k = 0; k < terms; ++k) {
    add_scaled_row(start.data(), row((n - 1 + k) % n), power, width);
    power *= z;
  }
  double* last_row = row(n - 1);
  for (std::size_t j = 0; j < width; ++j) last_row[j] = start[j] * wrap_factor;
  for (std::size_t r = n - 1; r-- > 0;) add_scaled_row(row(r), row(r + 1), z, width);
}

// The B-spline weights of each column, times the prefilter's gain -6z (left out of the
// coefficients), kept per fraction like the Lagrange stencils.
const XStencil& SplineXSweep::stencil(double cells_per_momentum) {
  return stencils_.find_or_make(
      [&](const XStencil& cached) { return cached.cells_per_momentum == cells_per_momentum; },
      [&] {
        XStencil made;
        make_column_stencil(made, grid_, 4, padded_momenta_, cells_per_momentum,
                            [](double fraction, double* weights) {
                              kernels::bspline_weights(fraction, weights);
                              for (int m = 0; m < 4; ++m) weights[m] *= -6.0 * kernels::bspline_pole;
                            });
        return made;
      });
}

int SplineXSweep::team_size() const {
  return centres_ * momenta_ >= parallel_cells ? threads_ : 1;
}

}  // namespace phasespace::detail
