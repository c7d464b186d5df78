// Semi-Lagrangian Liouville sweeps on the device; mirrors host/src/liouville.cpp: X sweeps play
// the "kick" of splitting_coefficients() and P sweeps the "drift"; a P sweep at fraction i sees
// U'(x, t + (a_0 + ... + a_i)·dt); without collisions the last X of a step and the first X of
// the next are fused; with them each step is C(dt/2) [transport] C(dt/2), the second half in
// reverse order (cuda::Collisions, collisions.cu). Every line shift is constant along its line,
// so what a line needs is computed once per line on the host, in double, with the same kernels::
// helpers as the CPU reference: the stencil (first sample, weights) of Lagrange sweeps here, the
// shift parameters of the spline and spectral sweeps, which run as FFT transfer factors
// (fft_line_shift.cuh).
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "device_data.cuh"
#include "fft_line_shift.cuh"
#include "phasespace/cuda/collisions.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/kernels/fft_shift.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"

namespace phasespace::cuda {

using detail::DeviceBuffer;

namespace {

// The stencils of one sweep: for line l, out[i] = Σ_m weights[m·lines + l]·in[i + first[l] + m]
// (indices along the line; wrapped into [0, length) for periodic lines).
template <class Real>
struct DeviceStencil {
  DeviceBuffer<long long> first;
  DeviceBuffer<Real> weights;  // [m][line], so a warp over lines reads consecutive weights
};

// One output per thread left the float sweeps latency-bound (4 bytes of unique DRAM traffic per
// thread in flight; double reached 62% of copy bandwidth, float 41% on an H100): each thread now
// makes several outputs from loads it issues up front.
constexpr int x_sweep_rows = 8;  // consecutive rows of one column per thread (X sweep)
template <class Real>
constexpr int p_sweep_columns = static_cast<int>(16 / sizeof(Real));  // columns per thread (P)

// X sweep: every momentum column j is shifted along x (periodic) by its own stencil.
// Rows (centres) along y, columns along x: a warp reads neighbouring columns of the same or
// neighbouring rows. A thread makes Rows consecutive rows of its column from a sliding window of
// Rows + Points - 1 input rows (instead of Rows·Points loads) and loads its column's weights once.
// Indices fit 32 bits (centres, momenta < 2^31, checked by the solver); offsets into f are 64-bit.
template <class Real, int Points, int Rows>
__global__ void __launch_bounds__(detail::threads_per_block)
    shift_columns_lagrange_kernel(const Real* __restrict__ in, Real* __restrict__ out,
                                  const long long* __restrict__ first,
                                  const Real* __restrict__ weights, unsigned int centres,
                                  unsigned int momenta) {
  const unsigned int tiles = (centres + Rows - 1) / Rows;
  for (unsigned int j = blockIdx.x * blockDim.x + threadIdx.x; j < momenta;
       j += gridDim.x * blockDim.x) {
    Real w[Points];
#pragma unroll
    for (int m = 0; m < Points; ++m) w[m] = weights[static_cast<std::size_t>(m) * momenta + j];
    const unsigned int shift = static_cast<unsigned int>(first[j]);  // in [0, centres)
    for (unsigned int tile = blockIdx.y; tile < tiles; tile += gridDim.y) {
      const unsigned int c0 = tile * Rows;
      unsigned int source = c0 + shift;  // c0 < centres: one wrap
      if (source >= centres) source -= centres;
      Real window[Rows + Points - 1];
#pragma unroll
      for (int i = 0; i < Rows + Points - 1; ++i) {
        window[i] = in[static_cast<std::size_t>(source) * momenta + j];
        if (++source == centres) source = 0;  // exact for any centres, even < Rows + Points
      }
#pragma unroll
      for (int r = 0; r < Rows; ++r) {
        if (c0 + r < centres) {
          Real sum = 0;
#pragma unroll
          for (int m = 0; m < Points; ++m) sum += w[m] * window[r + m];
          out[static_cast<std::size_t>(c0 + r) * momenta + j] = sum;
        }
      }
    }
  }
}

// P sweep: every centre row c is shifted along p by its own stencil; periodic (first[c] in
// [0, momenta)) or zero beyond the row (first[c] unwrapped). Reads are contiguous along the row.
// A thread makes Columns outputs blockDim.x apart (each warp access stays coalesced).
template <class Real, int Points, int Columns>
__global__ void __launch_bounds__(detail::threads_per_block)
    shift_rows_lagrange_kernel(const Real* __restrict__ in, Real* __restrict__ out,
                               const long long* __restrict__ first,
                               const Real* __restrict__ weights, unsigned int centres,
                               unsigned int momenta, bool zero_outside) {
  const unsigned int span = Columns * blockDim.x;
  for (unsigned int c = blockIdx.y; c < centres; c += gridDim.y) {
    const Real* row = in + static_cast<std::size_t>(c) * momenta;
    Real* out_row = out + static_cast<std::size_t>(c) * momenta;
    Real w[Points];
#pragma unroll
    for (int m = 0; m < Points; ++m) w[m] = weights[static_cast<std::size_t>(m) * centres + c];
    const long long start = first[c];
    for (unsigned int j0 = blockIdx.x * span + threadIdx.x; j0 < momenta; j0 += gridDim.x * span) {
      Real sum[Columns];
#pragma unroll
      for (int e = 0; e < Columns; ++e) {
        const unsigned int j = j0 + static_cast<unsigned int>(e) * blockDim.x;
        sum[e] = 0;
        if (j >= momenta) continue;
        if (zero_outside) {
          const long long base = static_cast<long long>(j) + start;
#pragma unroll
          for (int m = 0; m < Points; ++m) {
            const long long source = base + m;
            if (source >= 0 && source < static_cast<long long>(momenta)) sum[e] += w[m] * row[source];
          }
        } else {
          unsigned int base = j + static_cast<unsigned int>(start);  // start in [0, momenta)
          if (base >= momenta) base -= momenta;
#pragma unroll
          for (int m = 0; m < Points; ++m) {
            unsigned int source = base + static_cast<unsigned int>(m);
            if (source >= momenta) source -= momenta;
            sum[e] += w[m] * row[source];
          }
        }
      }
#pragma unroll
      for (int e = 0; e < Columns; ++e) {
        const unsigned int j = j0 + static_cast<unsigned int>(e) * blockDim.x;
        if (j < momenta) out_row[j] = sum[e];
      }
    }
  }
}

// Launch shape: `columns` along x (columns_per_thread each), `rows` along y; grid-stride both.
dim3 row_grid(std::size_t rows, std::size_t columns, std::size_t columns_per_thread = 1) {
  const std::size_t span = detail::threads_per_block * columns_per_thread;
  const std::size_t x = (columns + span - 1) / span;
  const std::size_t y = std::min<std::size_t>(rows, 65535);
  return dim3(static_cast<unsigned int>(std::min<std::size_t>(x, 65535)),
              static_cast<unsigned int>(y == 0 ? 1 : y));
}

long long positive_modulo(long long value, long long period) {
  const long long r = value % period;
  return r < 0 ? r + period : r;
}

// The minimum number of centres and momenta the sweeps of an interpolation need, and why.
std::size_t minimum_line_length(const Interpolation& interpolation, std::string& reason) {
  if (interpolation.kind == InterpolationKind::lagrange) {
    reason = "the stencil";
    return static_cast<std::size_t>(interpolation.order + 1);
  }
  reason = "lines to transform";
  return 2;
}

kernels::FftShiftKind fft_shift_kind(InterpolationKind kind) {
  return kind == InterpolationKind::spline ? kernels::FftShiftKind::spline
                                           : kernels::FftShiftKind::spectral;
}

}  // namespace

template <class Real>
struct LiouvilleSolver<Real>::Impl {
  using LineShifts = DeviceBuffer<kernels::FftLineShift>;

