#pragma once
// Internal to the CUDA backend: the spline and spectral sweeps of cuda::LiouvilleSolver. Every
// line of the field f[c·momenta + j] is shifted by its own amount as a transfer factor on its
// spectrum (kernels/fft_shift.hpp, checked against the CPU reference with FFTW by
// tests/cpu/test_fft_shift.cpp): a batched R2C along the lines, one kernel that multiplies each
// mode by its factor (evaluated on the fly in double), and a C2R back.
// X sweeps: the momentum columns (centres samples, `momenta` apart; always periodic) are
// transformed where they lie, by cuFFT's strided layout, so nothing is transposed.
// P sweeps: the rows; periodic ones straight from f, zero-outside ones first copied into the
// spectrum buffer padded with zeros (in-place transforms there) and copied back after.
#include <cstddef>
#include <vector>

#include "device_support.cuh"
#include "phasespace/kernels/fft_shift.hpp"

namespace phasespace::cuda::detail {

// One batched 1D real-to-complex (forward) or complex-to-real (inverse) plan, double D2Z/Z2D or
// float R2C/C2R, in the layouts of kernels::FftLineLayout. The
// plan uses a work area its owner provides (set_work_area), so several plans share one.
enum class FftDirection { forward, inverse };

template <class Real>
class RealFftPlan {
 public:
  RealFftPlan(FftDirection direction, long long length, long long batch,
              kernels::FftLineLayout in, kernels::FftLineLayout out);
  RealFftPlan(const RealFftPlan&) = delete;
  RealFftPlan& operator=(const RealFftPlan&) = delete;

  void set_work_area(void* area);
  void forward(Real* in, Complex<Real>* out);
  void inverse(Complex<Real>* in, Real* out);
  std::size_t work_bytes() const { return work_bytes_; }

 private:
  CufftHandle handle_;
  std::size_t work_bytes_ = 0;
};

template <class Real>
class FftLineShifter {
 public:
  using LineShift = kernels::FftLineShift;
  // The plans, the spectrum buffer and the shared work area of a centres × momenta field.
  FftLineShifter(kernels::FftShiftKind kind, std::size_t centres, std::size_t momenta,
                 bool zero_outside_in_p);

  // The per-line parameters of an X sweep (column j shifted by shifts[j] cells along x) or of a
  // P sweep (row c by shifts[c] along p), made on the host in double and uploaded.
  void column_parameters(const std::vector<double>& shifts, DeviceBuffer<LineShift>& lines) const;
  void row_parameters(const std::vector<double>& shifts, DeviceBuffer<LineShift>& lines) const;
  // out ← in with every column (row) shifted as `lines` says; in and out are distinct fields,
  // and in may be overwritten.
  void shift_columns(Real* in, Real* out, const DeviceBuffer<LineShift>& lines);
  void shift_rows(Real* in, Real* out, const DeviceBuffer<LineShift>& lines);

  // Device bytes held: the spectrum buffer and the plans' work area.
  std::size_t device_bytes() const { return spectrum_.bytes() + work_area_.bytes(); }

 private:
  void make_parameters(const std::vector<double>& shifts, long length, long fft_length,
                       bool zero_outside, DeviceBuffer<LineShift>& lines) const;
  void multiply(const DeviceBuffer<LineShift>& lines, std::size_t line_count, long fft_length,
                bool lines_adjacent);

  kernels::FftShiftKind kind_;
  std::size_t centres_;
  std::size_t momenta_;
  bool zero_outside_in_p_;
  long p_fft_length_;  // momenta, or the padded length when zero outside
  RealFftPlan<Real> x_forward_;
  RealFftPlan<Real> x_inverse_;
  RealFftPlan<Real> p_forward_;
  RealFftPlan<Real> p_inverse_;
  DeviceBuffer<Complex<Real>> spectrum_;
  DeviceBuffer<char> work_area_;
};

}  // namespace phasespace::cuda::detail
