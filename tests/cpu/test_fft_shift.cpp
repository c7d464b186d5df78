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
#include <utility>
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

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
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

// The device's sweeps of a whole field f[c·momenta + j], emulated with FFTW's advanced interface
// (whose strides and distances mean what cuFFT's do) in the device's layouts and mode indexing
// (kernels::column_layout, row_layout, row_spectrum_layout, spectrum_element): what the GPU
// tests would catch in them, caught here without a GPU.
using Spectrum = std::vector<std::complex<double>>;

void multiply_like_device(FftShiftKind kind, Spectrum& spectrum,
                          const std::vector<kernels::FftLineShift>& lines, long n, bool lines_adjacent) {
  const std::size_t modes = static_cast<std::size_t>(n / 2 + 1);
  for (std::size_t i = 0; i < lines.size() * modes; ++i) {
    const auto element = kernels::spectrum_element(i, lines.size(), modes, lines_adjacent);
    const auto factor = kernels::fft_shift_factor(kind, lines[element.line], element.mode, n);
    spectrum[i] *= std::complex<double>(factor.real, factor.imag);
  }
}

// `lines` transforms of length n from `real` to `spectrum` (forward) or back, in those layouts.
void transform_like_device(bool forward, int n, int lines, double* real,
                           kernels::FftLineLayout real_layout, Spectrum& spectrum,
                           kernels::FftLineLayout spectrum_layout) {
  int real_embed = n;
  int complex_embed = n / 2 + 1;
  auto* complex_data = reinterpret_cast<fftw_complex*>(spectrum.data());
  const auto stride = [](kernels::FftLineLayout layout) { return static_cast<int>(layout.stride); };
  const auto distance = [](kernels::FftLineLayout layout) { return static_cast<int>(layout.distance); };
  fftw_plan plan =
      forward ? fftw_plan_many_dft_r2c(1, &n, lines, real, &real_embed, stride(real_layout),
                                       distance(real_layout), complex_data, &complex_embed,
                                       stride(spectrum_layout), distance(spectrum_layout), FFTW_ESTIMATE)
              : fftw_plan_many_dft_c2r(1, &n, lines, complex_data, &complex_embed,
                                       stride(spectrum_layout), distance(spectrum_layout), real,
                                       &real_embed, stride(real_layout), distance(real_layout),
                                       FFTW_ESTIMATE);
  ASSERT_NE(plan, nullptr);
  fftw_execute(plan);
  fftw_destroy_plan(plan);
}

std::vector<kernels::FftLineShift> line_parameters(FftShiftKind kind, const std::vector<double>& shifts,
                                                   long length, long n, bool zero_outside) {
  std::vector<kernels::FftLineShift> lines;
  for (double shift : shifts) lines.push_back(kernels::fft_line_shift(kind, shift, length, n, zero_outside));
  return lines;
}

std::vector<double> sweep_columns_like_device(FftShiftKind kind, std::vector<double> f, long centres,
                                              long momenta, const std::vector<double>& shifts) {
  Spectrum spectrum(static_cast<std::size_t>((centres / 2 + 1) * momenta));
  std::vector<double> out(f.size());
  const auto layout = kernels::column_layout(momenta);
  const int n = static_cast<int>(centres);
  transform_like_device(true, n, static_cast<int>(momenta), f.data(), layout, spectrum, layout);
  multiply_like_device(kind, spectrum, line_parameters(kind, shifts, centres, centres, false), centres, true);
  transform_like_device(false, n, static_cast<int>(momenta), out.data(), layout, spectrum, layout);
  return out;
}

std::vector<double> sweep_rows_like_device(FftShiftKind kind, std::vector<double> f, long centres,
                                           long momenta, const std::vector<double>& shifts,
                                           bool zero_outside) {
  const long n = kernels::fft_shift_length(kind, momenta, zero_outside);
  Spectrum spectrum(static_cast<std::size_t>(kernels::fft_shift_spectrum_values(kind, centres, momenta, zero_outside)));
  std::vector<double> out(f.size());
  const auto lines = line_parameters(kind, shifts, momenta, n, zero_outside);
  const auto spectrum_layout = kernels::row_spectrum_layout(n);
  const auto real_layout = kernels::row_layout(momenta, n, zero_outside);
  double* real = zero_outside ? reinterpret_cast<double*>(spectrum.data()) : f.data();
  for (long c = 0; zero_outside && c < centres; ++c) {  // the pad kernel
    for (long i = 0; i < n; ++i) real[c * real_layout.distance + i] = i < momenta ? f[static_cast<std::size_t>(c * momenta + i)] : 0.0;
  }
  transform_like_device(true, static_cast<int>(n), static_cast<int>(centres), real, real_layout, spectrum, spectrum_layout);
  multiply_like_device(kind, spectrum, lines, n, false);
  if (!zero_outside) real = out.data();
  transform_like_device(false, static_cast<int>(n), static_cast<int>(centres), real, real_layout, spectrum, spectrum_layout);
  for (long c = 0; zero_outside && c < centres; ++c) {  // the unpad kernel
    for (long i = 0; i < momenta; ++i) out[static_cast<std::size_t>(c * momenta + i)] = real[c * real_layout.distance + i];
  }
  return out;
}