  Impl(const PhaseSpaceGrid& grid_, const Potential& potential_, const LiouvilleOptions& options_,
       std::vector<std::shared_ptr<const CollisionOperator>> collisions_)
      : grid(grid_),
        potential(potential_),
        options(options_),
        points(options_.interpolation.order + 1),
        coefficients(splitting_coefficients(options_.scheme)),
        collisions(grid_, std::move(collisions_)) {}

  PhaseSpaceGrid grid;
  Potential potential;
  LiouvilleOptions options;
  int points = 0;  // Lagrange stencil points
  SplittingCoefficients coefficients;
  std::vector<double> force;  // U'(x0_c), cached when U does not depend on t
  // Lagrange: the stencils of each sweep.
  std::map<double, DeviceStencil<Real>> x_stencils;  // by τ
  std::map<double, DeviceStencil<Real>> p_stencils;  // by τ (time-independent U only)
  DeviceStencil<Real> p_stencil_now;                 // time-dependent U
  // Spline and spectral: the FFT line shifter and the per-line shifts of each sweep, likewise.
  std::unique_ptr<detail::FftLineShifter<Real>> fft;
  std::map<double, LineShifts> x_line_shifts;
  std::map<double, LineShifts> p_line_shifts;
  LineShifts p_line_shifts_now;
  DeviceBuffer<Real> scratch;  // the other half of the ping-pong
  double mass_lost = 0.0;
  std::size_t sweeps = 0;
  Collisions<Real> collisions;

