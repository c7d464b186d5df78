// DeviceEnsemble and DeviceDensity: device storage with explicit upload and download.
#include <string>
#include <vector>

#include "device_data.cuh"

namespace phasespace::cuda {

using detail::Complex;

template <class Real>
DeviceEnsemble<Real>::DeviceEnsemble(const Grid& grid, std::size_t members)
    : grid_(grid),
      weights_(members, members > 0 ? 1.0 / static_cast<double>(members) : 0.0),
      impl_(std::make_unique<Impl>(Impl{detail::DeviceBuffer<Complex<Real>>(grid.size * members)})) {
  require(grid.size >= 2, "grid.size", std::to_string(grid.size), ">= 2");
  require(members >= 1, "members", std::to_string(members), ">= 1");
  impl_->psi.poison();
}

template <class Real>
DeviceEnsemble<Real>::DeviceEnsemble(const Ensemble& host) : DeviceEnsemble(host.grid, host.members()) {
  upload(host);
}

template <class Real>
DeviceEnsemble<Real>::~DeviceEnsemble() = default;
template <class Real>
DeviceEnsemble<Real>::DeviceEnsemble(DeviceEnsemble&&) noexcept = default;
template <class Real>
DeviceEnsemble<Real>& DeviceEnsemble<Real>::operator=(DeviceEnsemble&&) noexcept = default;

template <class Real>
void DeviceEnsemble<Real>::upload(const Ensemble& host) {
  require(host.grid.size == grid_.size, "ensemble.grid.size", std::to_string(host.grid.size),
          "the device ensemble's " + std::to_string(grid_.size));
  require(host.members() == members(), "ensemble.members", std::to_string(host.members()),
          "the device ensemble's " + std::to_string(members()));
  require(host.psi.size() == grid_.size * members(), "ensemble.psi.size",
          std::to_string(host.psi.size()), "grid.size × members");
  std::vector<Complex<Real>> staging(host.psi.size());
  for (std::size_t i = 0; i < staging.size(); ++i) {
    staging[i].x = static_cast<Real>(host.psi[i].real());
    staging[i].y = static_cast<Real>(host.psi[i].imag());
  }
  impl_->psi.upload(staging.data(), staging.size());
  grid_ = host.grid;
  weights_ = host.weights;
}

template <class Real>
Ensemble DeviceEnsemble<Real>::download() const {
  std::vector<Complex<Real>> staging(impl_->psi.size());
  impl_->psi.download(staging.data(), staging.size());
  Ensemble host;
  host.grid = grid_;
  host.weights = weights_;
  host.psi.resize(staging.size());
  for (std::size_t i = 0; i < staging.size(); ++i) {
    host.psi[i] = complex(static_cast<double>(staging[i].x), static_cast<double>(staging[i].y));
  }
  return host;
}

template <class Real>
void DeviceEnsemble<Real>::poison() {
  impl_->psi.poison();
}

template <class Real>
void DeviceEnsemble<Real>::set_weights(std::vector<double> weights) {
  require(weights.size() == members(), "weights.size", std::to_string(weights.size()),
          "the member count " + std::to_string(members()));
  weights_ = std::move(weights);
}

template <class Real>
std::size_t DeviceEnsemble<Real>::bytes() const {
  return impl_->psi.bytes();
}

template <class Real>
DeviceDensity<Real>::DeviceDensity(std::size_t cells)
    : cells_(cells), impl_(std::make_unique<Impl>(Impl{detail::DeviceBuffer<Real>(cells)})) {
  require(cells >= 1, "density.cells", std::to_string(cells), ">= 1");
  impl_->values.poison();
}

template <class Real>
DeviceDensity<Real>::DeviceDensity(std::span<const double> host) : DeviceDensity(host.size()) {
  upload(host);
}

template <class Real>
DeviceDensity<Real>::~DeviceDensity() = default;
template <class Real>
DeviceDensity<Real>::DeviceDensity(DeviceDensity&&) noexcept = default;
template <class Real>
DeviceDensity<Real>& DeviceDensity<Real>::operator=(DeviceDensity&&) noexcept = default;

template <class Real>
void DeviceDensity<Real>::upload(std::span<const double> host) {
  require(host.size() == cells_, "density.size", std::to_string(host.size()),
          "the device density's " + std::to_string(cells_));
  std::vector<Real> staging(host.begin(), host.end());
  impl_->values.upload(staging.data(), staging.size());
}

template <class Real>
std::vector<double> DeviceDensity<Real>::download() const {
  std::vector<Real> staging(cells_);
  impl_->values.download(staging.data(), staging.size());
  return std::vector<double>(staging.begin(), staging.end());
}

template <class Real>
void DeviceDensity<Real>::poison() {
  impl_->values.poison();
}

template class DeviceEnsemble<double>;
template class DeviceEnsemble<float>;
template class DeviceDensity<double>;
template class DeviceDensity<float>;

}  // namespace phasespace::cuda
