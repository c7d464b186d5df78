// Split-step propagation of an ensemble on the device; mirrors host/src/propagator.cpp step by
// step (same coefficients, same fused kicks at the same times, same absorbing profile).
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "device_data.cuh"
#include "fft_callback_plan.cuh"
#include "phasespace/cuda/propagator.hpp"
#include "phasespace/kernels/phase.hpp"

namespace phasespace::cuda {

using detail::Complex;
using detail::DeviceBuffer;
using detail::MemberSplitStepCallbackInfo;
using detail::SplitStepCallbackInfo;

namespace {

// sin and cos of an angle already reduced to [-π, π) in double; in float the rounding to float
// happens after the reduction, so a phase of hundreds of radians keeps its fractional part.
__device__ inline void sincos_real(double angle, double* s, double* c) { sincos(angle, s, c); }
__device__ inline void sincos_real(double angle, float* s, float* c) {
  sincosf(static_cast<float>(angle), s, c);
}

template <class Real>
__device__ inline Complex<Real> multiply(Complex<Real> a, Complex<Real> b) {
  Complex<Real> product;
  product.x = a.x * b.x - a.y * b.y;
  product.y = a.x * b.y + a.y * b.x;
  return product;
}

// ψ̂_k(slot) ← ψ̂_k(slot)·e^{-ip²τ/2mħ}/N for every member k. One thread per FFT slot computes
// the phase once (double reduction, Real sin/cos) and applies it to all members.
template <class Real>
__global__ void kinetic_phase_kernel(Complex<Real>* psi, std::size_t size, std::size_t members,
                                     double length, double hbar, double mass, double tau) {
  const Real normalisation = static_cast<Real>(1.0 / static_cast<double>(size));
  for (std::size_t slot = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       slot < size; slot += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    // Grid::signed_index: 0, 1, ..., N/2-1, -N/2, ..., -1.
    const long k = slot < size / 2 ? static_cast<long>(slot)
                                   : static_cast<long>(slot) - static_cast<long>(size);
    const double angle = kernels::kinetic_angle(k, length, hbar, mass, tau);
    Real s, c;
    sincos_real(angle, &s, &c);
    Complex<Real> factor;
    factor.x = normalisation * c;
    factor.y = normalisation * s;
    for (std::size_t member = 0; member < members; ++member) {
      Complex<Real>& value = psi[member * size + slot];
      value = multiply<Real>(value, factor);
    }
  }
}

// ψ_k(x_n) ← ψ_k(x_n)·factor[n] for every member k (factor: potential phase and damping,
// computed on the host in double).
template <class Real>
__global__ void potential_kick_kernel(Complex<Real>* psi, const Complex<Real>* factor,
                                      std::size_t size, std::size_t members) {
  for (std::size_t n = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; n < size;
       n += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const Complex<Real> f = factor[n];
    for (std::size_t member = 0; member < members; ++member) {
      Complex<Real>& value = psi[member * size + n];
      value = multiply<Real>(value, f);
    }
  }
}

// ψ_k(x_n) ← ψ_k(x_n)·factor[row[k]·size + n] for every member k: one extra potential per
// member (a row of the table per distinct potential, computed on the host in double).
template <class Real>
__global__ void member_kick_kernel(Complex<Real>* psi, const Complex<Real>* factor,
                                   const unsigned long long* row, std::size_t size,
                                   std::size_t members) {
  for (std::size_t n = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; n < size;
       n += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    for (std::size_t member = 0; member < members; ++member) {
      Complex<Real>& value = psi[member * size + n];
      value = multiply<Real>(value, factor[row[member] * size + n]);
    }
  }
}

}  // namespace

template <class Real>
struct SplitStepPropagator<Real>::Impl {
  Grid grid;
  Potential potential;
  PropagatorOptions options;
  std::size_t members;
  FftCallbacks callbacks;
  SplittingCoefficients coefficients;
  std::vector<double> absorbing_profile;  // empty without an absorbing layer
  detail::FftPlanCache<Real> plans;
  // FftCallbacks::on: the forward transform that applies the kick and kinetic phases.
  using CallbackPlan = detail::FftCallbackPlan<Real, SplitStepCallbackInfo<Complex<Real>>>;
  std::unique_ptr<CallbackPlan> callback_forward;
  std::map<double, DeviceBuffer<Complex<Real>>> kinetic_cache;  // its kinetic tables per fraction
  std::map<double, DeviceBuffer<Complex<Real>>> kick_cache;  // time-independent potentials
  DeviceBuffer<Complex<Real>> time_dependent_kick;
  double absorbed_norm = 0.0;
  // One extra potential per member (empty extra: the single-potential path above, unchanged).
  MemberPotentials member_potentials;
  DeviceBuffer<unsigned long long> member_rows;  // of_member on the device
  std::map<double, DeviceBuffer<Complex<Real>>> member_kick_cache;  // time-independent U
  DeviceBuffer<Complex<Real>> time_dependent_member_kick;
  using MemberCallbackPlan =
      detail::FftCallbackPlan<Real, MemberSplitStepCallbackInfo<Complex<Real>>>;
  std::unique_ptr<MemberCallbackPlan> member_callback_forward;