  // Stencils of lines whose shifts (in cells) are `shifts`; wrapped when periodic.
  void make_stencil(const std::vector<double>& shifts, std::size_t length, bool periodic,
                    DeviceStencil<Real>& stencil) const {
    const std::size_t lines = shifts.size();
    std::vector<long long> first(lines);
    std::vector<Real> weights(lines * static_cast<std::size_t>(points));
    double w[kernels::max_lagrange_points];
    for (std::size_t l = 0; l < lines; ++l) {
      const auto split = kernels::split_shift(shifts[l]);
      kernels::lagrange_weights(points, split.fraction, w);
      const long long start = static_cast<long long>(split.offset) + kernels::stencil_first(points);
      first[l] = periodic ? positive_modulo(start, static_cast<long long>(length)) : start;
      for (int m = 0; m < points; ++m) weights[static_cast<std::size_t>(m) * lines + l] = static_cast<Real>(w[m]);
    }
    if (stencil.first.size() != lines) stencil.first = DeviceBuffer<long long>(lines);
    if (stencil.weights.size() != weights.size()) stencil.weights = DeviceBuffer<Real>(weights.size());
    stencil.first.upload(first.data(), lines);
    stencil.weights.upload(weights.data(), weights.size());
  }

  // Shift in cells of each column in an X sweep of τ, and of each row in a P sweep at t.
  std::vector<double> x_shifts(double tau) const {
    std::vector<double> shifts(grid.momenta);
    const double cells_per_momentum = tau / (options.mass * grid.dx0);
    for (std::size_t j = 0; j < grid.momenta; ++j) shifts[j] = grid.p(j) * cells_per_momentum;
    return shifts;
  }
  std::vector<double> p_shifts(double tau, double t) const {
    std::vector<double> shifts(grid.centres);
    const double cells_per_force = -tau / grid.dp;  // f(x, p) ← f(x, p + U'τ)
    const bool cached_force = !potential.time_dependent();
    for (std::size_t c = 0; c < grid.centres; ++c) {
      const double force_c = cached_force ? force[c] : potential.derivative(grid.x0(c), t);
      shifts[c] = force_c * cells_per_force;
    }
    return shifts;
  }

  // The per-line data (`Entry`: stencils or FFT line shifts) of an X sweep, made by
  // make(shifts, entry) once per τ.
  template <class Entry, class Make>
  const Entry& x_lines(std::map<double, Entry>& cache, double tau, Make make) {
    auto found = cache.find(tau);
    if (found != cache.end()) return found->second;
    Entry entry;
    make(x_shifts(tau), entry);  // into the cache only when made: a throw leaves no empty entry
    return cache.emplace(tau, std::move(entry)).first->second;
  }
  // ... and of a P sweep: once per τ when U does not depend on t, else remade every sweep.
  template <class Entry, class Make>
  const Entry& p_lines(std::map<double, Entry>& cache, Entry& now, double tau, double t, Make make) {
    const bool cacheable = !potential.time_dependent();
    if (cacheable) {
      auto found = cache.find(tau);
      if (found != cache.end()) return found->second;
    }
    if (!cacheable) {
      make(p_shifts(tau, t), now);
      return now;
    }
    Entry entry;
    make(p_shifts(tau, t), entry);  // as x_lines: cached only when made
    return cache.emplace(tau, std::move(entry)).first->second;
  }

  const DeviceStencil<Real>& x_stencil(double tau) {
    return x_lines(x_stencils, tau, [&](const std::vector<double>& shifts, DeviceStencil<Real>& stencil) {
      make_stencil(shifts, grid.centres, true, stencil);
    });
  }
  const DeviceStencil<Real>& p_stencil(double tau, double t) {
    const bool periodic = options.momentum_boundary == MomentumBoundary::periodic;
    return p_lines(p_stencils, p_stencil_now, tau, t,
                   [&](const std::vector<double>& shifts, DeviceStencil<Real>& stencil) {
                     make_stencil(shifts, grid.momenta, periodic, stencil);
                   });
  }
  const LineShifts& x_line_shift(double tau) {
    return x_lines(x_line_shifts, tau, [&](const std::vector<double>& shifts, LineShifts& lines) {
      fft->column_parameters(shifts, lines);
    });
  }
  const LineShifts& p_line_shift(double tau, double t) {
    return p_lines(p_line_shifts, p_line_shifts_now, tau, t,
                   [&](const std::vector<double>& shifts, LineShifts& lines) {
                     fft->row_parameters(shifts, lines);
                   });
  }

