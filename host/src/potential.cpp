#include "phasespace/potential.hpp"

#include "phasespace/errors.hpp"

namespace phasespace {

Potential::Potential(const std::string& expression,
                     const std::optional<std::string>& derivative_expression,
                     const std::string& field)
    : value_(expression, {"x", "t"}, {}, field) {
  if (derivative_expression) {
    derivative_.emplace(*derivative_expression, std::vector<std::string>{"x", "t"},
                        std::map<std::string, double>{}, field + "_derivative");
  }
}

double Potential::derivative(double x, double t) const {
  return derivative_ ? (*derivative_)(x, t) : value_.derivative(x, t);
}

void Potential::sample(const Grid& grid, double t, std::span<double> out) const {
  require(out.size() == grid.size, "Potential::sample output size", std::to_string(out.size()),
          "must equal the grid size " + std::to_string(grid.size));
  for (std::size_t n = 0; n < grid.size; ++n) out[n] = value_(grid.x(n), t);
}

}  // namespace phasespace