  bool per_member() const { return !member_potentials.extra.empty(); }

  // The rows × size kick table for `fraction` of dt at time t, on the device: the CPU's
  // member_kick_phases, rounded to Real.
  const Complex<Real>* member_kick_factor(double fraction, double t) {
    const bool cacheable = !potential.time_dependent();
    if (cacheable) {
      auto found = member_kick_cache.find(fraction);
      if (found != member_kick_cache.end()) return found->second.data();
    }
    const auto phases = member_kick_phases(grid, potential, options, absorbing_profile,
                                           member_potentials.extra, fraction * options.dt, t);
    std::vector<Complex<Real>> factor(phases.size());
    for (std::size_t i = 0; i < phases.size(); ++i) {
      factor[i].x = static_cast<Real>(phases[i].real());
      factor[i].y = static_cast<Real>(phases[i].imag());
    }
    DeviceBuffer<Complex<Real>>& target =
        cacheable ? member_kick_cache[fraction] : time_dependent_member_kick;
    if (target.size() != factor.size()) target = DeviceBuffer<Complex<Real>>(factor.size());
    target.upload(factor.data(), factor.size());  // synchronous: `factor` may go out of scope
    return target.data();
  }

  // The kick factor for `fraction` of dt at time t, on the device (as the CPU's kick_phase).
  const Complex<Real>* kick_factor(double fraction, double t) {
    const bool cacheable = !potential.time_dependent();
    if (cacheable) {
      auto found = kick_cache.find(fraction);
      if (found != kick_cache.end()) return found->second.data();
    }
    const double tau = fraction * options.dt;
    std::vector<double> values(grid.size);
    potential.sample(grid, t, values);
    std::vector<Complex<Real>> factor(grid.size);
    for (std::size_t n = 0; n < grid.size; ++n) {
      const double angle = kernels::potential_angle(values[n], options.hbar, tau);
      const double damping =
          absorbing_profile.empty() ? 1.0 : std::exp(-absorbing_profile[n] * tau / options.hbar);
      factor[n].x = static_cast<Real>(damping * std::cos(angle));
      factor[n].y = static_cast<Real>(damping * std::sin(angle));
    }
    DeviceBuffer<Complex<Real>>& target =
        cacheable ? kick_cache[fraction] : time_dependent_kick;
    if (target.size() != grid.size) target = DeviceBuffer<Complex<Real>>(grid.size);
    target.upload(factor.data(), factor.size());  // synchronous: `factor` may go out of scope
    return target.data();
  }

