#include "phasespace/errors.hpp"

#include <sstream>

namespace phasespace {

void require(bool condition, const std::string& field, const std::string& value,
             const std::string& allowed) {
  if (!condition) throw InputError(field + " = " + value + ": " + allowed);
}

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(10);
  out << value;
  return out.str();
}

}  // namespace phasespace
