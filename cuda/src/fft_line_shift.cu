// Spline and spectral line shifts on the device by cuFFT (see fft_line_shift.cuh).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "fft_line_shift.cuh"

namespace phasespace::cuda::detail {

namespace {

// Launch shape of the line kernels: samples along x, lines along y; grid-stride both.
dim3 line_grid(std::size_t lines, std::size_t samples) {
  const std::size_t x = (samples + threads_per_block - 1) / threads_per_block;
  const std::size_t y = std::min<std::size_t>(lines, 65535);
  return dim3(static_cast<unsigned int>(std::min<std::size_t>(x == 0 ? 1 : x, 65535)),
              static_cast<unsigned int>(y == 0 ? 1 : y));
}

// padded[l·padded_stride + i] = rows[l·length + i] for i < length, 0 up to fft_length: the
// zeros that let what leaves a row fall off it instead of wrapping round.
template <class Real>
__global__ void pad_rows_with_zeros_kernel(const Real* __restrict__ rows, Real* __restrict__ padded,
                                           std::size_t line_count, std::size_t length,
                                           std::size_t fft_length, std::size_t padded_stride) {
  for (std::size_t line = blockIdx.y; line < line_count; line += gridDim.y) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
         i < fft_length; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
      padded[line * padded_stride + i] = i < length ? rows[line * length + i] : Real(0);
    }
  }
}

// rows[l·length + i] = padded[l·padded_stride + i]: the rows back without their padding.
template <class Real>
__global__ void unpad_rows_kernel(const Real* __restrict__ padded, Real* __restrict__ rows,
                                  std::size_t line_count, std::size_t length,
                                  std::size_t padded_stride) {
  for (std::size_t line = blockIdx.y; line < line_count; line += gridDim.y) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
         i < length; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
      rows[line * length + i] = padded[line * padded_stride + i];
    }
  }
}

// Mode k of line l times its transfer factor (kernels::fft_shift_factor, in double, rounded to
// Real). Both layouts are dense (kernels::spectrum_element): the lines adjacent in X sweeps (the
// columns' spectra interleaved as the columns are), one row's spectrum after another in P.
template <class Real>
__global__ void multiply_shift_factors_kernel(Complex<Real>* __restrict__ spectrum,
                                              const kernels::FftLineShift* __restrict__ lines,
                                              kernels::FftShiftKind kind, std::size_t line_count,
                                              long fft_length, bool lines_adjacent) {
  const std::size_t modes = static_cast<std::size_t>(fft_length / 2 + 1);
  const std::size_t count = line_count * modes;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const kernels::SpectrumElement element =
        kernels::spectrum_element(i, line_count, modes, lines_adjacent);
    const kernels::Factor factor =
        kernels::fft_shift_factor(kind, lines[element.line], element.mode, fft_length);
    const Real re = static_cast<Real>(factor.real);
    const Real im = static_cast<Real>(factor.imag);
    const Complex<Real> value = spectrum[i];
    spectrum[i].x = value.x * re - value.y * im;
    spectrum[i].y = value.x * im + value.y * re;
  }
}

cufftType real_fft_type(bool is_double, bool forward) {
  if (is_double) return forward ? CUFFT_D2Z : CUFFT_Z2D;
  return forward ? CUFFT_R2C : CUFFT_C2R;
}

}  // namespace

template <class Real>
RealFftPlan<Real>::RealFftPlan(FftDirection direction, long long length, long long batch,
                               kernels::FftLineLayout in, kernels::FftLineLayout out) {
  const bool forward = direction == FftDirection::forward;
  // The embeds only switch cuFFT to the advanced layout (a 1D transform reads no embed beyond
  // the first): the real side holds `length` values per line, the complex side length/2 + 1.
  long long n = length;
  long long real_embed = length;
  long long complex_embed = length / 2 + 1;
  long long* in_embed = forward ? &real_embed : &complex_embed;
  long long* out_embed = forward ? &complex_embed : &real_embed;
  PHASESPACE_CUFFT_CHECK(cufftSetAutoAllocation(handle_.value, 0));  // the owner's shared area
  PHASESPACE_CUFFT_CHECK(cufftMakePlanMany64(
      handle_.value, 1, &n, in_embed, in.stride, in.distance, out_embed, out.stride, out.distance,
      real_fft_type(sizeof(Real) == sizeof(double), forward), batch, &work_bytes_));
}

template <class Real>
void RealFftPlan<Real>::set_work_area(void* area) {
  PHASESPACE_CUFFT_CHECK(cufftSetWorkArea(handle_.value, area));
}

template <class Real>
void RealFftPlan<Real>::forward(Real* in, Complex<Real>* out) {
  if constexpr (sizeof(Real) == sizeof(double)) {
    PHASESPACE_CUFFT_CHECK(cufftExecD2Z(handle_.value, in, out));
  } else {
    PHASESPACE_CUFFT_CHECK(cufftExecR2C(handle_.value, in, out));
  }
}

template <class Real>
void RealFftPlan<Real>::inverse(Complex<Real>* in, Real* out) {
  if constexpr (sizeof(Real) == sizeof(double)) {
    PHASESPACE_CUFFT_CHECK(cufftExecZ2D(handle_.value, in, out));
  } else {
    PHASESPACE_CUFFT_CHECK(cufftExecC2R(handle_.value, in, out));
  }
}