  void apply_kick(Complex<Real>* psi, double fraction, double t) {
    if (per_member()) {
      member_kick_kernel<Real><<<detail::blocks_for(grid.size), detail::threads_per_block>>>(
          psi, member_kick_factor(fraction, t), member_rows.data(), grid.size, members);
      PHASESPACE_CUDA_CHECK_LAUNCH("member_kick_kernel");
      return;
    }
    const Complex<Real>* factor = kick_factor(fraction, t);
    potential_kick_kernel<Real><<<detail::blocks_for(grid.size), detail::threads_per_block>>>(
        psi, factor, grid.size, members);
    PHASESPACE_CUDA_CHECK_LAUNCH("potential_kick_kernel");
  }

  void apply_drift(Complex<Real>* psi, double fraction) {
    detail::FftPlan<Real>& plan = plans.get(grid.size, members);
    plan.forward(psi);
    kinetic_phase_kernel<Real><<<detail::blocks_for(grid.size), detail::threads_per_block>>>(
        psi, grid.size, members, grid.length, options.hbar, options.mass, fraction * options.dt);
    PHASESPACE_CUDA_CHECK_LAUNCH("kinetic_phase_kernel");
    plan.inverse(psi);
  }

  // The kinetic factor e^{-ip²τ/2mħ}/N per FFT slot for `fraction` of dt (the callbacks' table;
  // the kernel path computes the same on the fly), in double on the host.
  const Complex<Real>* kinetic_factor(double fraction) {
    auto found = kinetic_cache.find(fraction);
    if (found != kinetic_cache.end()) return found->second.data();
    const std::size_t size = grid.size;
    std::vector<Complex<Real>> factor(size);
    const double normalisation = 1.0 / static_cast<double>(size);
    for (std::size_t slot = 0; slot < size; ++slot) {
      const long k = slot < size / 2 ? static_cast<long>(slot)
                                     : static_cast<long>(slot) - static_cast<long>(size);
      const double angle = kernels::kinetic_angle(k, grid.length, options.hbar, options.mass,
                                                  fraction * options.dt);
      factor[slot].x = static_cast<Real>(normalisation * std::cos(angle));
      factor[slot].y = static_cast<Real>(normalisation * std::sin(angle));
    }
    DeviceBuffer<Complex<Real>>& table = kinetic_cache[fraction];
    table = DeviceBuffer<Complex<Real>>(size);
    table.upload(factor.data(), size);
    return table.data();
  }

  // A kick of `kick_fraction` of dt at time t, then a drift of `drift_fraction`: both phases
  // inside the forward transform (FftCallbacks::on), or in their own kernels.
  void kick_and_drift(Complex<Real>* psi, double kick_fraction, double t, double drift_fraction) {
    if (callbacks == FftCallbacks::off) {
      apply_kick(psi, kick_fraction, t);
      apply_drift(psi, drift_fraction);
      return;
    }
    if (per_member()) {
      const Complex<Real>* kick = member_kick_factor(kick_fraction, t);
      member_callback_forward->forward(
          psi, {kick, kinetic_factor(drift_fraction), grid.size, member_rows.data()});
    } else {
      const Complex<Real>* kick = kick_factor(kick_fraction, t);
      callback_forward->forward(psi, {kick, kinetic_factor(drift_fraction), grid.size});
    }
    plans.get(grid.size, members).inverse(psi);
  }

