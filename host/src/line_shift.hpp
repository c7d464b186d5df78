#pragma once
// Private to the CPU reference: shifting many lines of one length by constant amounts.
// A LineShifter holds what is shared (FFTW plans); each thread brings its own Scratch.
#include <complex>
#include <cstddef>
#include <vector>

#include <fftw3.h>

#include "phasespace/aligned_vector.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace::detail {

class LineShifter {
 public:
  struct Scratch {
    std::vector<double> extended;          // stencil input: the line plus halos
    std::vector<double> coefficients;      // spline: B-spline coefficients of lines_together lines
    AlignedVector<double> real;            // spectral: padded real line
    AlignedVector<std::complex<double>> spectrum;
    std::vector<std::complex<double>> phases;  // spectral: the two tables of its phase factors
  };

  // Validates the interpolation and makes the FFTW plans (not thread-safe: call serially).
  LineShifter(const Interpolation& interpolation, std::size_t length, bool zero_outside);
  ~LineShifter();
  LineShifter(const LineShifter&) = delete;
  LineShifter& operator=(const LineShifter&) = delete;

  Scratch make_scratch() const;
  // out[i] = f(i - shift) for i < length; `in` and `out` may be the same line.
  // Thread-safe when every thread uses its own scratch.
  void shift(const double* in, double* out, double shift, Scratch& scratch) const;
  // The same for count <= lines_together lines at once (in[l] and out[l] may be the same line):
  // spline prefilters run interleaved, which is faster than one line after another.
  static constexpr std::size_t lines_together = 4;
  void shift_lines(const double* const* in, double* const* out, const double* shifts,
                   std::size_t count, Scratch& scratch) const;
  std::size_t length() const { return length_; }

 private:
  void shift_lagrange(const double* in, double* out, double shift, Scratch& scratch) const;
  void shift_spline(const double* in, double* out, double shift, Scratch& scratch) const;
  void apply_spline(const double* coefficients, double* out, double shift, Scratch& scratch) const;
  void shift_spectral(const double* in, double* out, double shift, Scratch& scratch) const;

  Interpolation interpolation_;
  std::size_t length_;
  bool zero_outside_;
  std::size_t fft_length_ = 0;  // spectral: length, or kernels::fft_shift_length when zero outside
  fftw_plan forward_ = nullptr;
  fftw_plan backward_ = nullptr;
};

// Throws InputError naming `field` unless the interpolation is one the solver offers.
void validate_interpolation(const Interpolation& interpolation, const std::string& field);

}  // namespace phasespace::detail