// Line l of the field (a column when `columns`), shifted by shift_line.
std::vector<double> shift_field_by_lines(FftShiftKind kind, const std::vector<double>& f, std::size_t centres,
                                         std::size_t momenta, const std::vector<double>& shifts,
                                         bool columns, bool zero_outside) {
  std::vector<double> out(f.size());
  const std::size_t length = columns ? centres : momenta;
  const std::size_t sample_stride = columns ? momenta : 1;
  const std::size_t line_stride = columns ? 1 : momenta;
  std::vector<double> line(length), shifted(length);
  for (std::size_t l = 0; l < shifts.size(); ++l) {
    for (std::size_t i = 0; i < length; ++i) line[i] = f[l * line_stride + i * sample_stride];
    shift_line(interpolation_of(kind), line, shifted, shifts[l], zero_outside);
    for (std::size_t i = 0; i < length; ++i) out[l * line_stride + i * sample_stride] = shifted[i];
  }
  return out;
}

// The field f (centres × momenta) swept in the device's layouts equals its lines shifted one at a
// time by shift_line: every column by column_shifts (periodic), every row by row_shifts (periodic
// and zero outside). Shifts are drawn uniformly within ±span line lengths.
void expect_device_sweeps_equal_line_shifts(FftShiftKind kind, long centres, long momenta,
                                            unsigned int field_seed, unsigned int shift_seed,
                                            double span) {
  const std::vector<double> f = random_line(static_cast<std::size_t>(centres * momenta), field_seed);
  const double scale = max_magnitude(f);
  std::mt19937_64 engine(shift_seed);
  std::uniform_real_distribution<double> uniform(-span, span);
  std::vector<double> column_shifts(static_cast<std::size_t>(momenta));
  for (auto& shift : column_shifts) shift = uniform(engine) * static_cast<double>(centres);
  std::vector<double> row_shifts(static_cast<std::size_t>(centres));
  for (auto& shift : row_shifts) shift = uniform(engine) * static_cast<double>(momenta);
  const auto size_c = static_cast<std::size_t>(centres);
  const auto size_p = static_cast<std::size_t>(momenta);
  SCOPED_TRACE(to_string(interpolation_of(kind)) + ", " + std::to_string(centres) + " x " +
               std::to_string(momenta) + ", shifts up to " + std::to_string(span) + " lines");
  const auto columns = sweep_columns_like_device(kind, f, centres, momenta, column_shifts);
  EXPECT_LE(max_difference(columns, shift_field_by_lines(kind, f, size_c, size_p, column_shifts, true, false)),
            1e-13 * scale) << "X sweep";
  for (bool zero_outside : {false, true}) {
    const auto rows = sweep_rows_like_device(kind, f, centres, momenta, row_shifts, zero_outside);
    EXPECT_LE(max_difference(rows, shift_field_by_lines(kind, f, size_c, size_p, row_shifts, false, zero_outside)),
              1e-13 * scale) << "P sweep" << (zero_outside ? ", zero outside" : ", periodic");
  }
}

TEST(FftShiftFactors, DeviceLayoutsShiftEveryLineOfAField) {
  for (FftShiftKind kind : {FftShiftKind::spline, FftShiftKind::spectral}) {
    for (const auto& [centres, momenta] : {std::pair<long, long>{45, 38}, std::pair<long, long>{40, 27}}) {
      expect_device_sweeps_equal_line_shifts(kind, centres, momenta, 7u, 11u, 1.3);
    }
  }
}

// The same on the smallest lines the CUDA backend accepts (2 samples) and other short ones,
// with shifts that move some lines wholly out when zero outside (kept and vanishing lines in
// one batch); 13 momenta pad (spectral) to the odd length 27.
TEST(FftShiftFactors, DeviceLayoutsShiftShortLinesAndLinesShiftedOut) {
  EXPECT_EQ(kernels::fft_shift_length(FftShiftKind::spectral, 13, true), 27);
  for (FftShiftKind kind : {FftShiftKind::spline, FftShiftKind::spectral}) {
    for (const auto& [centres, momenta] :
         {std::pair<long, long>{2, 2}, std::pair<long, long>{3, 2}, std::pair<long, long>{2, 3},
          std::pair<long, long>{5, 7}, std::pair<long, long>{13, 13}}) {
      for (double span : {0.7, 1.5, 40.0}) {
        expect_device_sweeps_equal_line_shifts(kind, centres, momenta, 3u, 5u, span);
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
  // cuFFT's in-place R2C/C2R (the padded rows): a real line spans two complex values per mode.
  for (long n : {76L, 160L, 175L}) {
    EXPECT_EQ(kernels::row_layout(38, n, true).distance, 2 * kernels::row_spectrum_layout(n).distance);
  }
  EXPECT_TRUE(kernels::is_smooth_length(2 * 3 * 5 * 7 * 8));
  EXPECT_FALSE(kernels::is_smooth_length(2 * 11));
}

}  // namespace
}  // namespace phasespace
