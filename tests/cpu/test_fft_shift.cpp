// The transfer factors of kernels/fft_shift.hpp (what the CUDA backend multiplies its cuFFT line
// spectra by) applied here with FFTW, against the CPU reference's shift_line: spline and
// spectral, periodic and zero outside, even and odd lengths, every kind of shift.
#include <gtest/gtest.h>

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <vector>

#include "phasespace/kernels/fft_shift.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {
namespace {

using kernels::FftShiftKind;

// out[i] = f(i - shift) by one R2C, the factors and one C2R, as the device does it.
std::vector<double> shift_by_factors(FftShiftKind kind, const std::vector<double>& line,
                                     double shift, bool zero_outside) {
  const long length = static_cast<long>(line.size());
  const long n = kernels::fft_shift_length(kind, length, zero_outside);
  const long modes = n / 2 + 1;
  std::vector<double> real(static_cast<std::size_t>(n), 0.0);
  std::copy(line.begin(), line.end(), real.begin());
  std::vector<std::complex<double>> spectrum(static_cast<std::size_t>(modes));
  auto* complex_data = reinterpret_cast<fftw_complex*>(spectrum.data());
  fftw_plan forward = fftw_plan_dft_r2c_1d(static_cast<int>(n), real.data(), complex_data, FFTW_ESTIMATE);
  fftw_plan backward = fftw_plan_dft_c2r_1d(static_cast<int>(n), complex_data, real.data(), FFTW_ESTIMATE);
  fftw_execute(forward);
  const kernels::FftLineShift parameters = kernels::fft_line_shift(kind, shift, length, n, zero_outside);
  for (long k = 0; k < modes; ++k) {
    const kernels::Factor factor = kernels::fft_shift_factor(kind, parameters, k, n);
    spectrum[static_cast<std::size_t>(k)] *= std::complex<double>(factor.real, factor.imag);
  }
  fftw_execute(backward);
  fftw_destroy_plan(forward);
  fftw_destroy_plan(backward);
  real.resize(line.size());
  return real;
}

Interpolation interpolation_of(FftShiftKind kind) {
  return kind == FftShiftKind::spline ? Interpolation{InterpolationKind::spline, 3}
                                      : Interpolation{InterpolationKind::spectral, 0};
}

std::vector<double> random_line(std::size_t length, unsigned int seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> line(length);
  for (auto& value : line) value = normal(engine);
  return line;
}

double max_magnitude(const std::vector<double>& values) {
  double largest = 0.0;
  for (double value : values) largest = std::max(largest, std::fabs(value));
  return largest;
}

// Shifts in cells for a line of `length`: fractional and integer, both signs, beyond the line
// (periodic: several periods; zero outside: partly and wholly out, past the spline's reach).
std::vector<double> shifts_for(double length) {
  return {0.0,           0.3,           -0.3,           0.5,          -0.5,
          1.0,           -2.0,          3.75,           -7.125,       0.5 * length,
          -0.5 * length, length - 0.6,  -length + 0.25, length,       -length,
          length + 0.4,  -length - 2.7, 2 * length + 1, -3 * length + 0.8,
          length + 40.3, -length - 55.5, length + 63.5, length + 64.2, -length - 65.1,
          -length - 66.0, 1000.0 * length + 0.37, -1e6 - 0.21};
}

void check_kind(FftShiftKind kind, bool zero_outside) {
  const Interpolation interpolation = interpolation_of(kind);
  for (std::size_t length : {17u, 24u, 64u}) {
    const std::vector<double> line = random_line(length, 1234u + static_cast<unsigned int>(length));
    const double scale = max_magnitude(line);
    for (double shift : shifts_for(static_cast<double>(length))) {
      SCOPED_TRACE(to_string(interpolation) + (zero_outside ? ", zero outside" : ", periodic") +
                   ", length " + std::to_string(length) + ", shift " + std::to_string(shift));
      std::vector<double> expected(length);
      shift_line(interpolation, line, expected, shift, zero_outside);
      const std::vector<double> actual = shift_by_factors(kind, line, shift, zero_outside);
      double worst = 0.0;
      for (std::size_t i = 0; i < length; ++i) worst = std::max(worst, std::fabs(actual[i] - expected[i]));
      EXPECT_LE(worst, 1e-13 * scale);
    }
  }
}

TEST(FftShiftFactors, SpectralPeriodicMatchesShiftLine) { check_kind(FftShiftKind::spectral, false); }
TEST(FftShiftFactors, SpectralZeroOutsideMatchesShiftLine) { check_kind(FftShiftKind::spectral, true); }
TEST(FftShiftFactors, SplinePeriodicMatchesShiftLine) { check_kind(FftShiftKind::spline, false); }
TEST(FftShiftFactors, SplineZeroOutsideMatchesShiftLine) { check_kind(FftShiftKind::spline, true); }

// A zero-outside spline line is dropped exactly where the CPU's result becomes exactly zero
// (every coefficient it would use lies beyond its cut), and not one cell earlier.
TEST(FftShiftFactors, SplineLineVanishesExactlyWhereCpuGivesZero) {
  const std::size_t length = 24;
  const long n = kernels::fft_shift_length(FftShiftKind::spline, static_cast<long>(length), true);
  const std::vector<double> line = random_line(length, 99u);
  const double reach = static_cast<double>(kernels::spline_reach);
  const double size = static_cast<double>(length);
  // shift = -(offset + fraction): offsets length + reach + 1 (gone) and length + reach (kept),
  // and at the other end -length - reach - 2 (gone) and -length - reach - 1 (kept).
  const struct {
    double shift;
    bool gone;
  } cases[] = {{-(size + reach + 1) - 0.25, true},
               {-(size + reach) - 0.25, false},
               {size + reach + 2 - 0.25, true},
               {size + reach + 1 - 0.25, false}};
  for (const auto& one : cases) {
    SCOPED_TRACE("shift " + std::to_string(one.shift));
    std::vector<double> cpu(length);
    shift_line(interpolation_of(FftShiftKind::spline), line, cpu, one.shift, true);
    const auto parameters = kernels::fft_line_shift(FftShiftKind::spline, one.shift,
                                                    static_cast<long>(length), n, true);
    EXPECT_EQ(parameters.vanishes, one.gone);
    EXPECT_EQ(max_magnitude(cpu) == 0.0, one.gone) << "largest |value| " << max_magnitude(cpu);
  }
}

// The modes a real transform holds once (DC, and Nyquist of an even length) get real factors:
// a C2R may or may not ignore their imaginary parts (FFTW's does, so the comparisons with
// shift_line above cannot see it), and the CPU keeps its spectral Nyquist mode real, cos(πs).
TEST(FftShiftFactors, DcAndNyquistFactorsAreReal) {
  for (FftShiftKind kind : {FftShiftKind::spline, FftShiftKind::spectral}) {
    for (bool zero_outside : {false, true}) {
      for (long length : {24L, 64L, 38L}) {
        const long n = kernels::fft_shift_length(kind, length, zero_outside);
        for (double shift : shifts_for(static_cast<double>(length))) {
          SCOPED_TRACE(to_string(interpolation_of(kind)) + ", length " + std::to_string(length) +
                       (zero_outside ? ", zero outside" : "") + ", shift " + std::to_string(shift));
          const auto line = kernels::fft_line_shift(kind, shift, length, n, zero_outside);
          EXPECT_EQ(kernels::fft_shift_factor(kind, line, 0, n).imag, 0.0);
          if (n % 2 == 0) {
            EXPECT_EQ(kernels::fft_shift_factor(kind, line, n / 2, n).imag, 0.0);
          }
        }
      }
    }
  }
}

TEST(FftShiftFactors, TransformLengths) {
  EXPECT_EQ(kernels::fft_shift_length(FftShiftKind::spectral, 45, false), 45);
  EXPECT_EQ(kernels::fft_shift_length(FftShiftKind::spline, 45, false), 45);
  EXPECT_EQ(kernels::fft_shift_length(FftShiftKind::spectral, 45, true), 90);
  // 2·38 + 64 + 1 + 32 = 173, and the next length with no prime factor above 7 is 175.
  EXPECT_EQ(kernels::fft_shift_length(FftShiftKind::spline, 38, true), 175);
  EXPECT_TRUE(kernels::is_smooth_length(2 * 3 * 5 * 7 * 8));
  EXPECT_FALSE(kernels::is_smooth_length(2 * 11));
}

}  // namespace
}  // namespace phasespace
