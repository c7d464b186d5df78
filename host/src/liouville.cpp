// Semi-Lagrangian Liouville/Boltzmann solver, CPU reference backend (OpenMP).
// Splitting: the X sweep (free streaming, which also carries the clock) plays the "kick" of
// splitting_coefficients() and the P sweep (force) the "drift", so Strang is
// X(dt/2) P(dt) X(dt/2) and yoshida4 is the triple jump of such steps. A P sweep at fraction i
// sees U'(x, t + (a_0 + ... + a_i)·dt): time advances with the free flow, which keeps the
// order of the composition for time-dependent potentials. Without collisions the last X of a
// step and the first X of the next are fused into one sweep.
//
// Memory traffic: a P sweep shifts contiguous rows. A Lagrange X sweep streams over rows too:
// output row c is Σ_m w_m(j)·f[c + k_j + m][j] with per-column weights and offsets, so it reads
// a sliding window of rows from cache; it cannot work in place, so it writes into a second
// array (ping-pong). Output rows are built in blocks in a per-thread buffer, and the P sweep that
// follows the X sweep in the splitting shifts each row while it is still in cache, so X and P
// together cost one read and one write of the array: sweep_x only records a Lagrange X sweep,
// and the next sweep_p (or settle) performs it. Rows leave the buffer with non-temporal
// stores, which skip reading the destination into cache first. Spline and spectral X sweeps
// copy tiles of columns into a transposed buffer and shift them there.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <omp.h>

#include "line_shift.hpp"
#include "row_kernels.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {

using detail::block_rows;
using detail::lane_count;
using detail::row_halo;

namespace {

// Columns per X-sweep tile: the tile (columns × centres) stays in L2 while each row
// contributes a full cache line or more.
constexpr std::size_t tile_columns = 16;
// Below this many cells a sweep runs on one thread: waking a team costs more than the work,
// and much more when the cores are shared.
constexpr std::size_t parallel_cells = std::size_t{1} << 15;

void apply_collisions(const std::vector<std::shared_ptr<const CollisionOperator>>& collisions,
                      const PhaseSpaceGrid& grid, std::span<double> f, double tau, bool reverse) {
  if (reverse) {
    for (auto it = collisions.rbegin(); it != collisions.rend(); ++it) (*it)->apply(grid, tau, f);
  } else {
    for (const auto& collision : collisions) collision->apply(grid, tau, f);
  }
}

// Columns [first, last) of a Lagrange X sweep that are combined from the same input rows:
// `taps` rows from offset + stencil_first on, per output row. Columns whose shifts have the
// same integer part form one run of `points` taps. A group of lane_count columns across which
// that integer part steps by one gets its own run of points + 1 taps, the columns with the
// larger part having a zero first weight, so that it still runs in vector registers.
struct ColumnRun {
  std::size_t first;
  std::size_t last;
  long offset;
  int taps;
};

}  // namespace

struct LiouvilleSolver::Workspace {
  struct Thread {
    detail::LineShifter::Scratch x_scratch;
    detail::LineShifter::Scratch p_scratch;
    std::vector<double> tile;  // tile_columns lines of `centres` values
    // block_rows rows of a Lagrange X sweep, block_stride apart, each with row_halo values
    // of room on either side.
    std::vector<double> block;
  };
  std::unique_ptr<detail::LineShifter> x_shifter;  // along x: length centres, periodic
  std::unique_ptr<detail::LineShifter> p_shifter;  // along p: length momenta
  std::vector<Thread> threads;
  std::vector<double> force;  // U'(x0_c), cached when U does not depend on t
  SplittingCoefficients coefficients;
  std::size_t centres = 0;
  std::size_t momenta = 0;
  // Lagrange X sweeps: the second array, and whether it (not f) holds the current density.
  detail::HugePageArray second;
  bool current_in_second = false;
  // A recorded Lagrange X sweep not yet performed: its stencil and per-column weights.
  bool x_pending = false;
  int points = 0;
  std::vector<double> column_weights;  // points + 1 rows (taps) of padded_momenta values
  // Row length of the weights and of the thread blocks, padded by a cache line or more: rows
  // 2^k values apart would share L1 sets with the rows of f they are combined with.
  std::size_t padded_momenta = 0;
  std::size_t block_stride = 0;
  std::vector<ColumnRun> runs;

