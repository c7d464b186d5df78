#pragma once
// Split-step propagation of a whole ensemble on the device (batched cuFFT), the twin of
// phasespace::SplitStepPropagator: same splitting coefficients, same fused half kicks, same kick
// times for time-dependent potentials, same absorbing layer.
// Kinetic phases are computed on the fly (angle reduced mod 2π in double, then sin/cos in Real,
// the FFT's 1/N folded in); potential phases are computed on the host in double and uploaded.
// With FftCallbacks::on both phases are tables (host, double) applied inside the forward
// transform, so a step is the bare cuFFT pair instead of the pair and two passes over ψ.
#include <cstddef>
#include <memory>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/cuda/fft_callbacks.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/potential.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace::cuda {

template <class Real>
class SplitStepPropagator {
 public:
  SplitStepPropagator(const Grid& grid, const Potential& potential,
                      const PropagatorOptions& options, std::size_t members,
                      FftCallbacks callbacks = FftCallbacks::off);
  // Each member with its own additional potential, as the CPU propagator takes them (checked
  // the same way): the kick phases are a table of one row per distinct potential (host,
  // double, as the single potential's), each member reading its row.
  SplitStepPropagator(const Grid& grid, const Potential& potential,
                      const PropagatorOptions& options, std::size_t members,
                      MemberPotentials member_potentials,
                      FftCallbacks callbacks = FftCallbacks::off);
  ~SplitStepPropagator();
  SplitStepPropagator(const SplitStepPropagator&) = delete;
  SplitStepPropagator& operator=(const SplitStepPropagator&) = delete;

  // Advances every member by `steps` steps of dt from time t_start, on the device.
  void advance(DeviceEnsemble<Real>& ensemble, double t_start, std::size_t steps);
  // Weighted norm removed by the absorbing layer since construction.
  double absorbed_norm() const;
  const PropagatorOptions& options() const;
  // Device bytes of the per-member kick tables and row indices (0 without member potentials).
  std::size_t member_table_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
