#pragma once
// Semi-Lagrangian Liouville/Boltzmann solver on the device, the twin of
// phasespace::LiouvilleSolver: X sweeps shift each momentum column along x (periodic), P sweeps
// shift each centre row along p (periodic or zero), composed exactly as the CPU reference does,
// with every interpolation it offers: centred Lagrange of odd order 3..9 (stencil kernels), and
// cubic spline and spectral, which run as FFT line shifts (batched cuFFT R2C along the lines,
// one transfer factor per mode, C2R back; the zero momentum boundary pads the rows with zeros)
// and give the CPU's results to round-off. Collisions (the operators of
// phasespace/collisions.hpp, applied on the device by cuda::Collisions) enter as on the CPU:
// C(dt/2) [transport] C(dt/2) per step, the second half in reverse order, and no fusion of X
// sweeps across steps.
#include <cstddef>
#include <memory>
#include <vector>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/potential.hpp"
#include "phasespace/projection.hpp"

namespace phasespace::cuda {

template <class Real>
class LiouvilleSolver {
 public:
  // Throws InputError for an invalid interpolation, a grid with fewer centres or momenta than
  // Lagrange stencil points (2 for spline and spectral), or a collision operator the device
  // cannot apply (one not made by phasespace/collisions.hpp).
  LiouvilleSolver(const PhaseSpaceGrid& grid, const Potential& potential,
                  const LiouvilleOptions& options,
                  std::vector<std::shared_ptr<const CollisionOperator>> collisions = {});
  ~LiouvilleSolver();
  LiouvilleSolver(const LiouvilleSolver&) = delete;
  LiouvilleSolver& operator=(const LiouvilleSolver&) = delete;

  // Advances f (grid.cells() values on the device) by `steps` steps of dt from t_start.
  void advance(DeviceDensity<Real>& f, double t_start, std::size_t steps);
  // ∬ f dx dp (a device reduction).
  double mass(const DeviceDensity<Real>& f) const;
  // Mass that left through the momentum edges (zero boundary) since construction.
  double mass_lost() const;
  // Sweeps (X or P passes over the field) done since construction: the benchmark's byte count.
  std::size_t sweeps() const;
  const PhaseSpaceGrid& grid() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