  double* current(std::span<double> f) { return current_in_second ? second.data() : f.data(); }
  double* other(std::span<double> f) {
    if (second.size() != f.size()) second.resize(f.size());
    return current_in_second ? f.data() : second.data();
  }
  int team_size(std::size_t cells) const {
    return cells >= parallel_cells ? static_cast<int>(threads.size()) : 1;
  }

  // Records the stencils of a Lagrange X sweep that shifts column j by p_j·cells_per_momentum
  // cells: per-column weights and the runs of columns that share input rows.
  void record_x_stencils(const PhaseSpaceGrid& grid, double cells_per_momentum) {
    const int taps = points + 1;
    column_weights.assign(static_cast<std::size_t>(taps) * padded_momenta, 0.0);
    std::vector<long> offsets(momenta);
    std::vector<double> weights(static_cast<std::size_t>(points) * momenta);
    for (std::size_t j = 0; j < momenta; ++j) {
      const auto split = kernels::split_shift(grid.p(j) * cells_per_momentum);
      offsets[j] = split.offset;
      kernels::lagrange_weights(points, split.fraction, weights.data() + j * static_cast<std::size_t>(points));
    }
    runs.clear();
    auto add_run = [&](std::size_t first, std::size_t last, long offset, int run_taps) {
      for (std::size_t j = first; j < last; ++j) {
        const std::size_t slot = static_cast<std::size_t>(offsets[j] - offset);
        for (int m = 0; m < points; ++m) {
          column_weights[(slot + static_cast<std::size_t>(m)) * padded_momenta + j] = weights[j * static_cast<std::size_t>(points) + static_cast<std::size_t>(m)];
        }
      }
      if (!runs.empty() && runs.back().last == first && runs.back().offset == offset && runs.back().taps == run_taps) {
        runs.back().last = last;
      } else {
        runs.push_back({first, last, offset, run_taps});
      }
    };
    std::size_t j = 0;
    for (; j + lane_count <= momenta; j += lane_count) {
      const auto [lowest, highest] = std::minmax_element(offsets.begin() + static_cast<long>(j), offsets.begin() + static_cast<long>(j + lane_count));
      if (*highest == *lowest) {
        add_run(j, j + lane_count, *lowest, points);
      } else if (*highest == *lowest + 1) {
        add_run(j, j + lane_count, *lowest, taps);
      } else {  // shifts that step by more than a cell per column: one run per column
        for (std::size_t k = j; k < j + lane_count; ++k) add_run(k, k + 1, offsets[k], points);
      }
    }
    for (; j < momenta; ++j) add_run(j, j + 1, offsets[j], points);
  }

  // Rows [first_row, first_row + count) of the X-swept `in` into block (rows `stride` apart;
  // vector stores non-temporal when `stream`): the recorded stencil over the rows around them
  // (periodic).
  void x_block(const double* in, std::size_t first_row, std::size_t count, double* block,
               std::size_t stride, bool stream) const {
    const long length = static_cast<long>(centres);
    const long first_node = kernels::stencil_first(points);
    const double* window[block_rows + kernels::max_lagrange_points + 1];
    for (const ColumnRun& run : runs) {
      const std::size_t window_rows = count + static_cast<std::size_t>(run.taps) - 1;
      const long base = static_cast<long>(first_row) + run.offset + first_node;
      for (std::size_t q = 0; q < window_rows; ++q) {
        long r = (base + static_cast<long>(q)) % length;
        if (r < 0) r += length;
        window[q] = in + static_cast<std::size_t>(r) * momenta;
      }
      detail::combine_rows(run.taps, stream, window, count, column_weights.data(), padded_momenta, block,
                    stride, run.first, run.last);
    }
  }

