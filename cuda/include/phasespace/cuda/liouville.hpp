#pragma once
// Semi-Lagrangian Liouville solver on the device, the twin of phasespace::LiouvilleSolver
// (collision-free; collisions on the device are a later issue): X sweeps shift each momentum
// column along x (periodic), P sweeps shift each centre row along p (periodic or zero), both by
// centred Lagrange interpolation of odd order 3..9, composed exactly as the CPU reference does.
#include <cstddef>
#include <memory>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/potential.hpp"
#include "phasespace/projection.hpp"

namespace phasespace::cuda {

template <class Real>
class LiouvilleSolver {
 public:
  // Throws InputError for an interpolation other than Lagrange, or a grid with fewer centres
  // or momenta than stencil points.
  LiouvilleSolver(const PhaseSpaceGrid& grid, const Potential& potential,
                  const LiouvilleOptions& options);
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
