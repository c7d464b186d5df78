#include "phasespace/potential.hpp"

#include <cmath>

#include "phasespace/errors.hpp"

namespace phasespace {

Potential::Potential(const std::string& expression,
                     const std::optional<std::string>& derivative_expression,
                     const std::string& field)
    : value_(expression, {"x", "t"}, {}, field), field_(field) {
  if (derivative_expression) {
    derivative_.emplace(*derivative_expression, std::vector<std::string>{"x", "t"},
                        std::map<std::string, double>{}, field + "_derivative");
  }
}

namespace {

[[noreturn]] void throw_not_finite(const std::string& field, const std::string& text, double x,
                                   double t, double value) {
  throw InputError(field + " = \"" + text + "\": not finite at x = " + format_number(x) +
                   ", t = " + format_number(t) + " (" + format_number(value) +
                   "); U and U' must be finite on the whole domain at every time of the run");
}

}  // namespace

double Potential::value(double x, double t) const {
  const double u = value_(x, t);
  if (!std::isfinite(u)) throw_not_finite(field_, value_.text(), x, t, u);
  return u;
}

double Potential::derivative(double x, double t) const {
  const double slope = derivative_ ? (*derivative_)(x, t) : value_.derivative(x, t);
  if (!std::isfinite(slope)) {
    if (derivative_) throw_not_finite(field_ + "_derivative", derivative_->text(), x, t, slope);
    throw_not_finite(field_ + " (its numerical derivative)", value_.text(), x, t, slope);
  }
  return slope;
}

void Potential::sample(const Grid& grid, double t, std::span<double> out) const {
  require(out.size() == grid.size, "Potential::sample output size", std::to_string(out.size()),
          "must equal the grid size " + std::to_string(grid.size));
  for (std::size_t n = 0; n < grid.size; ++n) out[n] = value(grid.x(n), t);
}

}  // namespace phasespace
