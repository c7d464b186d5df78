#pragma once
// Line shifts by spline or spectral interpolation as transfer factors on the discrete Fourier
// transform of a line: out = C2R(H · R2C(line)), H(k) the factor of mode k (1/n folded in).
// They reproduce the CPU reference's LineShifter (host/src/interpolation.cpp):
// - spectral: H(k) = e^{-2πiks/n}, the Nyquist mode of an even n kept real as cos(πs); lines
//   zero outside are padded with zeros to n >= 2·length (fft_shift_length), and one shifted by
//   |s| >= length is zero.
// - spline (cubic B-spline, recursive prefilter then out[i] = Σ_m w_m c[i + offset - 1 + m]):
//   H(k) = [6 / (4 + 2cos θ)]·e^{iθ(offset - 1)}·Σ_m w_m e^{iθm}, θ = 2πk/n, with
//   (offset, fraction) = split_shift(s) and w = bspline_weights(fraction). Zero outside, the CPU
//   interpolates the line zero-extended to infinity (its coefficients decay as |z|^q beyond the
//   ends and are cut 64 cells out): zero padding long enough that the periodic images of the
//   line stay |z|^32 below it gives the same, and a line shifted so far that every coefficient
//   the CPU would use lies beyond its cut is zero.
// Everything here is in double; phases are reduced exactly (an integer part modulo n, a small
// fractional part), so no sine or cosine sees a large argument. Shared by the CUDA backend and
// the CPU test that checks these factors against the CPU reference with FFTW.
#include <cmath>
#include <cstddef>

#include "phasespace/kernels/common.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/phase.hpp"

