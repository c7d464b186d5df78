#pragma once
// Private to the CPU Liouville solver: its periodic cubic B-spline X sweep, over all columns at
// once. Shifting one column at a time (LineShifter) walks f with a stride of a whole row per
// value; here the B-spline prefilter along x (a causal and an anticausal first-order recursion)
// runs along the rows for every column together, vectorised over the momenta, into a
// coefficient array, and the shift is then a 4-point stencil on the coefficients of each column,
// combined a block of rows at a time as the Lagrange X sweeps are. Three passes over f.
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "lagrange_sweeps.hpp"
#include "phasespace/projection.hpp"
#include "row_kernels.hpp"

namespace phasespace::detail {

class SplineXSweep {
 public:
  SplineXSweep(const PhaseSpaceGrid& grid, int threads);

  // f(x0_c, p_j) ← f(x0_c - p_j·cells_per_momentum·dx0, p_j), the B-spline interpolant of each
  // column (periodic in x), in place.
  void shift(std::span<double> f, double cells_per_momentum);

 private:
  // coefficients = the periodic B-spline coefficients of every column of f, divided by -6z
  // (that factor is in the stencil weights), for columns [first, last).
  void prefilter(const double* f, std::size_t first, std::size_t last);
  const XStencil& stencil(double cells_per_momentum);
  int team_size() const;

  PhaseSpaceGrid grid_;
  std::size_t centres_;
  std::size_t momenta_;
  std::size_t padded_momenta_;  // padded_row_length: of the stencil weights
  int threads_;
  HugePageArray coefficients_;
  RecentEntries<XStencil, 8> stencils_;  // per fraction
};

}  // namespace phasespace::detail
