// Shifts of lines by Lagrange, periodic cubic B-spline or spectral interpolation, and the names
// of the interpolations. Every shift is constant along a line, so its weights are computed once
// per line and the work is a gather into a haloed buffer followed by a short stencil.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "fftw_setup.hpp"
#include "line_shift.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/fft_shift.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"

namespace phasespace {

namespace {

const char* const interpolation_names = "lagrange3, lagrange5, lagrange7, lagrange9, spline or spectral";

// Spectral shifts: phases from two tables, of block and of (modes / block) exact values.
constexpr std::size_t phase_block = 64;

// a·b without the NaN/infinity recovery of std::complex's operator* (a library call per product).
std::complex<double> times(std::complex<double> a, std::complex<double> b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

long wrap(long index, long length) {
  const long r = index % length;
  return r < 0 ? r + length : r;
}

// out[q] = line[start + q] for q < count, periodic or zero beyond the line.
void gather(const double* line, long length, long start, long count, bool zero_outside,
            double* out) {
  if (zero_outside) {
    std::fill(out, out + count, 0.0);
    const long lower = std::max(start, 0L);
    const long upper = std::min(start + count, length);
    if (lower < upper) std::memcpy(out + (lower - start), line + lower, (upper - lower) * sizeof(double));
    return;
  }
  long source = wrap(start, length);
  long copied = 0;
  while (copied < count) {
    const long chunk = std::min(count - copied, length - source);
    std::memcpy(out + copied, line + source, chunk * sizeof(double));
    copied += chunk;
    source = 0;
  }
}

// Points fixed at compile time so the stencil unrolls and the loop over i vectorises.
template <int Points>
inline __attribute__((always_inline)) void apply_stencil(const double* extended, const double* weights, double* out, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    double sum = 0.0;
    for (int m = 0; m < Points; ++m) sum += weights[m] * extended[i + m];
    out[i] = sum;
  }
}

// Cloned for AVX-512 and AVX2 (with FMA) with a run-time choice: the build targets baseline x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void apply_stencil(int points, const double* extended, const double* weights, double* out,
                   std::size_t length) {
  // The counts of kernels::visit_lagrange_points, spelled out: a plain switch keeps the stencil
  // inside each clone. LineShifter's constructor refused any other count already.
  switch (points) {
    case 4: return apply_stencil<4>(extended, weights, out, length);
    case 6: return apply_stencil<6>(extended, weights, out, length);
    case 8: return apply_stencil<8>(extended, weights, out, length);
    case 10: return apply_stencil<10>(extended, weights, out, length);
    default:
      throw Error("apply_stencil: no " + std::to_string(points) +
                  "-point Lagrange stencil (4, 6, 8 or 10 points)");
  }
}

// B-spline coefficients c of a periodic line: (c[i-1] + 4c[i] + c[i+1])/6 = f[i], by the
// causal/anti-causal recursive filter with the pole z (Unser), initialised by the periodic sums.
// Lines lines at once, their recursions interleaved: each is a chain of dependent multiply-adds,
// and independent chains side by side keep the core's pipelines full.
template <int Lines>
void periodic_spline_coefficients(const double* const* f, std::size_t length, double* const* c) {
  const double z = kernels::bspline_pole;
  const std::size_t terms = std::min<std::size_t>(length, 48);  // |z|^48 < 1e-27
  const double wrap_factor = 1.0 / (1.0 - std::pow(z, static_cast<double>(length)));
  double sum[Lines] = {};
  double power = 1.0;
  for (std::size_t j = 0; j < terms; ++j) {
    for (int l = 0; l < Lines; ++l) sum[l] += power * f[l][(length - j) % length];
    power *= z;
  }
  for (int l = 0; l < Lines; ++l) c[l][0] = sum[l] * wrap_factor;
  for (std::size_t k = 1; k < length; ++k) {
    for (int l = 0; l < Lines; ++l) c[l][k] = f[l][k] + z * c[l][k - 1];
  }
  power = 1.0;
  for (int l = 0; l < Lines; ++l) sum[l] = 0.0;
  for (std::size_t j = 0; j < terms; ++j) {
    for (int l = 0; l < Lines; ++l) sum[l] += power * c[l][(length - 1 + j) % length];
    power *= z;
  }
  for (int l = 0; l < Lines; ++l) c[l][length - 1] = sum[l] * wrap_factor;
  for (std::size_t k = length - 1; k-- > 0;) {
    for (int l = 0; l < Lines; ++l) c[l][k] = c[l][k] + z * c[l][k + 1];
  }
  for (int l = 0; l < Lines; ++l) {
    for (std::size_t k = 0; k < length; ++k) c[l][k] *= -6.0 * z;
  }
}

// The same for lines that are zero beyond their ends (the interpolant on the infinite line);
// outside, the coefficients continue as c[0]·z^{-q} (q < 0) and c[n-1]·z^{q-n+1} (q >= n).
template <int Lines>
void bounded_spline_coefficients(const double* const* f, std::size_t length, double* const* c) {
  const double z = kernels::bspline_pole;
  for (int l = 0; l < Lines; ++l) c[l][0] = f[l][0];
  for (std::size_t k = 1; k < length; ++k) {
    for (int l = 0; l < Lines; ++l) c[l][k] = f[l][k] + z * c[l][k - 1];
  }
  for (int l = 0; l < Lines; ++l) c[l][length - 1] /= 1.0 - z * z;
  for (std::size_t k = length - 1; k-- > 0;) {
    for (int l = 0; l < Lines; ++l) c[l][k] = c[l][k] + z * c[l][k + 1];
  }
  for (int l = 0; l < Lines; ++l) {
    for (std::size_t k = 0; k < length; ++k) c[l][k] *= -6.0 * z;
  }
}

template <int Lines>
void spline_coefficients(const double* const* f, std::size_t length, bool zero_outside,
                         double* const* c) {
  if (zero_outside) {
    bounded_spline_coefficients<Lines>(f, length, c);
  } else {
    periodic_spline_coefficients<Lines>(f, length, c);
  }
}

double bounded_coefficient(const double* c, long length, long q) {
  if (q >= 0 && q < length) return c[q];
  const long distance = q < 0 ? -q : q - length + 1;
  if (distance > 64) return 0.0;  // |z|^64 < 1e-36
  return (q < 0 ? c[0] : c[length - 1]) * std::pow(kernels::bspline_pole, static_cast<double>(distance));
}

}  // namespace

