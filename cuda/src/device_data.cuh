#pragma once
// Internal: the device storage behind DeviceEnsemble and DeviceDensity (cuda/src only).
#include "device_support.cuh"
#include "phasespace/cuda/device_data.hpp"

namespace phasespace::cuda {

template <class Real>
struct DeviceEnsemble<Real>::Impl {
  detail::DeviceBuffer<detail::Complex<Real>> psi;  // psi[k·N + n]
};

template <class Real>
struct DeviceDensity<Real>::Impl {
  detail::DeviceBuffer<Real> values;  // [centre][momentum]
};

}  // namespace phasespace::cuda
