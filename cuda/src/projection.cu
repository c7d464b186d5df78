// Windowed projection on the device; the same rows, slots and scale as host/src/projection.cpp:
// row (member k, centre c) holds w(m dx)·ψ_k(x0_c + m dx) at slot m mod M (m = -half..half, the
// rest zero); a forward FFT gives A/dx at slot (k_first + j) mod M for momentum j.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "device_data.cuh"
#include "fft_callback_plan.cuh"
#include "phasespace/cuda/projection.hpp"
#include "phasespace/kernels/window.hpp"

namespace phasespace::cuda {

using detail::Complex;
using detail::DeviceBuffer;
using detail::ProjectionCallbackInfo;

namespace {

// table[slot] = w(m dx) for slot = m mod M, |m| <= half; 0 elsewhere. Made once per projector.
template <class Real>
__global__ void window_table_kernel(Real* table, std::size_t length, std::size_t half,
                                    kernels::WindowShape shape, double width, double dx) {
  for (std::size_t slot = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       slot < length; slot += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    double value = 0.0;
    if (slot <= half) {
      value = kernels::window_sample(shape, width, static_cast<double>(slot) * dx, dx);
    } else if (slot >= length - half) {
      const double m = static_cast<double>(slot) - static_cast<double>(length);
      value = kernels::window_sample(shape, width, m * dx, dx);
    }
    table[slot] = static_cast<Real>(value);
  }
}

// Slots (gather) and momenta (accumulate) per thread, blockDim.x apart: several independent
// loads in flight per thread, and one block covers a 1024-point row.
constexpr int slots_per_thread = 4;

// rows[(k_local·centre_count + c_local)·M + slot] = table[slot]·ψ_k(point), point = c·stride + m
// (periodic), for members member_first.. and centres centre_first.. of this chunk. Consecutive
// threads take consecutive slots, hence consecutive points of ψ: coalesced. Every slot of the row
// is written (zeros outside the support), so the FFT never reads stale data.
template <class Real, int Slots>
__global__ void __launch_bounds__(detail::threads_per_block)
    gather_window_kernel(const Complex<Real>* __restrict__ psi, Complex<Real>* __restrict__ rows,
                         const Real* __restrict__ table, std::size_t size, std::size_t length,
                         std::size_t half, std::size_t centre_stride, std::size_t centre_first,
                         std::size_t centre_count, std::size_t member_first,
                         std::size_t member_count) {
  // Rows along y, slots along x: the row's centre and member need one division per row, not
  // per element; the periodic wrap of a point is an add or subtract, not a 64-bit modulo.
  const std::size_t row_count = member_count * centre_count;
  const std::size_t span = static_cast<std::size_t>(Slots) * blockDim.x;
  const long long n = static_cast<long long>(size);
  for (std::size_t row = blockIdx.y; row < row_count; row += gridDim.y) {
    const std::size_t centre = centre_first + row % centre_count;
    const std::size_t member = member_first + row / centre_count;
    const Complex<Real>* member_psi = psi + member * size;
    Complex<Real>* out = rows + row * length;
    const long long origin = static_cast<long long>(centre * centre_stride);  // in [0, size)
    for (std::size_t slot0 = blockIdx.x * span + threadIdx.x; slot0 < length;
         slot0 += gridDim.x * span) {
      Complex<Real> value[Slots];
#pragma unroll
      for (int e = 0; e < Slots; ++e) {
        const std::size_t slot = slot0 + static_cast<std::size_t>(e) * blockDim.x;
        value[e].x = 0;
        value[e].y = 0;
        // slot <= half: m = slot; slot >= M - half: m = slot - M; between: outside the support.
        const bool positive = slot <= half;
        const bool negative = !positive && slot < length && slot >= length - half;
        if (positive || negative) {
          // point = (origin + m) mod N; |m| <= half < N needs one correction, a window wider
          // than the grid the general modulo.
          long long point = origin + (positive ? static_cast<long long>(slot)
                                               : static_cast<long long>(slot) -
                                                     static_cast<long long>(length));
          if (point < 0) point += n;
          else if (point >= n) point -= n;
          if (point < 0 || point >= n) point = ((point % n) + n) % n;
          const Complex<Real> sample = member_psi[point];
          const Real w = table[slot];
          value[e].x = w * sample.x;
          value[e].y = w * sample.y;
        }
      }
#pragma unroll
      for (int e = 0; e < Slots; ++e) {
        const std::size_t slot = slot0 + static_cast<std::size_t>(e) * blockDim.x;
        if (slot < length) out[slot] = value[e];
      }
    }
  }
}

// density[(centre_first + c)·momenta + j] (+)= Σ_k scale_k·|rows[(k·centre_count + c)·M + slot_j]|²
// over the chunk's members, slot_j = (first_slot + j) mod M. One thread per density cell, so no
// two threads add to the same cell; the first member chunk overwrites (no separate zeroing).
// Only the momenta's slots of each row are read.
template <class Real, int Columns>
__global__ void __launch_bounds__(detail::threads_per_block)
    accumulate_density_kernel(const Complex<Real>* __restrict__ rows, Real* __restrict__ density,
                              const double* __restrict__ member_scale, std::size_t length,
                              std::size_t momenta, std::size_t first_slot,
                              std::size_t centre_first, std::size_t centre_count,
                              std::size_t member_first, std::size_t member_count,
                              bool overwrite) {
  const std::size_t span = static_cast<std::size_t>(Columns) * blockDim.x;
  for (std::size_t c = blockIdx.y; c < centre_count; c += gridDim.y) {
    Real* out = density + (centre_first + c) * momenta;
    for (std::size_t j0 = blockIdx.x * span + threadIdx.x; j0 < momenta;
         j0 += gridDim.x * span) {
      std::size_t slot[Columns];
      Real sum[Columns];
#pragma unroll
      for (int e = 0; e < Columns; ++e) {
        slot[e] = first_slot + j0 + static_cast<std::size_t>(e) * blockDim.x;
        if (slot[e] >= length) slot[e] -= length;  // first_slot < M; j < momenta <= M
        sum[e] = 0;
      }
      for (std::size_t k = 0; k < member_count; ++k) {
        const Real scale = static_cast<Real>(member_scale[member_first + k]);
        const Complex<Real>* row = rows + (k * centre_count + c) * length;
#pragma unroll
        for (int e = 0; e < Columns; ++e) {
          if (j0 + static_cast<std::size_t>(e) * blockDim.x < momenta) {
            const Complex<Real> a = row[slot[e]];
            sum[e] += scale * (a.x * a.x + a.y * a.y);
          }
        }
      }
#pragma unroll
      for (int e = 0; e < Columns; ++e) {
        const std::size_t j = j0 + static_cast<std::size_t>(e) * blockDim.x;
        if (j < momenta) out[j] = overwrite ? sum[e] : out[j] + sum[e];
      }
    }
  }
}

// Launch shape for (rows × columns) kernels: columns along x, rows along y (grid-stride both).
dim3 row_grid(std::size_t rows, std::size_t columns, std::size_t columns_per_thread = 1) {
  const std::size_t span = detail::threads_per_block * columns_per_thread;
  const std::size_t x = (columns + span - 1) / span;
  const std::size_t y = std::min<std::size_t>(rows, 65535);
  return dim3(static_cast<unsigned int>(std::min<std::size_t>(x, 65535)),
              static_cast<unsigned int>(y == 0 ? 1 : y));
}

}  // namespace

template <class Real>
struct Projector<Real>::Impl {
  Grid grid;
  Window window;
  PhaseSpaceGrid phase_space;
  std::size_t memory_budget;
  std::size_t half = 0;
  DeviceBuffer<Real> table;               // window samples by FFT slot
  DeviceBuffer<Complex<Real>> rows;       // one chunk of rows
  DeviceBuffer<double> member_scale;      // w_k·dx²/(2πħ) per member
  detail::FftPlanCache<Real> plans;
  FftCallbacks callbacks = FftCallbacks::off;
  // FftCallbacks::on: transforms with the gather and the accumulation inside, per row count.
  using CallbackPlan = detail::FftCallbackPlan<Real, ProjectionCallbackInfo<Complex<Real>, Real>>;
  std::map<std::size_t, std::unique_ptr<CallbackPlan>> callback_plans;