  template <int Points>
  void launch_x(const Real* in, Real* out, const DeviceStencil<Real>& stencil) {
    const std::size_t tiles = (grid.centres + x_sweep_rows - 1) / x_sweep_rows;
    shift_columns_lagrange_kernel<Real, Points, x_sweep_rows>
        <<<row_grid(tiles, grid.momenta), detail::threads_per_block>>>(
            in, out, stencil.first.data(), stencil.weights.data(),
            static_cast<unsigned int>(grid.centres), static_cast<unsigned int>(grid.momenta));
    PHASESPACE_CUDA_CHECK_LAUNCH("shift_columns_lagrange_kernel");
  }
  template <int Points>
  void launch_p(const Real* in, Real* out, const DeviceStencil<Real>& stencil) {
    shift_rows_lagrange_kernel<Real, Points, p_sweep_columns<Real>>
        <<<row_grid(grid.centres, grid.momenta, p_sweep_columns<Real>),
           detail::threads_per_block>>>(
            in, out, stencil.first.data(), stencil.weights.data(),
            static_cast<unsigned int>(grid.centres), static_cast<unsigned int>(grid.momenta),
            options.momentum_boundary == MomentumBoundary::zero);
    PHASESPACE_CUDA_CHECK_LAUNCH("shift_rows_lagrange_kernel");
  }

  void lagrange_x(const Real* in, Real* out, double tau) {
    const DeviceStencil<Real>& stencil = x_stencil(tau);
    const bool known = kernels::visit_lagrange_points(
        points, [&](auto count) { launch_x<decltype(count)::value>(in, out, stencil); });
    if (!known) throw Error("lagrange_x: no " + std::to_string(points) + "-point Lagrange stencil");
  }
  void lagrange_p(const Real* in, Real* out, double tau, double t) {
    const DeviceStencil<Real>& stencil = p_stencil(tau, t);
    const bool known = kernels::visit_lagrange_points(
        points, [&](auto count) { launch_p<decltype(count)::value>(in, out, stencil); });
    if (!known) throw Error("lagrange_p: no " + std::to_string(points) + "-point Lagrange stencil");
  }

  // Spline and spectral: checks the padded row length, then makes the plans and buffers.
  void make_fft_shifter(std::size_t index_limit) {
    const auto kind = fft_shift_kind(options.interpolation.kind);
    const bool zero_outside = options.momentum_boundary == MomentumBoundary::zero;
    // The factors reduce k·shift modulo the transform length in 64-bit integers.
    const long padded = kernels::fft_shift_length(kind, static_cast<long>(grid.momenta), zero_outside);
    require(static_cast<std::size_t>(padded) < index_limit, "phase_space grid",
            std::to_string(grid.momenta) + " momenta",
            "a padded row (" + std::to_string(padded) + " values with " +
                to_string(options.interpolation) +
                " and classical.momentum_boundary zero) shorter than 2^31 on the cuda backend");
    fft = std::make_unique<detail::FftLineShifter<Real>>(kind, grid.centres, grid.momenta,
                                                         zero_outside);
  }

  // Each sweep reads f and writes the scratch buffer, then the two swap places.
  void sweep_x(DeviceDensity<Real>& f, double tau) {
    if (tau == 0.0) return;
    DeviceBuffer<Real>& values = f.impl().values;
    if (fft) {
      fft->shift_columns(values.data(), scratch.data(), x_line_shift(tau));
    } else {
      lagrange_x(values.data(), scratch.data(), tau);
    }
    values.swap(scratch);
    ++sweeps;
  }