  // Performs the recorded X sweep from the current array into the other one. Each block of
  // rows is built in the thread's buffer and every row handed to
  // `finish_row(c, row, out_row, thread)`, which writes the row (changed or not, with room for
  // row_halo values on either side) into out_row and returns the mass it lost. Returns the
  // total mass lost. With `direct`, the rows are instead streamed straight into the other array
  // (its rows must be 16-byte aligned) and finish_row is not called.
  template <class FinishRow>
  double x_pass(std::span<double> f, FinishRow finish_row, bool direct = false) {
    const double* in = current(f);
    double* out = other(f);
    const std::size_t blocks = (centres + block_rows - 1) / block_rows;
    double lost = 0.0;
#pragma omp parallel num_threads(team_size(f.size())) reduction(+ : lost)
    {
      Thread& thread = threads[static_cast<std::size_t>(omp_get_thread_num())];
      double* block = thread.block.data() + row_halo;
#pragma omp for schedule(static)
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t first_row = b * block_rows;
        const std::size_t count = std::min(block_rows, centres - first_row);
        if (direct) {
          x_block(in, first_row, count, out + first_row * momenta, momenta, true);
          continue;
        }
        x_block(in, first_row, count, block, block_stride, false);
        for (std::size_t r = 0; r < count; ++r) {
          const std::size_t c = first_row + r;
          lost += finish_row(c, block + r * block_stride, out + c * momenta, thread);
        }
      }
      detail::fence_streamed_rows();
    }
    current_in_second = !current_in_second;
    x_pending = false;
    return lost;
  }

  // Performs a recorded X sweep, then copies the density back into f when it is left in the
  // second array.
  void settle(std::span<double> f) {
    if (x_pending) {
      const bool aligned_rows = reinterpret_cast<std::uintptr_t>(other(f)) % 16 == 0 && momenta % 2 == 0;
      x_pass(
          f,
          [this](std::size_t, const double* row, double* out_row, Thread&) {
            detail::stream_row(row, out_row, momenta);
            return 0.0;
          },
          aligned_rows);
    }
    if (!current_in_second) return;
    const std::size_t count = f.size();
    const std::size_t chunk = 1 << 16;
#pragma omp parallel for schedule(static) if (count >= 2 * chunk)
    for (std::size_t begin = 0; begin < count; begin += chunk) {
      std::memcpy(f.data() + begin, second.data() + begin, std::min(chunk, count - begin) * sizeof(double));
    }
    current_in_second = false;
  }
};

LiouvilleSolver::LiouvilleSolver(const PhaseSpaceGrid& grid, const Potential& potential,
                                 const LiouvilleOptions& options,
                                 std::vector<std::shared_ptr<const CollisionOperator>> collisions)
    : grid_(grid), potential_(potential), options_(options), collisions_(std::move(collisions)) {
  require(grid.centres >= 1 && grid.momenta >= 1, "phase_space grid",
          std::to_string(grid.centres) + " x " + std::to_string(grid.momenta),
          "at least one centre and one momentum");
  require(grid.dx0 > 0.0 && grid.dp > 0.0, "phase_space grid spacing",
          "dx0 = " + format_number(grid.dx0) + ", dp = " + format_number(grid.dp), "both > 0");
  require(options.mass > 0.0 && std::isfinite(options.mass), "system.mass",
          format_number(options.mass), "a finite number > 0");
  require(options.dt > 0.0 && std::isfinite(options.dt), "time.dt", format_number(options.dt),
          "a finite number > 0");
  for (const auto& collision : collisions_) {
    require(collision != nullptr, "collisions", "null operator", "a collision operator");
  }
  detail::validate_interpolation(options.interpolation, "classical.interpolation");

  workspace_ = std::make_unique<Workspace>();
  auto& work = *workspace_;
  work.coefficients = splitting_coefficients(options.scheme);
  work.centres = grid.centres;
  work.momenta = grid.momenta;
  work.points = options.interpolation.order + 1;
  work.padded_momenta = grid.momenta + 8 - grid.momenta % 8 + 8;
  work.block_stride = work.padded_momenta + 2 * row_halo;
  work.x_shifter = std::make_unique<detail::LineShifter>(options.interpolation, grid.centres, false);
  work.p_shifter = std::make_unique<detail::LineShifter>(
      options.interpolation, grid.momenta, options.momentum_boundary == MomentumBoundary::zero);
  const int thread_count = std::max(1, omp_get_max_threads());
  work.threads.resize(static_cast<std::size_t>(thread_count));
  for (auto& thread : work.threads) {
    thread.x_scratch = work.x_shifter->make_scratch();
    thread.p_scratch = work.p_shifter->make_scratch();
    thread.tile.resize(tile_columns * grid.centres);
    if (options.interpolation.kind == InterpolationKind::lagrange) thread.block.resize(block_rows * work.block_stride);
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
      workspace_->settle(f);
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
      workspace_->settle(f);
      apply_collisions(collisions_, grid_, f, 0.5 * dt, true);
    }
  }
  sweep_x(f, pending_x * dt);
  workspace_->settle(f);
}

