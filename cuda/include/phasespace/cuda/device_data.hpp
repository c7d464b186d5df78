#pragma once
// Fields that live on the device for a whole run: an ensemble of wavefunctions and a phase-space
// density. Uploads and downloads are explicit; nothing else crosses PCIe.
// Real is float or double (explicitly instantiated in cuda/src/device_data.cu).
#include <complex>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "phasespace/ensemble.hpp"
#include "phasespace/grid.hpp"

namespace phasespace::cuda {

// Device twin of phasespace::Ensemble: psi[k·N + n] = ψ_k(x_n) as complex<Real>, member-major.
// The weights stay on the host (they are few) and are uploaded where a kernel needs them.
template <class Real>
class DeviceEnsemble {
 public:
  // `members` wavefunctions with equal weights, their values poisoned (NaN) until written.
  DeviceEnsemble(const Grid& grid, std::size_t members);
  // A copy of `host` (rounded to Real).
  explicit DeviceEnsemble(const Ensemble& host);
  ~DeviceEnsemble();
  DeviceEnsemble(DeviceEnsemble&&) noexcept;
  DeviceEnsemble& operator=(DeviceEnsemble&&) noexcept;

  // Copies ψ and the weights of `host`, whose grid size and member count must match.
  void upload(const Ensemble& host);
  // The device ψ (widened to double) with this ensemble's grid and weights.
  Ensemble download() const;
  // Fills ψ with NaN (tests: elements a kernel never writes stay NaN).
  void poison();

  const Grid& grid() const { return grid_; }
  std::size_t members() const { return weights_.size(); }
  const std::vector<double>& weights() const { return weights_; }
  void set_weights(std::vector<double> weights);
  std::size_t bytes() const;

  // Backend internals (the device buffer); the type is complete only inside cuda/src.
  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  Grid grid_;
  std::vector<double> weights_;
  std::unique_ptr<Impl> impl_;
};

// A phase-space density on the device, row-major [centre][momentum] like the CPU reference.
template <class Real>
class DeviceDensity {
 public:
  // `cells` values, poisoned (NaN) until written.
  explicit DeviceDensity(std::size_t cells);
  // A copy of `host` (rounded to Real).
  explicit DeviceDensity(std::span<const double> host);
  ~DeviceDensity();
  DeviceDensity(DeviceDensity&&) noexcept;
  DeviceDensity& operator=(DeviceDensity&&) noexcept;

  void upload(std::span<const double> host);  // host.size() must equal cells()
  std::vector<double> download() const;
  void poison();
  std::size_t cells() const { return cells_; }
  std::size_t bytes() const { return cells_ * sizeof(Real); }

  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::size_t cells_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phasespace::cuda
