// Collision operators on the device; mirrors host/src/collisions.cpp. Everything that does not
// depend on f comes from the CPU operator (collision_factors, relaxation_equilibrium), computed
// there in double and uploaded once per τ. The per-cell updates and the local-Maxwellian fit
// are the kernels:: functions the CPU operators call; only the sums over a row differ (a block
// reduction here, a loop there), so results agree to round-off.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "device_data.cuh"
#include "phasespace/collisions.hpp"
#include "phasespace/cuda/collisions.hpp"
#include "phasespace/kernels/collision.hpp"

namespace phasespace::cuda {

using detail::DeviceBuffer;

namespace {

constexpr int warp_size = 32;

// ---------------------------------------------------------------- BGK, given equilibrium

// Every cell independently: f ← f_eq + (f - f_eq)·decay.
template <class Real>
__global__ void __launch_bounds__(detail::threads_per_block)
    relax_given_kernel(Real* __restrict__ f, const Real* __restrict__ equilibrium,
                       std::size_t cells, double decay) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < cells;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    f[i] = static_cast<Real>(kernels::relax(f[i], equilibrium[i], decay));
  }
}

// ---------------------------------------------------------------- BGK, local Maxwellian

// One block per centre row (grid-stride over rows): the row's sums are block reductions, and
// the fit runs in every thread of the block on the same sums.
constexpr int maxwellian_threads = 256;
constexpr int maxwellian_warps = maxwellian_threads / warp_size;

// Sums each of `Count` per-thread values over the block. Every thread gets the totals, added in
// the same order, so the fit takes the same branches in all threads. Every thread of the block
// must call it; `shared` holds Count × maxwellian_warps values.
template <int Count>
__device__ void block_sum(double (&values)[Count], double* shared) {
  const unsigned int lane = threadIdx.x % warp_size;
  const unsigned int warp = threadIdx.x / warp_size;
#pragma unroll
  for (int k = 0; k < Count; ++k) {
    for (int offset = warp_size / 2; offset > 0; offset /= 2) {
      values[k] += __shfl_down_sync(0xffffffffu, values[k], offset);
    }
  }
  if (lane == 0) {
#pragma unroll
    for (int k = 0; k < Count; ++k) shared[k * maxwellian_warps + warp] = values[k];
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < Count; ++k) {
    double total = 0.0;
    for (int w = 0; w < maxwellian_warps; ++w) total += shared[k * maxwellian_warps + w];
    values[k] = total;
  }
  __syncthreads();  // the next call overwrites `shared`
}

// One row's momenta and the standardised q_j = (p_j - mean)/spread of its fit; called as
// evaluate(θ, moments) by kernels::fit_exponential_quadratic: Σ_j g_j q_j^k, k = 0..4.
struct RowMoments {
  unsigned int momenta;
  long long k_first;
  double dp;
  double mean;
  double spread;   // the length q is measured in (kernels::maxwellian_scale)
  double* shared;  // block_sum's scratch

  // p_j exactly as PhaseSpaceGrid::p computes it.
  __device__ double momentum(unsigned int j) const {
    return static_cast<double>(k_first + static_cast<long long>(j)) * dp;
  }
  __device__ double q(unsigned int j) const { return (momentum(j) - mean) / spread; }