void LiouvilleSolver::sweep_x(std::span<double> f, double tau) {
  if (tau == 0.0) return;
  auto& work = *workspace_;
  const std::size_t centres = grid_.centres;
  const std::size_t momenta = grid_.momenta;
  const double cells_per_momentum = tau / (options_.mass * grid_.dx0);
  if (options_.interpolation.kind == InterpolationKind::lagrange) {
    // Recorded only: the next P sweep performs it row by row, or settle() does. (advance()
    // never records two in a row; if it did, the first is performed here.)
    if (work.x_pending) work.settle(f);
    work.record_x_stencils(grid_, cells_per_momentum);
    work.x_pending = true;
    return;
  }
  work.settle(f);
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
    for (std::size_t c = 0; c < centres; ++c) {
      const double* row = data + c * momenta + first;
      for (std::size_t w = 0; w < width; ++w) buffer[w * centres + c] = row[w];
    }
    for (std::size_t w = 0; w < width; ++w) {
      double* line = buffer + w * centres;
      work.x_shifter->shift(line, line, grid_.p(first + w) * cells_per_momentum, thread.x_scratch);
    }
    for (std::size_t c = 0; c < centres; ++c) {
      double* row = data + c * momenta + first;
      for (std::size_t w = 0; w < width; ++w) row[w] = buffer[w * centres + c];
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
  const auto& shifter = *work.p_shifter;
  // Shifts one X-swept row of a thread's block into out_row and returns the mass that left
  // through the momentum edges: straight from the block when the stencil stays within the
  // row and its halo, else by the line shifter.
  auto shift_row = [&](std::size_t c, double* row, double* out_row, Workspace::Thread& thread) {
    const double before = zero_outside ? detail::row_sum(row, momenta) : 0.0;
    const double shift = (*force)[c] * cells_per_force;
    const auto split = kernels::split_shift(shift);
    const long start = split.offset + kernels::stencil_first(work.points);
    const long halo = static_cast<long>(row_halo);
    if (start >= -halo && start + work.points - 1 <= halo) {
      detail::fill_row_halo(row, momenta, zero_outside);
      double weights[kernels::max_lagrange_points];
      kernels::lagrange_weights(work.points, split.fraction, weights);
      const double after = detail::stencil_row(work.points, true, row + start, weights, out_row, momenta);
      return zero_outside ? before - after : 0.0;
    }
    shifter.shift(row, row, shift, thread.p_scratch);
    detail::stream_row(row, out_row, momenta);
    return zero_outside ? before - detail::row_sum(row, momenta) : 0.0;
  };
  double lost = 0.0;
  if (work.x_pending) {
    lost = work.x_pass(f, shift_row);  // each X-swept row is P-shifted while in cache
  } else {
    const double* source = work.current(f);  // rows are shifted from there into f
    double* data = f.data();
#pragma omp parallel for schedule(static) reduction(+ : lost) num_threads(work.team_size(f.size()))
    for (std::size_t c = 0; c < centres; ++c) {
      auto& thread = work.threads[static_cast<std::size_t>(omp_get_thread_num())];
      const double* from = source + c * momenta;
      double* row = data + c * momenta;
      const double before = zero_outside ? detail::row_sum(from, momenta) : 0.0;
      shifter.shift(from, row, (*force)[c] * cells_per_force, thread.p_scratch);
      if (zero_outside) lost += before - detail::row_sum(row, momenta);
    }
    work.current_in_second = false;
  }
  mass_lost_ += lost * grid_.dx0 * grid_.dp;
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
