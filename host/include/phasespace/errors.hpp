#pragma once
// Typed errors. Every message names what was wrong, the value, and what is allowed.
#include <stdexcept>
#include <string>

namespace phasespace {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Invalid input to the API or the config: names the field, the value and what is allowed.
struct InputError : Error {
  using Error::Error;
};

// An expression that muparser could not parse or evaluate; the message quotes it.
struct ExpressionError : InputError {
  using InputError::InputError;
};

// A backend that this build does not contain (e.g. "backend cuda not compiled in"): the input
// asks for what this build cannot do.
struct NotCompiled : InputError {
  using InputError::InputError;
};

// A failed CUDA runtime or cuFFT call: names the call, its error, file and line.
struct CudaError : Error {
  using Error::Error;
};
struct CufftError : Error {
  using Error::Error;
};

// Throws InputError("<field> = <value>: <allowed>") unless condition holds.
void require(bool condition, const std::string& field, const std::string& value,
             const std::string& allowed);

std::string format_number(double value);

}  // namespace phasespace