  __device__ void operator()(const double* theta, double* moments) const {
    double sums[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
    for (unsigned int j = threadIdx.x; j < momenta; j += blockDim.x) {
      const double qj = q(j);
      double power = kernels::exponential_quadratic(theta, qj);
#pragma unroll
      for (int k = 0; k < 5; ++k) {
        sums[k] += power;
        power *= qj;
      }
    }
    block_sum(sums, shared);
    for (int k = 0; k < 5; ++k) moments[k] = sums[k];
  }
};

// MaxwellianRelaxation::relax_row of host/src/collisions.cpp, one block per row: relaxes the row
// towards exp(a + b p + c p²) with the row's Σf, Σpf, Σp²f where kernels::maxwellian_row_class
// finds that a Maxwellian exists (and its fit matches); other rows are left as they are.
// outcome[c] says what was done (check_maxwellian_rows reads it on the host).
template <class Real>
__global__ void __launch_bounds__(maxwellian_threads)
    relax_maxwellian_kernel(Real* __restrict__ f, unsigned int centres, unsigned int momenta,
                            long long k_first, double dp, double decay,
                            kernels::MaxwellianRowOutcome* __restrict__ outcome) {
  __shared__ double shared[5 * maxwellian_warps];
  for (unsigned int c = blockIdx.x; c < centres; c += gridDim.x) {
    Real* row = f + static_cast<std::size_t>(c) * momenta;
    RowMoments row_moments{momenta, k_first, dp, 0.0, 1.0, shared};
    double sums[4] = {0.0, 0.0, 0.0, 0.0};  // Σf, Σpf, Σ|f|, and the count of f < 0
    for (unsigned int j = threadIdx.x; j < momenta; j += blockDim.x) {
      const double value = row[j];
      sums[0] += value;
      sums[1] += row_moments.momentum(j) * value;
      sums[2] += fabs(value);
      sums[3] += value < 0.0 ? 1.0 : 0.0;
    }
    block_sum(sums, shared);
    const double density = sums[0];
    double mean = 0.0;
    double variance = 0.0;
    // The same values in every thread: the branches are uniform over the block.
    if (density > 0.0) {
      mean = sums[1] / density;
      double second[1] = {0.0};  // Σ(p - mean)²f
      for (unsigned int j = threadIdx.x; j < momenta; j += blockDim.x) {
        const double offset = row_moments.momentum(j) - mean;
        second[0] += offset * offset * static_cast<double>(row[j]);
      }
      block_sum(second, shared);
      variance = second[0] / density;
    }
    kernels::MaxwellianRowOutcome result{
        kernels::maxwellian_row_class(density, mean, variance, sums[3] > 0.0,
                                      row_moments.momentum(0), row_moments.momentum(momenta - 1), dp),
        0.0, sums[2], density, mean, variance};
    if (result.status == kernels::MaxwellianRow::relaxed) {
      row_moments.mean = mean;
      row_moments.spread = kernels::maxwellian_scale(variance, dp);
      double target[4] = {0.0, 0.0, 0.0, 0.0};  // Σf, Σqf, Σq²f, and Σe^{-q²/2}
      for (unsigned int j = threadIdx.x; j < momenta; j += blockDim.x) {
        const double qj = row_moments.q(j);
        const double value = row[j];
        target[0] += value;
        target[1] += qj * value;
        target[2] += qj * qj * value;
        target[3] += exp(-0.5 * qj * qj);
      }
      block_sum(target, shared);
      const kernels::ExponentialQuadraticFit fit =
          kernels::fit_exponential_quadratic(target, target[3], row_moments);
      result.mismatch = fit.mismatch;
      if (fit.mismatch <= kernels::maxwellian_mismatch_limit) {
        for (unsigned int j = threadIdx.x; j < momenta; j += blockDim.x) {
          const double equilibrium = kernels::exponential_quadratic(fit.theta, row_moments.q(j));
          row[j] = static_cast<Real>(kernels::relax(row[j], equilibrium, decay));
        }
      }
    }
    if (threadIdx.x == 0) outcome[c] = result;
  }
}

// ---------------------------------------------------------------- back-scattering

// Each pair (f(p_j), f(-p_j)) = (row[j], row[momenta-1-j]), j < momenta/2: the even part
// stays, the odd part is multiplied by decay[j].
template <class Real>
__global__ void __launch_bounds__(detail::threads_per_block)
    backscattering_kernel(Real* __restrict__ f, const double* __restrict__ decay,
                          unsigned int centres, unsigned int momenta) {
  const unsigned int half = momenta / 2;
  const std::size_t pairs = static_cast<std::size_t>(centres) * half;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < pairs;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t c = i / half;
    const unsigned int j = static_cast<unsigned int>(i % half);
    Real* row = f + c * momenta;
    double plus = row[j];
    double minus = row[momenta - 1 - j];
    kernels::backscatter_pair(plus, minus, decay[j]);
    row[j] = static_cast<Real>(plus);
    row[momenta - 1 - j] = static_cast<Real>(minus);
  }
}

// ---------------------------------------------------------------- rate matrix

// out[c][k] = Σ_l propagator[k][l]·in[c][l] for every centre c: the batched product
// F·Eᵀ in square tiles through shared memory (each input row and each matrix row is read once
// per tile instead of once per output). The sum runs over l in ascending order, as on the CPU.
constexpr int matrix_tile = 16;