Interpolation parse_interpolation(const std::string& name, const std::string& field) {
  if (name == "spline") return {InterpolationKind::spline, 3};
  if (name == "spectral") return {InterpolationKind::spectral, 0};
  const std::string prefix = "lagrange";
  if (name.size() == prefix.size() + 1 && name.compare(0, prefix.size(), prefix) == 0) {
    const char digit = name.back();
    if (digit == '3' || digit == '5' || digit == '7' || digit == '9') {
      return {InterpolationKind::lagrange, digit - '0'};
    }
  }
  require(false, field, name, interpolation_names);
  return {};
}

std::string to_string(const Interpolation& interpolation) {
  switch (interpolation.kind) {
    case InterpolationKind::lagrange: return "lagrange" + std::to_string(interpolation.order);
    case InterpolationKind::spline: return "spline";
    case InterpolationKind::spectral: return "spectral";
  }
  return "unknown";
}

MomentumBoundary parse_momentum_boundary(const std::string& name, const std::string& field) {
  if (name == "periodic") return MomentumBoundary::periodic;
  if (name == "zero") return MomentumBoundary::zero;
  require(false, field, name, "periodic or zero");
  return MomentumBoundary::periodic;
}

void shift_line(const Interpolation& interpolation, std::span<const double> in,
                std::span<double> out, double shift, bool zero_outside) {
  require(in.size() == out.size(), "shift_line.out", std::to_string(out.size()) + " values",
          "as many values as the input (" + std::to_string(in.size()) + ")");
  if (in.empty()) return;
  detail::LineShifter shifter(interpolation, in.size(), zero_outside);
  auto scratch = shifter.make_scratch();
  shifter.shift(in.data(), out.data(), shift, scratch);
}

