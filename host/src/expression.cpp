#include "phasespace/expression.hpp"

#include <muParser.h>

#include <cmath>
#include <numbers>

#include "phasespace/errors.hpp"

namespace phasespace {

struct Expression::Impl {
  mu::Parser parser;
  std::vector<double> values;  // storage the parser's variables point to
};

namespace {
std::string describe(const std::string& field, const std::string& text) {
  return (field.empty() ? std::string("expression") : field) + " = \"" + text + "\"";
}
}  // namespace

Expression::Expression(std::string text, std::vector<std::string> variables,
                       std::map<std::string, double> constants, std::string field)
    : text_(std::move(text)),
      variables_(std::move(variables)),
      constants_(std::move(constants)),
      field_(std::move(field)),
      impl_(std::make_unique<Impl>()) {
  impl_->values.assign(variables_.size(), 0.0);
  try {
    impl_->parser.DefineConst("pi", std::numbers::pi);
    for (const auto& [name, value] : constants_) impl_->parser.DefineConst(name, value);
    for (std::size_t i = 0; i < variables_.size(); ++i) {
      impl_->parser.DefineVar(variables_[i], &impl_->values[i]);
    }
    impl_->parser.SetExpr(text_);
    impl_->parser.Eval();  // parses now, so errors surface at construction
  } catch (const mu::Parser::exception_type& error) {
    std::string allowed = "variables";
    for (const auto& name : variables_) allowed += " " + name;
    allowed += ", constant pi";
    for (const auto& [name, value] : constants_) allowed += ", " + name;
    throw ExpressionError(describe(field_, text_) + ": " + error.GetMsg() + " (allowed: " +
                          allowed + ", and muparser's functions)");
  }
}

Expression::Expression(const Expression& other)
    : Expression(other.text_, other.variables_, other.constants_, other.field_) {}

Expression& Expression::operator=(const Expression& other) {
  if (this != &other) *this = Expression(other);
  return *this;
}

Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

bool Expression::uses(const std::string& variable) const {
  const auto used = impl_->parser.GetUsedVar();
  return used.find(variable) != used.end();
}

double Expression::operator()(double a, double b) const {
  if (!impl_->values.empty()) impl_->values[0] = a;
  if (impl_->values.size() > 1) impl_->values[1] = b;
  double result = 0.0;
  try {
    result = impl_->parser.Eval();
  } catch (const mu::Parser::exception_type& error) {
    throw ExpressionError(describe(field_, text_) + ": " + error.GetMsg());
  }
  return result;
}

double Expression::derivative(double a, double b) const {
  if (impl_->values.empty()) return 0.0;
  if (impl_->values.size() > 1) impl_->values[1] = b;
  // Step ~ eps^{1/5}·scale balances truncation and round-off of the 5-point stencil.
  const double step = 1e-3 * std::max(1.0, std::abs(a));
  try {
    return impl_->parser.Diff(&impl_->values[0], a, step);
  } catch (const mu::Parser::exception_type& error) {
    throw ExpressionError(describe(field_, text_) + ": " + error.GetMsg());
  }
}

}  // namespace phasespace
