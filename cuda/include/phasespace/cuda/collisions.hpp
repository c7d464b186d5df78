#pragma once
// The collision operators of phasespace/collisions.hpp applied on the device, each exactly over
// a step like its CPU apply(): relaxation towards a given f_eq or towards the conservative local
// Maxwellian, elastic back-scattering p → -p, and a general rate matrix (f ← exp(Gτ) f at every
// centre). What does not depend on f (f_eq on the grid, the decay factors, exp(Gτ)) is taken
// from the CPU operator itself (collision_factors, relaxation_equilibrium), computed in double;
// the device stores f_eq in Real and the other tables in double, and computes in double.
#include <cstddef>
#include <memory>
#include <vector>

#include "phasespace/cuda/device_data.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/projection.hpp"

namespace phasespace::cuda {

template <class Real>
class Collisions {
 public:
  // `operators` as the CPU LiouvilleSolver takes them. Throws InputError for an operator that
  // phasespace/collisions.hpp did not make (the device cannot run arbitrary host code).
  Collisions(const PhaseSpaceGrid& grid,
             std::vector<std::shared_ptr<const CollisionOperator>> operators);
  ~Collisions();
  Collisions(Collisions&&) noexcept;
  Collisions& operator=(Collisions&&) noexcept;

  // f ← C_n(τ)···C_1(τ) f: the operators in list order, like the CPU solver's first half step;
  // with `reverse` the last operator first (its second half step). Throws Error, as the CPU
  // does, when a row has no local Maxwellian with its moments.
  void apply(DeviceDensity<Real>& f, double tau, bool reverse = false);
  bool empty() const;
  // False when an operator changes ∬f (relaxation towards a given f_eq); the others conserve
  // it to round-off.
  bool conserves_mass() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
