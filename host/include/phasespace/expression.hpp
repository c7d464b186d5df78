#pragma once
// A real expression of named variables (default x and t), parsed by muparser.
// Evaluation is not thread-safe on one object: copy it per thread.
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phasespace {

class Expression {
 public:
  // Throws ExpressionError quoting the text when it does not parse, uses unknown variables,
  // or `field` (the config path, for the message) is given.
  explicit Expression(std::string text, std::vector<std::string> variables = {"x", "t"},
                      std::map<std::string, double> constants = {}, std::string field = "");
  Expression(const Expression& other);
  Expression& operator=(const Expression& other);
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  ~Expression();

  const std::string& text() const { return text_; }
  bool uses(const std::string& variable) const;
  // Values in the order of `variables`.
  double operator()(double a, double b = 0.0) const;
  // d/d(first variable), numerically (muparser's 5-point stencil, step scaled to |a|).
  double derivative(double a, double b = 0.0) const;

 private:
  struct Impl;
  std::string text_;
  std::vector<std::string> variables_;
  std::map<std::string, double> constants_;
  std::string field_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace
