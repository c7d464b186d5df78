// Semi-Lagrangian Liouville/Boltzmann solver, CPU reference backend (OpenMP).
// Splitting: the X sweep (free streaming, which also carries the clock) plays the "kick" of
// splitting_coefficients() and the P sweep (force) the "drift", so Strang is
// X(dt/2) P(dt) X(dt/2) and yoshida4 is the triple jump of such steps. A P sweep at fraction i
// sees U'(x, t + (a_0 + ... + a_i)·dt): time advances with the free flow, which keeps the
// order of the composition for time-dependent potentials. Without collisions the last X of a
// step and the first X of the next are fused into one sweep.
//
// Memory traffic: with Lagrange interpolation the sweeps are recorded and performed in fused
// passes over f by detail::LagrangeSweeps (a lone Strang step is one pass; see
// lagrange_sweeps.hpp). Spline X sweeps prefilter all columns together along the rows
// (spline_sweep.hpp); spectral X sweeps copy tiles of columns into a transposed buffer and
// shift them there. Their P sweeps shift rows in place.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <omp.h>

#include "lagrange_sweeps.hpp"
#include "line_shift.hpp"
#include "spline_sweep.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {

using detail::parallel_cells;

namespace {

// Columns per X-sweep tile: the tile (columns × centres) stays in L2 while each row
// contributes a full cache line or more.
constexpr std::size_t tile_columns = 16;
// Lines of a tile are padded by a cache line: lines 2^k values apart would share L1 sets, and
// the transposing copies touch all 16 at once.
std::size_t tile_stride(std::size_t centres) { return centres + 8; }

void apply_collisions(const std::vector<std::shared_ptr<const CollisionOperator>>& collisions,
                      const PhaseSpaceGrid& grid, std::span<double> f, double tau, bool reverse) {
  if (reverse) {
    for (auto it = collisions.rbegin(); it != collisions.rend(); ++it) (*it)->apply(grid, tau, f);
  } else {
    for (const auto& collision : collisions) collision->apply(grid, tau, f);
  }
}

}  // namespace

struct LiouvilleSolver::Workspace {
  struct Thread {
    detail::LineShifter::Scratch x_scratch;
    detail::LineShifter::Scratch p_scratch;
    std::vector<double> tile;  // spectral: tile_columns lines of `centres` values, tile_stride(centres) apart
  };
  std::unique_ptr<detail::LineShifter> x_shifter;  // spectral: along x, length centres, periodic
  std::unique_ptr<detail::LineShifter> p_shifter;  // along p: length momenta
  std::vector<Thread> threads;
  std::vector<double> force;  // U'(x0_c), cached when U does not depend on t
  SplittingCoefficients coefficients;
  // Lagrange interpolation: the sweeps are recorded and fused into passes there.
  std::unique_ptr<detail::LagrangeSweeps> lagrange;
  // Spline interpolation: the X sweep over all columns at once.
  std::unique_ptr<detail::SplineXSweep> spline_x;

  int team_size(std::size_t cells) const {
    return cells >= parallel_cells ? static_cast<int>(threads.size()) : 1;
  }
};

void check_liouville_options(const PhaseSpaceGrid& grid, const LiouvilleOptions& options) {
  require(grid.centres >= 1 && grid.momenta >= 1, "phase_space grid",
          std::to_string(grid.centres) + " x " + std::to_string(grid.momenta),
          "at least one centre and one momentum");
  require(grid.dx0 > 0.0 && grid.dp > 0.0, "phase_space grid spacing",
          "dx0 = " + format_number(grid.dx0) + ", dp = " + format_number(grid.dp), "both > 0");
  require(options.mass > 0.0 && std::isfinite(options.mass), "system.mass",
          format_number(options.mass), "a finite number > 0");
  require(options.dt > 0.0 && std::isfinite(options.dt), "time.dt", format_number(options.dt),
          "a finite number > 0");
  detail::validate_interpolation(options.interpolation, "classical.interpolation");
}

LiouvilleSolver::LiouvilleSolver(const PhaseSpaceGrid& grid, const Potential& potential,
                                 const LiouvilleOptions& options,
                                 std::vector<std::shared_ptr<const CollisionOperator>> collisions)
    : grid_(grid), potential_(potential), options_(options), collisions_(std::move(collisions)) {
  check_liouville_options(grid, options);
  for (const auto& collision : collisions_) {
    require(collision != nullptr, "collisions", "null operator", "a collision operator");
  }

  workspace_ = std::make_unique<Workspace>();
  auto& work = *workspace_;
  work.coefficients = splitting_coefficients(options.scheme);
  const bool spectral = options.interpolation.kind == InterpolationKind::spectral;
  if (spectral) work.x_shifter = std::make_unique<detail::LineShifter>(options.interpolation, grid.centres, false);
  work.p_shifter = std::make_unique<detail::LineShifter>(
      options.interpolation, grid.momenta, options.momentum_boundary == MomentumBoundary::zero);
  const int thread_count = std::max(1, omp_get_max_threads());
  work.threads.resize(static_cast<std::size_t>(thread_count));
  for (auto& thread : work.threads) {
    thread.p_scratch = work.p_shifter->make_scratch();
    if (spectral) {  // the other kinds sweep x with their own machinery
      thread.x_scratch = work.x_shifter->make_scratch();
      thread.tile.resize(tile_columns * tile_stride(grid.centres));
    }
  }
  if (options.interpolation.kind == InterpolationKind::lagrange) {
    work.lagrange = std::make_unique<detail::LagrangeSweeps>(
        grid, options.interpolation.order + 1, options.momentum_boundary == MomentumBoundary::zero,
        *work.p_shifter, thread_count);
  }
  if (options.interpolation.kind == InterpolationKind::spline) {
    work.spline_x = std::make_unique<detail::SplineXSweep>(grid, thread_count);
  }
  if (!potential_.time_dependent()) {
    work.force.resize(grid.centres);
    for (std::size_t c = 0; c < grid.centres; ++c) work.force[c] = potential_.derivative(grid.x0(c));
  }
}

LiouvilleSolver::~LiouvilleSolver() = default;

void LiouvilleSolver::advance(std::span<double> f, double t_start, std::size_t steps) {
  require(f.size() == grid_.cells(), "f", std::to_string(f.size()) + " values",
          std::to_string(grid_.cells()) + " (centres x momenta)");
  const auto& x_fractions = workspace_->coefficients.kicks;
  const auto& p_fractions = workspace_->coefficients.drifts;
  const double dt = options_.dt;
  const bool fuse = collisions_.empty();
  double pending_x = 0.0;  // X fraction not yet applied (fused with the next one)
  for (std::size_t step = 0; step < steps; ++step) {
    const double t = t_start + static_cast<double>(step) * dt;
    if (!fuse) {
      settle(f);
      apply_collisions(collisions_, grid_, f, 0.5 * dt, false);
    }
    double elapsed = 0.0;
    for (std::size_t i = 0; i < p_fractions.size(); ++i) {
      pending_x += x_fractions[i];
      elapsed += x_fractions[i];
      sweep_x(f, pending_x * dt);
      pending_x = 0.0;
      sweep_p(f, p_fractions[i] * dt, t + elapsed * dt);
    }
    pending_x += x_fractions.back();
    if (!fuse) {
      sweep_x(f, pending_x * dt);
      pending_x = 0.0;
      settle(f);
      apply_collisions(collisions_, grid_, f, 0.5 * dt, true);
    }
  }
  sweep_x(f, pending_x * dt);
  settle(f);
}

void LiouvilleSolver::sweep_x(std::span<double> f, double tau) {
  if (tau == 0.0) return;
  auto& work = *workspace_;
  const std::size_t centres = grid_.centres;
  const std::size_t momenta = grid_.momenta;
  const double cells_per_momentum = tau / (options_.mass * grid_.dx0);
  if (work.lagrange) {
    mass_lost_ += work.lagrange->record_x(f, cells_per_momentum) * grid_.dx0 * grid_.dp;
    return;
  }
  if (work.spline_x) {
    work.spline_x->shift(f, cells_per_momentum);
    return;
  }
  const std::size_t tiles = (momenta + tile_columns - 1) / tile_columns;
  double* data = f.data();
  // Each tile of columns is copied into a contiguous transposed buffer, every column is
  // shifted there, and the tile is written back: one read and one write of f per sweep.
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(work.threads.size())) \
    if (grid_.cells() >= parallel_cells)
  for (std::size_t tile = 0; tile < tiles; ++tile) {
    auto& thread = work.threads[static_cast<std::size_t>(omp_get_thread_num())];
    const std::size_t first = tile * tile_columns;
    const std::size_t width = std::min(tile_columns, momenta - first);
    double* buffer = thread.tile.data();
    const std::size_t stride = tile_stride(centres);
    for (std::size_t c = 0; c < centres; ++c) {
      const double* row = data + c * momenta + first;
      for (std::size_t w = 0; w < width; ++w) buffer[w * stride + c] = row[w];
    }
    for (std::size_t w = 0; w < width; ++w) {
      double* line = buffer + w * stride;
      work.x_shifter->shift(line, line, grid_.p(first + w) * cells_per_momentum, thread.x_scratch);
    }
    for (std::size_t c = 0; c < centres; ++c) {
      double* row = data + c * momenta + first;
      for (std::size_t w = 0; w < width; ++w) row[w] = buffer[w * stride + c];
    }
  }
}

void LiouvilleSolver::sweep_p(std::span<double> f, double tau, double t) {
  if (tau == 0.0) return;
  auto& work = *workspace_;
  const std::size_t centres = grid_.centres;
  const std::size_t momenta = grid_.momenta;
  std::vector<double> force_now;
  const std::vector<double>* force = &work.force;
  if (potential_.time_dependent()) {
    force_now.resize(centres);  // muparser objects are not thread-safe: evaluate serially
    for (std::size_t c = 0; c < centres; ++c) force_now[c] = potential_.derivative(grid_.x0(c), t);
    force = &force_now;
  }
  const bool zero_outside = options_.momentum_boundary == MomentumBoundary::zero;
  const double cells_per_force = -tau / grid_.dp;  // f(x, p) ← f(x, p + U'τ)
  const double cell = grid_.dx0 * grid_.dp;
  if (work.lagrange) {
    mass_lost_ += work.lagrange->record_p(f, *force, cells_per_force) * cell;
    return;
  }
  const auto& shifter = *work.p_shifter;
  double* data = f.data();
  // Rows a few at a time: the line shifter interleaves their spline prefilters.
  constexpr std::size_t together = detail::LineShifter::lines_together;
  const std::size_t groups = (centres + together - 1) / together;
  double lost = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : lost) num_threads(work.team_size(f.size()))
  for (std::size_t group = 0; group < groups; ++group) {
    auto& thread = work.threads[static_cast<std::size_t>(omp_get_thread_num())];
    const std::size_t first = group * together;
    const std::size_t count = std::min(together, centres - first);
    double* rows[together];
    double shifts[together];
    for (std::size_t r = 0; r < count; ++r) {
      rows[r] = data + (first + r) * momenta;
      shifts[r] = (*force)[first + r] * cells_per_force;
      if (zero_outside) lost += detail::row_sum(rows[r], momenta);
    }
    shifter.shift_lines(rows, rows, shifts, count, thread.p_scratch);
    for (std::size_t r = 0; zero_outside && r < count; ++r) lost -= detail::row_sum(rows[r], momenta);
  }
  mass_lost_ += lost * cell;
}

void LiouvilleSolver::settle(std::span<double> f) {
  if (workspace_->lagrange) mass_lost_ += workspace_->lagrange->settle(f) * grid_.dx0 * grid_.dp;
}

void LiouvilleSolver::collide(std::span<double> f, double tau) {
  apply_collisions(collisions_, grid_, f, tau, false);
}

Diagnostics LiouvilleSolver::diagnostics(std::span<const double> f, double t) const {
  require(f.size() == grid_.cells(), "f", std::to_string(f.size()) + " values",
          std::to_string(grid_.cells()) + " (centres x momenta)");
  const std::size_t centres = grid_.centres;
  const std::size_t momenta = grid_.momenta;
  std::vector<double> potential_energy(centres);
  for (std::size_t c = 0; c < centres; ++c) potential_energy[c] = potential_.value(grid_.x0(c), t);
  std::vector<double> kinetic_energy(momenta);
  for (std::size_t j = 0; j < momenta; ++j) {
    kinetic_energy[j] = grid_.p(j) * grid_.p(j) / (2.0 * options_.mass);
  }
  double mass = 0.0;
  double square = 0.0;
  double entropy = 0.0;
  double energy = 0.0;
  double minimum = f.empty() ? 0.0 : f[0];
  const double* data = f.data();
#pragma omp parallel for schedule(static) reduction(+ : mass, square, entropy, energy) \
    reduction(min : minimum) if (grid_.cells() >= parallel_cells)
  for (std::size_t c = 0; c < centres; ++c) {
    const double* row = data + c * momenta;
    for (std::size_t j = 0; j < momenta; ++j) {
      const double value = row[j];
      mass += value;
      square += value * value;
      if (value > 0.0) entropy -= value * std::log(value);
      energy += (kinetic_energy[j] + potential_energy[c]) * value;
      minimum = std::min(minimum, value);
    }
  }
  const double cell = grid_.dx0 * grid_.dp;
  return {mass * cell, std::sqrt(square * cell), minimum, entropy * cell, energy * cell};
}

}  // namespace phasespace