template <class Real>
FftLineShifter<Real>::FftLineShifter(kernels::FftShiftKind kind, std::size_t centres,
                                     std::size_t momenta, bool zero_outside_in_p)
    : kind_(kind),
      centres_(centres),
      momenta_(momenta),
      zero_outside_in_p_(zero_outside_in_p),
      p_fft_length_(kernels::fft_shift_length(kind, static_cast<long>(momenta), zero_outside_in_p)),
      x_forward_(FftDirection::forward, static_cast<long long>(centres),
                 static_cast<long long>(momenta), kernels::column_layout(static_cast<long>(momenta)),
                 kernels::column_layout(static_cast<long>(momenta))),
      x_inverse_(FftDirection::inverse, static_cast<long long>(centres),
                 static_cast<long long>(momenta), kernels::column_layout(static_cast<long>(momenta)),
                 kernels::column_layout(static_cast<long>(momenta))),
      p_forward_(FftDirection::forward, p_fft_length_, static_cast<long long>(centres),
                 kernels::row_layout(static_cast<long>(momenta), p_fft_length_, zero_outside_in_p),
                 kernels::row_spectrum_layout(p_fft_length_)),
      p_inverse_(FftDirection::inverse, p_fft_length_, static_cast<long long>(centres),
                 kernels::row_spectrum_layout(p_fft_length_),
                 kernels::row_layout(static_cast<long>(momenta), p_fft_length_, zero_outside_in_p)),
      spectrum_(static_cast<std::size_t>(kernels::fft_shift_spectrum_values(
          kind, static_cast<long>(centres), static_cast<long>(momenta), zero_outside_in_p))),
      work_area_(std::max({x_forward_.work_bytes(), x_inverse_.work_bytes(),
                           p_forward_.work_bytes(), p_inverse_.work_bytes()})) {
  // The four plans run one after another on one stream: one work area serves them all.
  for (RealFftPlan<Real>* plan : {&x_forward_, &x_inverse_, &p_forward_, &p_inverse_}) {
    if (work_area_.size() > 0) plan->set_work_area(work_area_.data());
  }
}

template <class Real>
void FftLineShifter<Real>::make_parameters(const std::vector<double>& shifts, long length,
                                           long fft_length, bool zero_outside,
                                           DeviceBuffer<LineShift>& lines) const {
  std::vector<LineShift> parameters(shifts.size());
  for (std::size_t l = 0; l < shifts.size(); ++l) {
    parameters[l] = kernels::fft_line_shift(kind_, shifts[l], length, fft_length, zero_outside);
  }
  if (lines.size() != parameters.size()) lines = DeviceBuffer<LineShift>(parameters.size());
  lines.upload(parameters.data(), parameters.size());
}

template <class Real>
void FftLineShifter<Real>::column_parameters(const std::vector<double>& shifts,
                                             DeviceBuffer<LineShift>& lines) const {
  const long length = static_cast<long>(centres_);
  make_parameters(shifts, length, length, false, lines);
}

template <class Real>
void FftLineShifter<Real>::row_parameters(const std::vector<double>& shifts,
                                          DeviceBuffer<LineShift>& lines) const {
  make_parameters(shifts, static_cast<long>(momenta_), p_fft_length_, zero_outside_in_p_, lines);
}

template <class Real>
void FftLineShifter<Real>::multiply(const DeviceBuffer<LineShift>& lines, std::size_t line_count,
                                    long fft_length, bool lines_adjacent) {
  const std::size_t count = line_count * static_cast<std::size_t>(fft_length / 2 + 1);
  multiply_shift_factors_kernel<Real><<<blocks_for(count), threads_per_block>>>(
      spectrum_.data(), lines.data(), kind_, line_count, fft_length, lines_adjacent);
  PHASESPACE_CUDA_CHECK_LAUNCH("multiply_shift_factors_kernel");
}

template <class Real>
void FftLineShifter<Real>::shift_columns(Real* in, Real* out, const DeviceBuffer<LineShift>& lines) {
  x_forward_.forward(in, spectrum_.data());
  multiply(lines, momenta_, static_cast<long>(centres_), true);
  x_inverse_.inverse(spectrum_.data(), out);
}

template <class Real>
void FftLineShifter<Real>::shift_rows(Real* in, Real* out, const DeviceBuffer<LineShift>& lines) {
  if (!zero_outside_in_p_) {
    p_forward_.forward(in, spectrum_.data());
    multiply(lines, centres_, p_fft_length_, false);
    p_inverse_.inverse(spectrum_.data(), out);
    return;
  }
  // In place: each padded row occupies its own spectrum's 2·(n/2 + 1) reals.
  Real* padded = reinterpret_cast<Real*>(spectrum_.data());
  const std::size_t fft_length = static_cast<std::size_t>(p_fft_length_);
  const auto padded_stride = static_cast<std::size_t>(
      kernels::row_layout(static_cast<long>(momenta_), p_fft_length_, true).distance);
  pad_rows_with_zeros_kernel<Real><<<line_grid(centres_, fft_length), threads_per_block>>>(
      in, padded, centres_, momenta_, fft_length, padded_stride);
  PHASESPACE_CUDA_CHECK_LAUNCH("pad_rows_with_zeros_kernel");
  p_forward_.forward(padded, spectrum_.data());
  multiply(lines, centres_, p_fft_length_, false);
  p_inverse_.inverse(spectrum_.data(), padded);
  unpad_rows_kernel<Real><<<line_grid(centres_, momenta_), threads_per_block>>>(
      padded, out, centres_, momenta_, padded_stride);
  PHASESPACE_CUDA_CHECK_LAUNCH("unpad_rows_kernel");
}

template class RealFftPlan<double>;
template class RealFftPlan<float>;
template class FftLineShifter<double>;
template class FftLineShifter<float>;

}  // namespace phasespace::cuda::detail
