#pragma once
// What the cuFFT callbacks read (their callerInfo), shared by the callbacks
// (cuda/callbacks/fft_callbacks.cu, compiled to LTO-IR and linked into cuFFT's kernels at plan
// time) and the host code that fills it before each transform (cuda/src/propagator.cu,
// cuda/src/projection.cu). Element `offset` of a batched transform is row offset / length,
// slot offset % length.
#include <cufft.h>

namespace phasespace::cuda::detail {

// Split-step drift: rows are members, slots grid points (load) or momenta (store).
template <class ComplexType>
struct SplitStepCallbackInfo {
  const ComplexType* kick;     // potential phase and damping per grid point
  const ComplexType* kinetic;  // kinetic phase per FFT slot, the transform pair's 1/N in it
  unsigned long long size;     // grid points
};

// Split-step drift with one extra potential per member (MemberPotentials): the kick of member
// offset / size is row kick_row[member] of a table of rows × size phases. A struct and callbacks
// of their own, so the single-potential transform reads no row table.
template <class ComplexType>
struct MemberSplitStepCallbackInfo {
  const ComplexType* kick;              // rows × size: potential phase and damping
  const ComplexType* kinetic;           // as SplitStepCallbackInfo::kinetic
  unsigned long long size;              // grid points
  const unsigned long long* kick_row;   // row of `kick` per member
};

// Projection of one member: rows are centres centre_first, centre_first + 1, ...; the load
// gathers and windows ψ around each centre, the store adds scale·|A|² into ρ.
template <class ComplexType, class RealType>
struct ProjectionCallbackInfo {
  const ComplexType* psi;          // the member's ψ
  const RealType* table;           // window samples by slot
  RealType* density;               // ρ, centres × momenta
  unsigned long long size;         // grid points N
  unsigned long long length;       // FFT length M
  unsigned long long half;         // the window reaches m = -half .. half points
  unsigned long long centre_stride;
  unsigned long long centre_first;
  unsigned long long first_slot;   // momentum j sits at slot (first_slot + j) mod M
  unsigned long long momenta;
  RealType scale;                  // w_k dx²/(2πħ)
  int overwrite;                   // the first member writes ρ, the others add
};

}  // namespace phasespace::cuda::detail