template <class Real>
__global__ void __launch_bounds__(matrix_tile * matrix_tile)
    rate_matrix_kernel(const Real* __restrict__ in, Real* __restrict__ out,
                       const double* __restrict__ propagator, unsigned int centres,
                       unsigned int momenta) {
  __shared__ double rows[matrix_tile][matrix_tile + 1];     // in[c0 + y][l0 + x]
  __shared__ double weights[matrix_tile][matrix_tile + 1];  // propagator[k0 + y][l0 + x]
  const unsigned int x = threadIdx.x;
  const unsigned int y = threadIdx.y;
  const unsigned int k0 = blockIdx.x * matrix_tile;
  const unsigned int row_tiles = (centres + matrix_tile - 1) / matrix_tile;
  // Loop bounds depend on the block only, so every thread reaches each __syncthreads.
  for (unsigned int tile = blockIdx.y; tile < row_tiles; tile += gridDim.y) {
    const unsigned int c = tile * matrix_tile + y;
    double sum = 0.0;
    for (unsigned int l0 = 0; l0 < momenta; l0 += matrix_tile) {
      const unsigned int l = l0 + x;
      rows[y][x] = c < centres && l < momenta
                       ? static_cast<double>(in[static_cast<std::size_t>(c) * momenta + l])
                       : 0.0;
      weights[y][x] = k0 + y < momenta && l < momenta
                          ? propagator[static_cast<std::size_t>(k0 + y) * momenta + l]
                          : 0.0;
      __syncthreads();
#pragma unroll
      for (int t = 0; t < matrix_tile; ++t) sum += weights[x][t] * rows[y][t];
      __syncthreads();
    }
    if (c < centres && k0 + x < momenta) {
      out[static_cast<std::size_t>(c) * momenta + k0 + x] = static_cast<Real>(sum);
    }
  }
}

}  // namespace

template <class Real>
struct Collisions<Real>::Impl {
  // collision_factors() of one τ, on the host (relaxation reads its one decay from there) and
  // on the device.
  struct Factors {
    std::vector<double> host;
    DeviceBuffer<double> device;
  };
  struct Operator {
    std::shared_ptr<const CollisionOperator> source;  // the CPU operator the tables come from
    CollisionKind kind;
    DeviceBuffer<Real> equilibrium;     // given relaxation: f_eq on the grid
    std::map<double, Factors> factors;  // by τ
  };

  PhaseSpaceGrid grid;
  std::vector<Operator> operators;
  DeviceBuffer<kernels::MaxwellianRowOutcome> outcome;  // per centre (local Maxwellian)
  DeviceBuffer<Real> scratch;     // the rate matrix's output, swapped with f

  const Factors& step_factors(Operator& collision, double tau) {
    auto found = collision.factors.find(tau);
    if (found != collision.factors.end()) return found->second;
    Factors entry;
    entry.host = collision_factors(*collision.source, grid, tau);  // checks τ and the grid
    entry.device = DeviceBuffer<double>(entry.host.size());
    entry.device.upload(entry.host.data(), entry.host.size());
    return collision.factors.emplace(tau, std::move(entry)).first->second;
  }

  void apply_one(Operator& collision, DeviceBuffer<Real>& values, double tau) {
    const Factors& step = step_factors(collision, tau);
    const auto centres = static_cast<unsigned int>(grid.centres);
    const auto momenta = static_cast<unsigned int>(grid.momenta);
    switch (collision.kind) {
      case CollisionKind::given_relaxation:
        relax_given_kernel<Real><<<detail::blocks_for(values.size()), detail::threads_per_block>>>(
            values.data(), collision.equilibrium.data(), values.size(), step.host[0]);
        PHASESPACE_CUDA_CHECK_LAUNCH("relax_given_kernel");
        break;
      case CollisionKind::maxwellian_relaxation: {
        const auto blocks = static_cast<unsigned int>(std::min<std::size_t>(grid.centres, 1 << 20));
        relax_maxwellian_kernel<Real><<<blocks, maxwellian_threads>>>(
            values.data(), centres, momenta, static_cast<long long>(grid.k_first), grid.dp,
            step.host[0], outcome.data());
        PHASESPACE_CUDA_CHECK_LAUNCH("relax_maxwellian_kernel");
        check_maxwellian_fit();
        break;
      }
      case CollisionKind::backscattering: {
        const std::size_t pairs = grid.centres * (grid.momenta / 2);
        backscattering_kernel<Real><<<detail::blocks_for(pairs), detail::threads_per_block>>>(
            values.data(), step.device.data(), centres, momenta);
        PHASESPACE_CUDA_CHECK_LAUNCH("backscattering_kernel");
        break;
      }
      case CollisionKind::rate_matrix: {
        const std::size_t row_tiles = (grid.centres + matrix_tile - 1) / matrix_tile;
        const dim3 blocks(static_cast<unsigned int>((grid.momenta + matrix_tile - 1) / matrix_tile),
                          static_cast<unsigned int>(std::min<std::size_t>(row_tiles, 65535)));
        rate_matrix_kernel<Real><<<blocks, dim3(matrix_tile, matrix_tile)>>>(
            values.data(), scratch.data(), step.device.data(), centres, momenta);
        PHASESPACE_CUDA_CHECK_LAUNCH("rate_matrix_kernel");
        values.swap(scratch);
        break;
      }
    }
  }