namespace phasespace::kernels {

enum class FftShiftKind { spline, spectral };

// Cells beyond a line's end out to which the CPU keeps the spline coefficients of a line zero
// outside (|z|^64 < 1e-36; interpolation.cpp, bounded_coefficient).
constexpr long spline_reach = 64;
// Cells between a line's used coefficients and the nearest periodic image of the padded line:
// |z|^32 < 5e-19, far below double rounding.
constexpr long spline_alias_margin = 32;

// True when n has no prime factor above 7 (cuFFT's and FFTW's fastest lengths).
constexpr bool is_smooth_length(long n) {
  for (long factor = 2; factor <= 7 && n > 1; ++factor) {  // 4 and 6 find nothing left
    while (n % factor == 0) n /= factor;
  }
  return n == 1;
}

constexpr long next_smooth_length(long n) {
  while (!is_smooth_length(n)) ++n;
  return n;
}

// Transform length of a line of `length` samples. Spline zero outside: lines kept (see
// fft_line_shift) use coefficients from -length - spline_reach - 2 to
// 2·length + spline_reach + 1, and each of them must stay about spline_alias_margin cells away
// from the images of the line at ± the transform length.
constexpr long fft_shift_length(FftShiftKind kind, long length, bool zero_outside) {
  if (!zero_outside) return length;
  // Spectral: any n >= 2·length keeps what leaves the line in the padding, clear of the line's
  // images; the smallest such n without a prime factor above 7 (a 2·prime length, common on
  // the odd momentum-symmetric grids, made the transforms 2.6x slower on the CPU).
  if (kind == FftShiftKind::spectral) return next_smooth_length(2 * length);
  return next_smooth_length(2 * length + spline_reach + 1 + spline_alias_margin);
}

// Complex values of the spectrum buffer of a field of centres × momenta (f[c·momenta + j]) that
// the CUDA backend shifts: the larger of the X sweep's spectra (momenta columns of centres
// samples) and the P sweep's (centres rows, padded when zero outside; their padded real lines
// live in the same buffer, an in-place transform's 2·(n/2 + 1) reals per line).
constexpr long fft_shift_spectrum_values(FftShiftKind kind, long centres, long momenta,
                                         bool zero_outside_in_p) {
  const long x_values = (centres / 2 + 1) * momenta;
  const long p_values = centres * (fft_shift_length(kind, momenta, zero_outside_in_p) / 2 + 1);
  return x_values > p_values ? x_values : p_values;
}

// How the CUDA backend lays out a sweep's lines for cuFFT (FFTW's advanced interface means the
// same): sample x of line b at b·distance + x·stride, on the real and on the complex side.
struct FftLineLayout {
  long long stride;
  long long distance;
};
// X sweeps: column j of f[c·momenta + j] where it lies; its spectrum likewise, mode k at
// k·momenta + j (the lines adjacent).
constexpr FftLineLayout column_layout(long momenta) { return {momenta, 1}; }
// P sweeps: row c of f, or a padded row in the spectrum buffer (an in-place transform's
// 2·(n/2 + 1) reals per line); spectra one row after another, n/2 + 1 modes each.
constexpr FftLineLayout row_layout(long momenta, long fft_length, bool padded) {
  return {1, padded ? 2 * (fft_length / 2 + 1) : momenta};
}
constexpr FftLineLayout row_spectrum_layout(long fft_length) { return {1, fft_length / 2 + 1}; }

// Line and mode of element i of a dense spectrum buffer of `line_count` lines of `modes`
// modes: lines adjacent (X) or one line's modes after another (P).
struct SpectrumElement {
  std::size_t line;
  long mode;
};
PHASESPACE_HOST_DEVICE inline SpectrumElement spectrum_element(std::size_t i, std::size_t line_count,
                                                               std::size_t modes,
                                                               bool lines_adjacent) {
  if (lines_adjacent) return {i % line_count, static_cast<long>(i / line_count)};
  return {i / modes, static_cast<long>(i % modes)};
}

// What the factors of one line need: its shift as an integer part (reduced into
// [0, fft_length)) and a fractional part, and whether the whole line is shifted out.
// spectral: s = whole + fraction (mod fft_length), |fraction| <= 1/2;
// spline: whole = offset - 1 (mod fft_length), fraction = the B-spline weights' position.
struct FftLineShift {
  long long whole;
  double fraction;
  bool vanishes;
};

// value mod period, in [0, period), exactly (fmod is exact; the values here are integers).
PHASESPACE_HOST_DEVICE inline long long reduce_whole(double value, long fft_length) {
  const double period = static_cast<double>(fft_length);
  double reduced = fmod(value, period);
  if (reduced < 0.0) reduced += period;
  return static_cast<long long>(reduced);
}

// The line of `length` samples (transform length fft_length) shifted by `shift` cells:
// out[i] = f(i - shift).
PHASESPACE_HOST_DEVICE inline FftLineShift fft_line_shift(FftShiftKind kind, double shift,
                                                          long length, long fft_length,
                                                          bool zero_outside) {
  if (kind == FftShiftKind::spectral) {
    const double rounded = floor(shift + 0.5);
    const bool out = zero_outside && fabs(shift) >= static_cast<double>(length);
    return {reduce_whole(rounded, fft_length), shift - rounded, out};
  }
  const ShiftSplit split = split_shift(shift);
  // The CPU's coefficients q = i + offset - 1 .. i + offset + 2 (i < length) all beyond its cut:
  // q >= length + spline_reach, or q <= -spline_reach - 1.
  const bool out = zero_outside && (split.offset >= length + spline_reach + 1 ||
                                    split.offset <= -length - spline_reach - 2);
  return {reduce_whole(static_cast<double>(split.offset - 1), fft_length), split.fraction, out};
}

struct Factor {
  double real;
  double imag;
};

PHASESPACE_HOST_DEVICE inline Factor times(Factor a, Factor b) {
  return {a.real * b.real - a.imag * b.imag, a.real * b.imag + a.imag * b.real};
}

// e^{2πi(k·whole + k·fraction)/n}: k·whole reduced modulo n in integers (exact for n < 2^31,
// k <= n/2), the angle then reduced into [-π, π].
PHASESPACE_HOST_DEVICE inline Factor unit_phase(long long k, long long whole, double fraction,
                                                long n) {
  const long long wrapped = (k * whole) % n;
  double turns = (static_cast<double>(wrapped) + static_cast<double>(k) * fraction) /
                 static_cast<double>(n);
  turns -= floor(turns + 0.5);
  const double angle = two_pi * turns;
  return {cos(angle), sin(angle)};
}

// Spectral: e^{-2πiks/n}/n; the Nyquist mode of an even n real, cos(πs)/n.
PHASESPACE_HOST_DEVICE inline Factor spectral_factor(const FftLineShift& line, long k, long n) {
  const double scale = 1.0 / static_cast<double>(n);
  if (2 * k == n) {
    const double sign = line.whole % 2 == 0 ? 1.0 : -1.0;  // n even: whole keeps the parity
    return {scale * sign * cos(0.5 * two_pi * line.fraction), 0.0};
  }
  const Factor phase = unit_phase(k, line.whole, line.fraction, n);
  return {scale * phase.real, -scale * phase.imag};
}

// Spline: [6/(4 + 2cos θ)]·e^{iθ·whole}·Σ_m w_m e^{iθm}/n, θ = 2πk/n. At the Nyquist mode
// (θ = π) the factor is real: 3·(-1)^whole·(w0 - w1 + w2 - w3)/n, written so exactly.
PHASESPACE_HOST_DEVICE inline Factor spline_factor(const FftLineShift& line, long k, long n) {
  double w[4];
  bspline_weights(line.fraction, w);
  const double scale = 1.0 / static_cast<double>(n);
  if (2 * k == n) {
    const double sign = line.whole % 2 == 0 ? 1.0 : -1.0;
    return {scale * 3.0 * sign * (w[0] - w[1] + w[2] - w[3]), 0.0};
  }
  const Factor step = unit_phase(k, 1, 0.0, n);  // e^{iθ}
  // Σ_m w_m e^{iθm} = w0 + e^{iθ}(w1 + e^{iθ}(w2 + e^{iθ}·w3)).
  Factor sum{w[3], 0.0};
  for (int m = 2; m >= 0; --m) {
    sum = times(sum, step);
    sum.real += w[m];
  }
  const double gain = scale * 6.0 / (4.0 + 2.0 * step.real);
  const Factor factor = times(unit_phase(k, line.whole, 0.0, n), sum);
  return {gain * factor.real, gain * factor.imag};
}

// The factor of mode k (0 <= k <= n/2) of a line, zero for a line shifted out.
PHASESPACE_HOST_DEVICE inline Factor fft_shift_factor(FftShiftKind kind, const FftLineShift& line,
                                                      long k, long n) {
  if (line.vanishes) return {0.0, 0.0};
  return kind == FftShiftKind::spectral ? spectral_factor(line, k, n) : spline_factor(line, k, n);
}

}  // namespace phasespace::kernels
