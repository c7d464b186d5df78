#pragma once
// Split-step propagation of a whole ensemble on the device (batched cuFFT), the twin of
// phasespace::SplitStepPropagator: same splitting coefficients, same fused half kicks, same kick
// times for time-dependent potentials, same absorbing layer.
// Kinetic phases are computed on the fly (angle reduced mod 2π in double, then sin/cos in Real,
// the FFT's 1/N folded in); potential phases are computed on the host in double and uploaded.
#include <cstddef>
#include <memory>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/grid.hpp"
#include "phasespace/potential.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace::cuda {

// Where the drift applies the kick and kinetic phases: in element-wise kernels around the cuFFT
// pair (two extra passes over ψ per step), or inside the forward transform as cuFFT LTO
// load/store callbacks (the pair alone; tables of both phases, computed on the host in double).
// The callbacks have not yet run on a GPU: opt-in until scripts/gpu-check has verified them.
enum class PhaseApplication { kernels, fft_callbacks };

template <class Real>
class SplitStepPropagator {
 public:
  SplitStepPropagator(const Grid& grid, const Potential& potential,
                      const PropagatorOptions& options, std::size_t members,
                      PhaseApplication phases = PhaseApplication::kernels);
  ~SplitStepPropagator();
  SplitStepPropagator(const SplitStepPropagator&) = delete;
  SplitStepPropagator& operator=(const SplitStepPropagator&) = delete;

  // Advances every member by `steps` steps of dt from time t_start, on the device.
  void advance(DeviceEnsemble<Real>& ensemble, double t_start, std::size_t steps);
  // Weighted norm removed by the absorbing layer since construction.
  double absorbed_norm() const;
  const PropagatorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