namespace detail {

void validate_interpolation(const Interpolation& interpolation, const std::string& field) {
  if (interpolation.kind != InterpolationKind::lagrange) return;
  const int order = interpolation.order;
  require(kernels::is_lagrange_points(order + 1), field, "lagrange" + std::to_string(order),
          interpolation_names);
}

LineShifter::LineShifter(const Interpolation& interpolation, std::size_t length, bool zero_outside)
    : interpolation_(interpolation), length_(length), zero_outside_(zero_outside) {
  validate_interpolation(interpolation, "classical.interpolation");
  require(length >= 1, "line length", std::to_string(length), "at least 1");
  if (interpolation.kind != InterpolationKind::spectral) return;
  // Zero outside: pad with zeros (to at least twice the length) so whatever leaves the line
  // lands in the padding; the length is the one the CUDA backend uses too.
  fft_length_ = static_cast<std::size_t>(kernels::fft_shift_length(
      kernels::FftShiftKind::spectral, static_cast<long>(length), zero_outside));
  Scratch scratch = make_scratch();
  const int n = static_cast<int>(fft_length_);
  const auto lock = fftw_planner_lock();
  // Line shifts run inside OpenMP loops, one line per thread: single-threaded plans.
  fftw_plan_with_nthreads(1);
  auto* spectrum = reinterpret_cast<fftw_complex*>(scratch.spectrum.data());
  forward_ = fftw_plan_dft_r2c_1d(n, scratch.real.data(), spectrum, FFTW_ESTIMATE);
  backward_ = fftw_plan_dft_c2r_1d(n, spectrum, scratch.real.data(), FFTW_ESTIMATE);
  if (forward_ == nullptr || backward_ == nullptr) throw Error("FFTW could not plan a line shift");
}

LineShifter::~LineShifter() {
  if (forward_ == nullptr && backward_ == nullptr) return;
  const auto lock = fftw_planner_lock();
  if (forward_ != nullptr) fftw_destroy_plan(forward_);
  if (backward_ != nullptr) fftw_destroy_plan(backward_);
}

LineShifter::Scratch LineShifter::make_scratch() const {
  Scratch scratch;
  scratch.extended.resize(length_ + kernels::max_lagrange_points);
  if (interpolation_.kind == InterpolationKind::spline) scratch.coefficients.resize(lines_together * length_);
  if (interpolation_.kind == InterpolationKind::spectral) {
    scratch.real.resize(fft_length_);
    scratch.spectrum.resize(fft_length_ / 2 + 1);
    scratch.phases.resize(phase_block + fft_length_ / 2 / phase_block + 2);
  }
  return scratch;
}

void LineShifter::shift(const double* in, double* out, double shift, Scratch& scratch) const {
  switch (interpolation_.kind) {
    case InterpolationKind::lagrange: return shift_lagrange(in, out, shift, scratch);
    case InterpolationKind::spline: return shift_spline(in, out, shift, scratch);
    case InterpolationKind::spectral: return shift_spectral(in, out, shift, scratch);
  }
}

void LineShifter::shift_lagrange(const double* in, double* out, double shift,
                                 Scratch& scratch) const {
  const int points = interpolation_.order + 1;
  const auto split = kernels::split_shift(shift);
  double weights[kernels::max_lagrange_points];
  kernels::lagrange_weights(points, split.fraction, weights);
  const long length = static_cast<long>(length_);
  const long start = split.offset + kernels::stencil_first(points);
  gather(in, length, start, length + points - 1, zero_outside_, scratch.extended.data());
  apply_stencil(points, scratch.extended.data(), weights, out, length_);
}

void LineShifter::shift_spline(const double* in, double* out, double shift, Scratch& scratch) const {
  double* c = scratch.coefficients.data();
  spline_coefficients<1>(&in, length_, zero_outside_, &c);
  apply_spline(c, out, shift, scratch);
}

// out[i] = the spline with coefficients c at i - shift.
void LineShifter::apply_spline(const double* c, double* out, double shift, Scratch& scratch) const {
  const long length = static_cast<long>(length_);
  const auto split = kernels::split_shift(shift);
  const long start = split.offset - 1;  // weights act on coefficients i0 - 1 .. i0 + 2
  double* extended = scratch.extended.data();
  if (zero_outside_) {
    for (long q = 0; q < length + 3; ++q) extended[q] = bounded_coefficient(c, length, start + q);
  } else {
    gather(c, length, start, length + 3, false, extended);
  }
  double weights[4];
  kernels::bspline_weights(split.fraction, weights);
  apply_stencil(4, extended, weights, out, length_);
}

void LineShifter::shift_lines(const double* const* in, double* const* out, const double* shifts,
                              std::size_t count, Scratch& scratch) const {
  if (interpolation_.kind != InterpolationKind::spline) {
    for (std::size_t l = 0; l < count; ++l) shift(in[l], out[l], shifts[l], scratch);
    return;
  }
  double* c[lines_together];
  for (std::size_t l = 0; l < count; ++l) c[l] = scratch.coefficients.data() + l * length_;
  switch (count) {
    case 1: spline_coefficients<1>(in, length_, zero_outside_, c); break;
    case 2: spline_coefficients<2>(in, length_, zero_outside_, c); break;
    case 3: spline_coefficients<3>(in, length_, zero_outside_, c); break;
    case 4: spline_coefficients<4>(in, length_, zero_outside_, c); break;
    default:
      throw Error("LineShifter::shift_lines: " + std::to_string(count) + " lines, at most " +
                  std::to_string(lines_together));
  }
  for (std::size_t l = 0; l < count; ++l) apply_spline(c[l], out[l], shifts[l], scratch);
}

void LineShifter::shift_spectral(const double* in, double* out, double shift,
                                 Scratch& scratch) const {
  const double length = static_cast<double>(length_);
  if (zero_outside_ && std::fabs(shift) >= length) {
    std::fill(out, out + length_, 0.0);
    return;
  }
  // Periodic: the result depends on the shift modulo the length; reducing keeps phases exact.
  if (!zero_outside_) shift -= length * std::round(shift / length);
  std::copy(in, in + length_, scratch.real.begin());
  std::fill(scratch.real.begin() + static_cast<long>(length_), scratch.real.end(), 0.0);
  auto* spectrum = reinterpret_cast<fftw_complex*>(scratch.spectrum.data());
  fftw_execute_dft_r2c(forward_, scratch.real.data(), spectrum);
  const std::size_t modes = fft_length_ / 2 + 1;
  const double n = static_cast<double>(fft_length_);
  const double angle_step = -2.0 * std::numbers::pi * shift / n;
  const bool has_nyquist = fft_length_ % 2 == 0;
  const std::size_t complex_modes = has_nyquist ? modes - 1 : modes;
  // e^{i·angle_step·k} = low[k mod block]·high[k / block], each factor exact: a sine and a
  // cosine per mode cost more than the two transforms.
  std::complex<double>* low = scratch.phases.data();
  std::complex<double>* high = low + phase_block;
  for (std::size_t r = 0; r < phase_block; ++r) low[r] = std::polar(1.0, angle_step * static_cast<double>(r));
  for (std::size_t q = 0; q * phase_block < complex_modes; ++q) {
    high[q] = std::polar(1.0, angle_step * static_cast<double>(q * phase_block));
  }
  for (std::size_t k = 1; k < complex_modes; ++k) {
    scratch.spectrum[k] = times(scratch.spectrum[k], times(low[k % phase_block], high[k / phase_block]));
  }
  // The Nyquist mode of an even length must stay real: the symmetric choice cos(π·shift).
  if (has_nyquist) {
    scratch.spectrum[modes - 1] = scratch.spectrum[modes - 1].real() * std::cos(std::numbers::pi * shift);
  }
  fftw_execute_dft_c2r(backward_, spectrum, scratch.real.data());
  for (std::size_t i = 0; i < length_; ++i) out[i] = scratch.real[i] / n;
}

}  // namespace detail
}  // namespace phasespace