  // Σ_k w_k ‖ψ_k‖² (the CPU's Ensemble::trace), from per-member device reductions.
  double trace(const DeviceEnsemble<Real>& ensemble) const {
    const Complex<Real>* psi = ensemble.impl().psi.data();
    double total = 0.0;
    for (std::size_t k = 0; k < members; ++k) {
      total += ensemble.weights()[k] * grid.dx() *
               detail::device_squared_norm<Real>(psi + k * grid.size, grid.size);
    }
    return total;
  }
};

template <class Real>
SplitStepPropagator<Real>::SplitStepPropagator(const Grid& grid, const Potential& potential,
                                               const PropagatorOptions& options,
                                               std::size_t members, FftCallbacks callbacks)
    : SplitStepPropagator(grid, potential, options, members, MemberPotentials{}, callbacks) {}

template <class Real>
SplitStepPropagator<Real>::SplitStepPropagator(const Grid& grid, const Potential& potential,
                                               const PropagatorOptions& options,
                                               std::size_t members,
                                               MemberPotentials member_potentials,
                                               FftCallbacks callbacks)
    : impl_(std::make_unique<Impl>(Impl{grid, potential, options, members, callbacks,
                                        splitting_coefficients(options.scheme), {}, {}, {}, {},
                                        {}, {}, 0.0, {}, {}, {}, {}, {}})) {
  check_propagator_options(grid, options, members);
  Impl& s = *impl_;
  // The same profile as the CPU reference.
  s.absorbing_profile = absorbing_profile(grid, options.absorbing);
  // No member potentials (empty extra and of_member) is the single-potential propagator.
  if (!member_potentials.extra.empty() || !member_potentials.of_member.empty()) {
    s.member_potentials = checked_member_potentials(grid, members, std::move(member_potentials));
    const auto& of_member = s.member_potentials.of_member;
    const std::vector<unsigned long long> rows(of_member.begin(), of_member.end());
    s.member_rows = DeviceBuffer<unsigned long long>(rows.size());
    s.member_rows.upload(rows.data(), rows.size());
  }
  s.plans.get(grid.size, members);  // plan now: a shape cuFFT rejects fails here
  if (callbacks == FftCallbacks::on && s.per_member()) {
    s.member_callback_forward =
        std::make_unique<typename Impl::MemberCallbackPlan>(grid.size, members, "member_split_step");
  } else if (callbacks == FftCallbacks::on) {
    s.callback_forward = std::make_unique<typename Impl::CallbackPlan>(grid.size, members, "split_step");
  }
}

template <class Real>
SplitStepPropagator<Real>::~SplitStepPropagator() = default;

template <class Real>
void SplitStepPropagator<Real>::advance(DeviceEnsemble<Real>& ensemble, double t_start,
                                        std::size_t steps) {
  Impl& s = *impl_;
  require(ensemble.members() == s.members && ensemble.grid().size == s.grid.size,
          "cuda::SplitStepPropagator::advance ensemble",
          std::to_string(ensemble.members()) + " members of " +
              std::to_string(ensemble.grid().size),
          "must match the propagator's " + std::to_string(s.members) + " members of " +
              std::to_string(s.grid.size) + " points");
  if (steps == 0) return;
  Complex<Real>* psi = ensemble.impl().psi.data();
  const double trace_before = s.absorbing_profile.empty() ? 0.0 : s.trace(ensemble);
  const auto& kicks = s.coefficients.kicks;
  const auto& drifts = s.coefficients.drifts;
  // The last kick of a step and the first of the next act at the same time: fuse them.
  double pending = kicks.front();
  double t = t_start;
  for (std::size_t step = 0; step < steps; ++step) {
    double elapsed = 0.0;
    for (std::size_t i = 0; i < drifts.size(); ++i) {
      s.kick_and_drift(psi, pending, t + elapsed * s.options.dt, drifts[i]);
      elapsed += drifts[i];
      pending = kicks[i + 1];
    }
    t = t_start + static_cast<double>(step + 1) * s.options.dt;
    if (step + 1 < steps) pending += kicks.front();
  }
  s.apply_kick(psi, pending, t);
  if (!s.absorbing_profile.empty()) s.absorbed_norm += trace_before - s.trace(ensemble);
}

template <class Real>
double SplitStepPropagator<Real>::absorbed_norm() const {
  return impl_->absorbed_norm;
}

template <class Real>
const PropagatorOptions& SplitStepPropagator<Real>::options() const {
  return impl_->options;
}

template <class Real>
std::size_t SplitStepPropagator<Real>::member_table_bytes() const {
  std::size_t bytes = impl_->member_rows.bytes() + impl_->time_dependent_member_kick.bytes();
  for (const auto& entry : impl_->member_kick_cache) bytes += entry.second.bytes();
  return bytes;
}

template class SplitStepPropagator<double>;
template class SplitStepPropagator<float>;

}  // namespace phasespace::cuda