  // The CPU's check after its rows (the same function, on the same outcomes).
  void check_maxwellian_fit() const {
    std::vector<kernels::MaxwellianRowOutcome> rows(grid.centres);
    outcome.download(rows.data(), rows.size());
    check_maxwellian_rows(grid, rows.data());
  }
};

template <class Real>
Collisions<Real>::Collisions(const PhaseSpaceGrid& grid,
                             std::vector<std::shared_ptr<const CollisionOperator>> operators)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.grid = grid;
  const std::size_t index_limit = std::size_t{1} << 31;  // the kernels index rows in 32 bits
  require(grid.centres >= 1 && grid.momenta >= 1 && grid.centres < index_limit &&
              grid.momenta < index_limit,
          "phase_space grid", std::to_string(grid.centres) + " x " + std::to_string(grid.momenta),
          "1 to 2^31 - 1 centres and momenta on the cuda backend");
  for (auto& source : operators) {
    require(source != nullptr, "collisions", "null operator", "a collision operator");
    const std::optional<CollisionKind> kind = collision_kind(*source);
    require(kind.has_value(), "classical.collisions", source->name(),
            "relaxation, backscattering or rate_matrix (the operators of "
            "phasespace/collisions.hpp) on the cuda backend");
    typename Impl::Operator collision{source, *kind, {}, {}};
    if (*kind == CollisionKind::given_relaxation) {
      const std::vector<double> equilibrium = relaxation_equilibrium(*source, grid);
      const std::vector<Real> rounded(equilibrium.begin(), equilibrium.end());
      collision.equilibrium = DeviceBuffer<Real>(rounded.size());
      collision.equilibrium.upload(rounded.data(), rounded.size());
    }
    if (*kind == CollisionKind::maxwellian_relaxation && s.outcome.size() == 0) {
      s.outcome = DeviceBuffer<kernels::MaxwellianRowOutcome>(grid.centres);
    }
    if (*kind == CollisionKind::rate_matrix && s.scratch.size() == 0) {
      s.scratch = DeviceBuffer<Real>(grid.cells());
      s.scratch.poison();  // a cell the product forgot to write shows up as NaN
    }
    s.operators.push_back(std::move(collision));
  }
}

template <class Real>
Collisions<Real>::~Collisions() = default;
template <class Real>
Collisions<Real>::Collisions(Collisions&&) noexcept = default;
template <class Real>
Collisions<Real>& Collisions<Real>::operator=(Collisions&&) noexcept = default;

template <class Real>
void Collisions<Real>::apply(DeviceDensity<Real>& f, double tau, bool reverse) {
  Impl& s = *impl_;
  require(f.cells() == s.grid.cells(), "f", std::to_string(f.cells()) + " values",
          std::to_string(s.grid.cells()) + " (centres x momenta)");
  DeviceBuffer<Real>& values = f.impl().values;
  if (reverse) {
    for (auto it = s.operators.rbegin(); it != s.operators.rend(); ++it) s.apply_one(*it, values, tau);
  } else {
    for (auto& collision : s.operators) s.apply_one(collision, values, tau);
  }
}

template <class Real>
bool Collisions<Real>::empty() const {
  return impl_->operators.empty();
}

template <class Real>
bool Collisions<Real>::conserves_mass() const {
  for (const auto& collision : impl_->operators) {
    if (collision.kind == CollisionKind::given_relaxation) return false;
  }
  return true;
}

template class Collisions<double>;
template class Collisions<float>;

}  // namespace phasespace::cuda