  CallbackPlan& callback_plan(std::size_t rows) {
    auto& plan = callback_plans[rows];
    if (!plan) plan = std::make_unique<CallbackPlan>(phase_space.fft_length, rows, "projection");
    return *plan;
  }
  void project_with_callbacks(const Complex<Real>* psi, std::size_t members, Real* density,
                              const std::vector<double>& member_scale_host, std::size_t centre_block);
};

template <class Real>
Projector<Real>::Projector(const Grid& grid, const Window& window,
                           const PhaseSpaceGrid& phase_space, std::size_t memory_budget,
                           FftCallbacks callbacks)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.callbacks = callbacks;
  s.grid = grid;
  s.window = window;
  s.phase_space = phase_space;
  s.memory_budget = memory_budget;
  const std::size_t length = phase_space.fft_length;
  s.half = window.support_half_points(grid.dx());
  require(phase_space.centre_stride >= 1 &&
              phase_space.centres * phase_space.centre_stride == grid.size,
          "phase_space.centres", std::to_string(phase_space.centres),
          "centres·centre_stride must equal the grid size " + std::to_string(grid.size));
  require(length >= 2 * s.half + 1, "phase_space.fft_length", std::to_string(length),
          "must be >= the window support " + std::to_string(2 * s.half + 1) + " points");
  require(phase_space.momenta >= 1 && phase_space.momenta <= length, "phase_space.momenta",
          std::to_string(phase_space.momenta),
          "must be between 1 and fft_length " + std::to_string(length));
  require(length * sizeof(Complex<Real>) <= memory_budget, "projection memory budget",
          std::to_string(memory_budget) + " bytes",
          "must hold one FFT row of " + std::to_string(length * sizeof(Complex<Real>)) + " bytes");
  s.table = DeviceBuffer<Real>(length);
  window_table_kernel<Real><<<detail::blocks_for(length), detail::threads_per_block>>>(
      s.table.data(), length, s.half, window.shape, window.width, grid.dx());
  PHASESPACE_CUDA_CHECK_LAUNCH("window_table_kernel");
}

