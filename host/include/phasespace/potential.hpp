#pragma once
// U(x, t) from an expression, and U'(x, t) for the classical side (analytic expression when
// given, else muparser's numerical derivative). Every value handed out is finite: where U or U'
// is not (log(x) at x <= 0, 1/(0.5 - t) at t = 0.5), they throw InputError naming the field, x
// and t, so no run goes on with a NaN in its kick phases or forces.
#include <optional>
#include <span>
#include <string>

#include "phasespace/expression.hpp"
#include "phasespace/grid.hpp"

namespace phasespace {

class Potential {
 public:
  explicit Potential(const std::string& expression,
                     const std::optional<std::string>& derivative_expression = std::nullopt,
                     const std::string& field = "system.potential");

  double value(double x, double t = 0.0) const;
  double derivative(double x, double t = 0.0) const;
  bool time_dependent() const { return value_.uses("t"); }
  const std::string& text() const { return value_.text(); }

  // out[n] = U(x_n, t) on the grid.
  void sample(const Grid& grid, double t, std::span<double> out) const;

 private:
  Expression value_;
  std::optional<Expression> derivative_;
  std::string field_;
};

}  // namespace phasespace
