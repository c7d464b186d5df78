#pragma once
// Centred Lagrange interpolation of odd order n (n+1 points) for a shift by a fractional
// amount: a value at position i0 + s (0 <= s < 1) uses samples i0 - (n-1)/2 .. i0 + (n+1)/2.
#include <type_traits>

#include "phasespace/kernels/common.hpp"

namespace phasespace::kernels {

// Calls visit(std::integral_constant<int, C>{}) for the one C of Counts equal to `count`, so the
// callee has it at compile time; returns false, calling nothing, when none is: a closed set of
// counts has no fallback (the caller throws).
template <int... Counts, class Visit>
constexpr bool visit_count(int count, Visit&& visit) {
  return ((count == Counts && (visit(std::integral_constant<int, Counts>{}), true)) || ...);
}

// The Lagrange stencils the solver has: odd orders 3, 5, 7, 9 (classical.interpolation
// lagrange3 .. lagrange9), that is 4, 6, 8 or 10 points. No other count exists anywhere.
template <class Visit>
constexpr bool visit_lagrange_points(int points, Visit&& visit) {
  return visit_count<4, 6, 8, 10>(points, visit);
}
constexpr bool is_lagrange_points(int points) {
  return visit_lagrange_points(points, [](auto) {});
}
constexpr int max_lagrange_points = 10;
static_assert(is_lagrange_points(max_lagrange_points) && !is_lagrange_points(max_lagrange_points + 2));

// weights[m] for sample i0 - (points/2 - 1) + m, m = 0..points-1, at fractional position s.
PHASESPACE_HOST_DEVICE inline void lagrange_weights(int points, double s, double* weights) {
  const int first = -(points / 2 - 1);
  for (int m = 0; m < points; ++m) {
    double w = 1.0;
    const double node_m = static_cast<double>(first + m);
    for (int l = 0; l < points; ++l) {
      if (l == m) continue;
      const double node_l = static_cast<double>(first + l);
      w *= (s - node_l) / (node_m - node_l);
    }
    weights[m] = w;
  }
}

}  // namespace phasespace::kernels