  void sweep_p(DeviceDensity<Real>& f, double tau, double t) {
    if (tau == 0.0) return;
    DeviceBuffer<Real>& values = f.impl().values;
    if (fft) {
      fft->shift_rows(values.data(), scratch.data(), p_line_shift(tau, t));
    } else {
      lagrange_p(values.data(), scratch.data(), tau, t);
    }
    values.swap(scratch);
    ++sweeps;
  }
};

template <class Real>
LiouvilleSolver<Real>::LiouvilleSolver(
    const PhaseSpaceGrid& grid, const Potential& potential, const LiouvilleOptions& options,
    std::vector<std::shared_ptr<const CollisionOperator>> collisions)
    : impl_(std::make_unique<Impl>(grid, potential, options, std::move(collisions))) {
  check_liouville_options(grid, options);
  const std::string cells = std::to_string(grid.centres) + " x " + std::to_string(grid.momenta);
  std::string reason;
  const std::size_t minimum = minimum_line_length(options.interpolation, reason);
  require(grid.centres >= minimum && grid.momenta >= minimum, "phase_space grid", cells,
          "at least " + std::to_string(minimum) + " centres and momenta (" + reason + ") with " +
              to_string(options.interpolation) + " on the cuda backend");
  const std::size_t index_limit = std::size_t{1} << 31;  // the sweeps index lines in 32 bits
  require(grid.centres < index_limit && grid.momenta < index_limit, "phase_space grid", cells,
          "fewer than 2^31 centres and momenta on the cuda backend");
  if (options.interpolation.kind != InterpolationKind::lagrange) impl_->make_fft_shifter(index_limit);
  if (!potential.time_dependent()) {
    impl_->force.resize(grid.centres);
    for (std::size_t c = 0; c < grid.centres; ++c) impl_->force[c] = potential.derivative(grid.x0(c));
  }
}

template <class Real>
LiouvilleSolver<Real>::~LiouvilleSolver() = default;

template <class Real>
void LiouvilleSolver<Real>::advance(DeviceDensity<Real>& f, double t_start, std::size_t steps) {
  Impl& s = *impl_;
  require(f.cells() == s.grid.cells(), "f", std::to_string(f.cells()) + " values",
          std::to_string(s.grid.cells()) + " (centres x momenta)");
  if (steps == 0) return;
  if (s.scratch.size() != f.cells()) {
    s.scratch = DeviceBuffer<Real>(f.cells());
    s.scratch.poison();  // a cell a sweep forgot to write shows up as NaN, not as stale data
  }
  const bool zero_boundary = s.options.momentum_boundary == MomentumBoundary::zero;
  const double mass_before = zero_boundary ? mass(f) : 0.0;
  const auto& x_fractions = s.coefficients.kicks;
  const auto& p_fractions = s.coefficients.drifts;
  const double dt = s.options.dt;
  const bool fuse = s.collisions.empty();
  // Mass the collisions added: relaxation towards a given f_eq changes ∬f, and that is not
  // mass lost at the p edges (the CPU counts the edge loss of each P sweep instead).
  const bool count_collided_mass = zero_boundary && !s.collisions.conserves_mass();
  double collided_mass = 0.0;
  auto collide = [&](bool reverse) {
    const double before = count_collided_mass ? mass(f) : 0.0;
    s.collisions.apply(f, 0.5 * dt, reverse);
    if (count_collided_mass) collided_mass += mass(f) - before;
  };
  double pending_x = 0.0;  // X fraction not yet applied (fused with the next one)
  for (std::size_t step = 0; step < steps; ++step) {
    const double t = t_start + static_cast<double>(step) * dt;
    if (!fuse) collide(false);
    double elapsed = 0.0;
    for (std::size_t i = 0; i < p_fractions.size(); ++i) {
      pending_x += x_fractions[i];
      elapsed += x_fractions[i];
      s.sweep_x(f, pending_x * dt);
      pending_x = 0.0;
      s.sweep_p(f, p_fractions[i] * dt, t + elapsed * dt);
    }
    pending_x += x_fractions.back();
    if (!fuse) {
      s.sweep_x(f, pending_x * dt);
      pending_x = 0.0;
      collide(true);
    }
  }
  s.sweep_x(f, pending_x * dt);
  // X sweeps, periodic P sweeps and the other collisions conserve the sum to round-off: the
  // rest of the change is loss at the p edges.
  if (zero_boundary) s.mass_lost += mass_before - mass(f) + collided_mass;
}

template <class Real>
double LiouvilleSolver<Real>::mass(const DeviceDensity<Real>& f) const {
  return detail::device_sum<Real>(f.impl().values.data(), f.cells()) * impl_->grid.dx0 *
         impl_->grid.dp;
}

template <class Real>
double LiouvilleSolver<Real>::mass_lost() const {
  return impl_->mass_lost;
}

template <class Real>
std::size_t LiouvilleSolver<Real>::sweeps() const {
  return impl_->sweeps;
}

template <class Real>
const PhaseSpaceGrid& LiouvilleSolver<Real>::grid() const {
  return impl_->grid;
}

template class LiouvilleSolver<double>;
template class LiouvilleSolver<float>;

}  // namespace phasespace::cuda