template <class Real>
Projector<Real>::~Projector() = default;

template <class Real>
std::size_t Projector<Real>::memory_bytes() const {
  std::size_t callback_work = 0;
  for (const auto& entry : impl_->callback_plans) callback_work += entry.second->work_bytes();
  return impl_->table.bytes() + impl_->rows.bytes() + impl_->member_scale.bytes() +
         impl_->plans.work_bytes() + callback_work;
}

template <class Real>
const PhaseSpaceGrid& Projector<Real>::phase_space() const {
  return impl_->phase_space;
}

template <class Real>
void Projector<Real>::project(const DeviceEnsemble<Real>& ensemble, DeviceDensity<Real>& density) {
  if (ensemble.members() == 0) {  // as the CPU reference: no members, no density
    require(density.cells() == impl_->phase_space.cells(), "density size",
            std::to_string(density.cells()),
            "must be centres·momenta = " + std::to_string(impl_->phase_space.cells()));
    density.impl().values.zero();
    return;
  }
  project(ensemble, 0, ensemble.weights(), density);
}

template <class Real>
void Projector<Real>::project(const DeviceEnsemble<Real>& ensemble, std::size_t first,
                              std::span<const double> weights, DeviceDensity<Real>& density) {
  Impl& s = *impl_;
  const PhaseSpaceGrid& ps = s.phase_space;
  require(ensemble.grid().size == s.grid.size && ensemble.grid().length == s.grid.length,
          "ensemble grid", std::to_string(ensemble.grid().size) + " points",
          "must be the projector's grid of " + std::to_string(s.grid.size) + " points");
  require(density.cells() == ps.cells(), "density size", std::to_string(density.cells()),
          "must be centres·momenta = " + std::to_string(ps.cells()));
  require(!weights.empty() && first + weights.size() <= ensemble.members(), "projected members",
          std::to_string(first) + ".." + std::to_string(first + weights.size()),
          "must be a non-empty range within the ensemble's " + std::to_string(ensemble.members()) +
              " members");
  // Members [first, first + count) are the members 0.. of a shorter ensemble starting there.
  const Complex<Real>* psi = ensemble.impl().psi.data() + first * s.grid.size;
  const std::size_t members = weights.size();
  const std::size_t length = ps.fft_length;

  // Chunk = centre_block centres × member_block members, within the budget: all centres of as
  // many members as fit, or (a huge row count) fewer centres of one member.
  const std::size_t budget_rows = std::max<std::size_t>(1, s.memory_budget / (length * sizeof(Complex<Real>)));
  const std::size_t centre_block = std::min(ps.centres, budget_rows);
  // With callbacks one member per transform: each density cell is then stored by one element.
  const std::size_t member_block =
      s.callbacks == FftCallbacks::on
          ? 1
          : std::max<std::size_t>(1, std::min(members, budget_rows / centre_block));
  const std::size_t chunk_rows = centre_block * member_block;
  if (s.rows.size() < chunk_rows * length) s.rows = DeviceBuffer<Complex<Real>>(chunk_rows * length);

  // |A|² = dx²|FFT|²; ρ = Σ_k w_k |A_k|²/(2πħ).
  const double dx = s.grid.dx();
  const double scale = dx * dx / (2.0 * std::numbers::pi * ps.hbar);
  std::vector<double> member_scale(members);
  for (std::size_t k = 0; k < members; ++k) member_scale[k] = weights[k] * scale;

  if (s.callbacks == FftCallbacks::on) {
    s.project_with_callbacks(psi, members, density.impl().values.data(), member_scale,
                             centre_block);
    return;
  }
  if (s.member_scale.size() != members) s.member_scale = DeviceBuffer<double>(members);
  s.member_scale.upload(member_scale.data(), members);  // the accumulate kernel reads it there
  const long period = static_cast<long>(length);
  const std::size_t first_slot = static_cast<std::size_t>(((ps.k_first % period) + period) % period);
  Real* out = density.impl().values.data();
  for (std::size_t member_first = 0; member_first < members; member_first += member_block) {
    const std::size_t member_count = std::min(member_block, members - member_first);
    for (std::size_t centre_first = 0; centre_first < ps.centres; centre_first += centre_block) {
      const std::size_t centre_count = std::min(centre_block, ps.centres - centre_first);
      const std::size_t rows = member_count * centre_count;
      gather_window_kernel<Real, slots_per_thread>
          <<<row_grid(rows, length, slots_per_thread), detail::threads_per_block>>>(
          psi, s.rows.data(), s.table.data(), s.grid.size, length, s.half, ps.centre_stride,
          centre_first, centre_count, member_first, member_count);
      PHASESPACE_CUDA_CHECK_LAUNCH("gather_window_kernel");
      s.plans.get(length, rows).forward(s.rows.data());
      accumulate_density_kernel<Real, slots_per_thread>
          <<<row_grid(centre_count, ps.momenta, slots_per_thread), detail::threads_per_block>>>(
              s.rows.data(), out, s.member_scale.data(), length, ps.momenta, first_slot,
              centre_first, centre_count, member_first, member_count, member_first == 0);
      PHASESPACE_CUDA_CHECK_LAUNCH("accumulate_density_kernel");
    }
  }
}

// One forward transform per (member, chunk of centres): the load callback gathers and windows ψ
// into the transform, the store callback adds the member's scale·|A|² into ρ. The row buffer is
// only cuFFT's in-place data area.
template <class Real>
void Projector<Real>::Impl::project_with_callbacks(const Complex<Real>* psi,
                                                   std::size_t members, Real* density,
                                                   const std::vector<double>& member_scale_host,
                                                   std::size_t centre_block) {
  const PhaseSpaceGrid& ps = phase_space;
  const std::size_t length = ps.fft_length;
  const long period = static_cast<long>(length);
  ProjectionCallbackInfo<Complex<Real>, Real> info{};
  info.table = table.data();
  info.density = density;
  info.size = grid.size;
  info.length = length;
  info.half = half;
  info.centre_stride = ps.centre_stride;
  info.first_slot = static_cast<unsigned long long>(((ps.k_first % period) + period) % period);
  info.momenta = ps.momenta;
  for (std::size_t member = 0; member < members; ++member) {
    info.psi = psi + member * grid.size;
    info.scale = static_cast<Real>(member_scale_host[member]);
    info.overwrite = member == 0 ? 1 : 0;
    for (std::size_t centre_first = 0; centre_first < ps.centres; centre_first += centre_block) {
      const std::size_t centre_count = std::min(centre_block, ps.centres - centre_first);
      info.centre_first = centre_first;
      callback_plan(centre_count).forward(rows.data(), info);
    }
  }
}

template class Projector<double>;
template class Projector<float>;

}  // namespace phasespace::cuda
