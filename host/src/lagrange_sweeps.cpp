// Lagrange sweeps of the CPU Liouville solver, recorded and fused into passes over f (see
// lagrange_sweeps.hpp for the passes and why).
#include "lagrange_sweeps.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <omp.h>
#include <string>

#include "phasespace/errors.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"

namespace phasespace::detail {

namespace {

// The XPX pass keeps a ring of XP rows and, in place, saved rows around each chunk's start,
// as many as the X stencils reach; beyond this many rows an XP pass and an X pass are used.
constexpr long largest_xpx_reach = 256;

bool rows_aligned_for_streaming(const double* array, std::size_t momenta) {
  return reinterpret_cast<std::uintptr_t>(array) % 16 == 0 && momenta % 2 == 0;
}

// Rows [first, last) of thread `part` of `parts` in a pass over `rows` rows: whole blocks.
struct Chunk {
  long first;
  long last;
};

Chunk chunk_of(std::size_t rows, int part, int parts) {
  const std::size_t blocks = (rows + block_rows - 1) / block_rows;
  auto edge = [&](int k) {
    const std::size_t block = blocks * static_cast<std::size_t>(k) / static_cast<std::size_t>(parts);
    return static_cast<long>(std::min(rows, block * block_rows));
  };
  return {edge(part), edge(part + 1)};
}

}  // namespace

// ------------------------------------------------------------------ column stencils

void make_column_stencil(XStencil& stencil, const PhaseSpaceGrid& grid, int stencil_points,
                         std::size_t padded_momenta, double cells_per_momentum,
                         const std::function<void(double, double*)>& weights_of) {
  const std::size_t momenta = grid.momenta;
  stencil.cells_per_momentum = cells_per_momentum;
  const int taps = stencil_points + 1;
  const auto points = static_cast<std::size_t>(stencil_points);
  stencil.weights.assign(static_cast<std::size_t>(taps) * padded_momenta, 0.0);
  std::vector<long> offsets(momenta);
  std::vector<double> weights(points * momenta);
  for (std::size_t j = 0; j < momenta; ++j) {
    const auto split = kernels::split_shift(grid.p(j) * cells_per_momentum);
    offsets[j] = split.offset;
    weights_of(split.fraction, weights.data() + j * points);
  }
  auto& runs = stencil.runs;
  runs.clear();
  auto add_run = [&](std::size_t first, std::size_t last, long offset, int run_taps) {
    for (std::size_t j = first; j < last; ++j) {
      const auto slot = static_cast<std::size_t>(offsets[j] - offset);
      for (std::size_t m = 0; m < points; ++m) {
        stencil.weights[(slot + m) * padded_momenta + j] = weights[j * points + m];
      }
    }
    if (!runs.empty() && runs.back().last == first && runs.back().offset == offset &&
        runs.back().taps == run_taps) {
      runs.back().last = last;
    } else {
      runs.push_back({first, last, offset, run_taps});
    }
  };
  std::size_t j = 0;
  for (; j + lane_count <= momenta; j += lane_count) {
    const auto group = offsets.begin() + static_cast<long>(j);
    const auto [lowest, highest] = std::minmax_element(group, group + static_cast<long>(lane_count));
    if (*highest == *lowest) {
      add_run(j, j + lane_count, *lowest, stencil_points);
    } else if (*highest == *lowest + 1) {
      add_run(j, j + lane_count, *lowest, taps);
    } else {  // shifts that step by more than a cell per column: one run per column
      for (std::size_t k = j; k < j + lane_count; ++k) add_run(k, k + 1, offsets[k], stencil_points);
    }
  }
  for (; j < momenta; ++j) add_run(j, j + 1, offsets[j], stencil_points);
  const long first_node = kernels::stencil_first(stencil_points);
  stencil.lowest = runs.front().offset + first_node;
  stencil.highest = stencil.lowest;
  for (const ColumnRun& run : runs) {
    stencil.lowest = std::min(stencil.lowest, run.offset + first_node);
    stencil.highest = std::max(stencil.highest, run.offset + first_node + run.taps - 1);
  }
}

LagrangeSweeps::LagrangeSweeps(const PhaseSpaceGrid& grid, int points, bool zero_outside,
                               const LineShifter& p_shifter, int threads)
    : centres_(grid.centres),
      momenta_(grid.momenta),
      grid_(grid),
      points_(points),
      zero_outside_(zero_outside),
      p_shifter_(p_shifter),
      padded_momenta_(padded_row_length(grid.momenta)),
      block_stride_(padded_momenta_ + 2 * row_halo) {
  require(kernels::is_lagrange_points(points), "LagrangeSweeps points", std::to_string(points),
          "4, 6, 8 or 10 (Lagrange orders 3 to 9)");
  threads_.resize(static_cast<std::size_t>(std::max(1, threads)));
  for (auto& thread : threads_) {
    thread.p_scratch = p_shifter.make_scratch();
    thread.block.resize(block_rows * block_stride_);
  }
}

// ------------------------------------------------------------------ recording

double LagrangeSweeps::record_x(std::span<double> f, double cells_per_momentum) {
  if (pending_ == Pending::xp) {
    last_x_ = &x_stencil(cells_per_momentum);
    pending_ = Pending::xpx;
    return 0.0;
  }
  // X after X, after a lone P or after X P X: not what the splitting produces, but correct.
  const double lost = pending_ == Pending::none ? 0.0 : settle(f);
  first_x_ = &x_stencil(cells_per_momentum);
  pending_ = Pending::x;
  return lost;
}

double LagrangeSweeps::record_p(std::span<double> f, std::span<const double> force,
                                double cells_per_force) {
  double lost = 0.0;
  if (pending_ == Pending::xpx) {  // a further step: its first X P are performed now
    lost = xp_pass(f);
    std::swap(first_x_, last_x_);
    pending_ = Pending::x;
  } else if (pending_ != Pending::none && pending_ != Pending::x) {
    lost = settle(f);
  }
  p_sweep_ = &p_stencils(force, cells_per_force);
  pending_ = pending_ == Pending::x ? Pending::xp : Pending::p;
  return lost;
}

double LagrangeSweeps::settle(std::span<double> f) {
  double lost = 0.0;
  switch (pending_) {
    case Pending::none: break;
    case Pending::x: lost = x_pass(f); break;
    case Pending::p: lost = p_pass(f); break;
    case Pending::xp: lost = xp_pass(f); break;
    case Pending::xpx:
      if (xpx_pass_possible(f)) {
        lost = xpx_pass(f);
      } else {
        lost = xp_pass(f);
        std::swap(first_x_, last_x_);
        lost += x_pass(f);
      }
      break;
  }
  pending_ = Pending::none;
  copy_back(f);
  return lost;
}

const LagrangeSweeps::PStencils& LagrangeSweeps::p_stencils(std::span<const double> force,
                                                             double cells_per_force) {
  auto same = [&](const PStencils& cached) {
    return cached.cells_per_force == cells_per_force &&
           std::equal(force.begin(), force.end(), cached.force.begin(), cached.force.end());
  };
  auto make = [&] {
    PStencils made;
    made.cells_per_force = cells_per_force;
    made.force.assign(force.begin(), force.end());
    made.start.resize(centres_);
    made.weights.resize(centres_ * static_cast<std::size_t>(points_));
    for (std::size_t c = 0; c < centres_; ++c) {
      const auto split = kernels::split_shift(force[c] * cells_per_force);
      made.start[c] = split.offset + kernels::stencil_first(points_);
      kernels::lagrange_weights(points_, split.fraction, made.weights.data() + c * static_cast<std::size_t>(points_));
    }
    return made;
  };
  return p_cache_.find_or_make(same, make);
}

const XStencil& LagrangeSweeps::x_stencil(double cells_per_momentum) {
  return x_cache_.find_or_make(
      [&](const XStencil& cached) { return cached.cells_per_momentum == cells_per_momentum; },
      [&] {
        XStencil made;
        make_x_stencil(made, cells_per_momentum);
        return made;
      });
}

void LagrangeSweeps::make_x_stencil(XStencil& stencil, double cells_per_momentum) const {
  make_column_stencil(stencil, grid_, points_, padded_momenta_, cells_per_momentum,
                      [this](double fraction, double* weights) {
                        kernels::lagrange_weights(points_, fraction, weights);
                      });
}

// ------------------------------------------------------------------ row work

template <class RowOf>
void LagrangeSweeps::x_block(const RowOf& row_of, long first_row, std::size_t count,
                             const XStencil& stencil, double* out, std::size_t stride,
                             bool stream) const {
  combine_column_block(row_of, first_row, count, stencil, kernels::stencil_first(points_),
                       padded_momenta_, out, stride, stream);
}

// P-shifts row c, held in a block row (with halo room), into out_row and returns the mass
// that left through the momentum edges: straight from the block when the stencil stays
// within the row and its halo, else by the line shifter.
double LagrangeSweeps::p_shift_row(std::size_t c, double* row, double* out_row, bool stream,
                                   Thread& thread) const {
  const double before = zero_outside_ ? row_sum(row, momenta_) : 0.0;
  const long start = p_sweep_->start[c];
  const long reach_below = std::max(-start, 0L);                 // values read left of the row
  const long reach_above = std::max(start + points_ - 1, 0L);    // and right of it
  const long halo = static_cast<long>(row_halo);
  if (reach_below <= halo && reach_above <= halo) {
    fill_row_halo(row, momenta_, static_cast<std::size_t>(reach_below),
                  static_cast<std::size_t>(reach_above), zero_outside_);
    const double* weights = p_sweep_->weights.data() + c * static_cast<std::size_t>(points_);
    const double after = stencil_row(points_, stream, row + start, weights, out_row, momenta_);
    return zero_outside_ ? before - after : 0.0;
  }
  p_shifter_.shift(row, row, p_sweep_->force[c] * p_sweep_->cells_per_force, thread.p_scratch);
  if (stream) {
    stream_row(row, out_row, momenta_);
  } else {
    std::memcpy(out_row, row, momenta_ * sizeof(double));
  }
  return zero_outside_ ? before - row_sum(row, momenta_) : 0.0;
}

// ------------------------------------------------------------------ passes

double LagrangeSweeps::x_pass(std::span<double> f) {
  const double* in = current(f);
  double* out = other(f);
  const long length = static_cast<long>(centres_);
  auto input_row = [&](long i) { return in + static_cast<std::size_t>(wrap_index(i, length)) * momenta_; };
  const bool direct = rows_aligned_for_streaming(out, momenta_);
  const std::size_t blocks = (centres_ + block_rows - 1) / block_rows;
#pragma omp parallel num_threads(team_size())
  {
    double* block = threads_[static_cast<std::size_t>(omp_get_thread_num())].block.data() + row_halo;
#pragma omp for schedule(static)
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first_row = b * block_rows;
      const std::size_t count = std::min(block_rows, centres_ - first_row);
      if (direct) {
        x_block(input_row, static_cast<long>(first_row), count, *first_x_, out + first_row * momenta_, momenta_, true);
        continue;
      }
      x_block(input_row, static_cast<long>(first_row), count, *first_x_, block, block_stride_, false);
      for (std::size_t r = 0; r < count; ++r) stream_row(block + r * block_stride_, out + (first_row + r) * momenta_, momenta_);
    }
    fence_streamed_rows();
  }
  current_in_second_ = !current_in_second_;
  return 0.0;
}

double LagrangeSweeps::p_pass(std::span<double> f) {
  const double* source = current(f);  // rows are shifted from there into f
  double* data = f.data();
  double lost = 0.0;
#pragma omp parallel num_threads(team_size()) reduction(+ : lost)
  {
    Thread& thread = threads_[static_cast<std::size_t>(omp_get_thread_num())];
    double* row = thread.block.data() + row_halo;
#pragma omp for schedule(static)
    for (std::size_t c = 0; c < centres_; ++c) {
      std::memcpy(row, source + c * momenta_, momenta_ * sizeof(double));
      lost += p_shift_row(c, row, data + c * momenta_, false, thread);
    }
  }
  current_in_second_ = false;
  return lost;
}

double LagrangeSweeps::xp_pass(std::span<double> f) {
  const double* in = current(f);
  double* out = other(f);
  const long length = static_cast<long>(centres_);
  auto input_row = [&](long i) { return in + static_cast<std::size_t>(wrap_index(i, length)) * momenta_; };
  const std::size_t blocks = (centres_ + block_rows - 1) / block_rows;
  double lost = 0.0;
#pragma omp parallel num_threads(team_size()) reduction(+ : lost)
  {
    Thread& thread = threads_[static_cast<std::size_t>(omp_get_thread_num())];
    double* block = thread.block.data() + row_halo;
#pragma omp for schedule(static)
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first_row = b * block_rows;
      const std::size_t count = std::min(block_rows, centres_ - first_row);
      x_block(input_row, static_cast<long>(first_row), count, *first_x_, block, block_stride_, false);
      for (std::size_t r = 0; r < count; ++r) {
        const std::size_t c = first_row + r;
        lost += p_shift_row(c, block + r * block_stride_, out + c * momenta_, true, thread);
      }
    }
    fence_streamed_rows();
  }
  current_in_second_ = !current_in_second_;
  return lost;
}

bool LagrangeSweeps::xpx_pass_possible(std::span<double> f) const {
  (void)f;
  if (last_x_->highest - last_x_->lowest > largest_xpx_reach) return false;
  if (current_in_second_) return true;  // second → f: no input row is overwritten
  const long reach = first_x_->highest + last_x_->highest - first_x_->lowest - last_x_->lowest;
  // In place, output row c is written once XP rows up to c + last_x_->highest exist; input row
  // c is last read for XP row c - first_x_->lowest, which must come no later.
  return reach <= largest_xpx_reach && last_x_->highest + first_x_->lowest >= 0;
}

double LagrangeSweeps::xpx_pass(std::span<double> f) {
  const bool in_place = !current_in_second_;
  const double* in = current(f);
  double* out = f.data();
  const long length = static_cast<long>(centres_);
  // Output row c reads input rows c + reach_low ... c + reach_high, and XP rows are made
  // block_rows at a time, up to block_rows - 1 beyond those needed. In place, the rows saved
  // around each chunk's start are those a thread may read on the other side of its chunk's
  // ends: [start + saved_low, start + saved_high].
  const long reach_low = first_x_->lowest + last_x_->lowest;
  const long reach_high = first_x_->highest + last_x_->highest;
  const long saved_low = std::min(reach_low, 0L);
  const long saved_high = std::max(reach_high + static_cast<long>(block_rows), 0L);
  const auto saved_count = static_cast<std::size_t>(saved_high - saved_low + 1);
  const auto ring_rows = static_cast<long>(2 * block_rows) + last_x_->highest - last_x_->lowest + 1;
  const int team = team_size();
  const std::size_t saved_size = saved_count * momenta_;
  if (in_place) saved_rows_.resize(static_cast<std::size_t>(team) * saved_size);
  const bool direct = rows_aligned_for_streaming(out, momenta_);
  double lost = 0.0;
#pragma omp parallel num_threads(team) reduction(+ : lost)
  {
    const int part = omp_get_thread_num();
    const int parts = omp_get_num_threads();
    Thread& thread = threads_[static_cast<std::size_t>(part)];
    const Chunk chunk = chunk_of(centres_, part, parts);
    // In place: the rows around each chunk's start are saved before anyone writes; a thread
    // reads its own rows from f (each before it overwrites it), every other from the copies.
    double* own_saved = in_place ? saved_rows_.data() + static_cast<std::size_t>(part) * saved_size : nullptr;
    const double* next_saved = in_place ? saved_rows_.data() + static_cast<std::size_t>((part + 1) % parts) * saved_size : nullptr;
    if (in_place) {
      double* saved = own_saved;
      for (std::size_t q = 0; q < saved_count; ++q) {
        const long row = wrap_index(chunk.first + saved_low + static_cast<long>(q), length);
        std::memcpy(saved + q * momenta_, in + static_cast<std::size_t>(row) * momenta_, momenta_ * sizeof(double));
      }
#pragma omp barrier
    }
    auto input_row = [&](long i) -> const double* {
      if (!in_place) return in + static_cast<std::size_t>(wrap_index(i, length)) * momenta_;
      if (i >= chunk.first && i < chunk.last) return in + static_cast<std::size_t>(i) * momenta_;
      if (i < chunk.first) return own_saved + static_cast<std::size_t>(i - chunk.first - saved_low) * momenta_;
      return next_saved + static_cast<std::size_t>(i - chunk.last - saved_low) * momenta_;
    };
    thread.ring.resize(static_cast<std::size_t>(ring_rows) * padded_momenta_);
    double* ring = thread.ring.data();
    auto ring_row = [&](long r) { return ring + static_cast<std::size_t>(wrap_index(r, ring_rows)) * padded_momenta_; };
    double* block = thread.block.data() + row_halo;
    // Each XP row's lost mass is counted by one thread: rows [first, last) + last_x_->lowest.
    const long counted_first = chunk.first + last_x_->lowest;
    const long counted_last = chunk.last + last_x_->lowest;
    long next = counted_first;  // the next XP row to make
    for (long c0 = chunk.first; c0 < chunk.last; c0 += static_cast<long>(block_rows)) {
      const auto count = static_cast<std::size_t>(std::min(static_cast<long>(block_rows), chunk.last - c0));
      const long needed = c0 + static_cast<long>(count) + last_x_->highest;  // XP rows below it
      for (; next < needed; next += static_cast<long>(block_rows)) {
        x_block(input_row, next, block_rows, *first_x_, block, block_stride_, false);
        for (std::size_t r = 0; r < block_rows; ++r) {
          const long row = next + static_cast<long>(r);
          const double row_lost = p_shift_row(static_cast<std::size_t>(wrap_index(row, length)), block + r * block_stride_, ring_row(row), false, thread);
          if (row >= counted_first && row < counted_last) lost += row_lost;
        }
      }
      double* out_rows = out + static_cast<std::size_t>(c0) * momenta_;
      if (direct) {
        x_block(ring_row, c0, count, *last_x_, out_rows, momenta_, true);
      } else {
        x_block(ring_row, c0, count, *last_x_, block, block_stride_, false);
        for (std::size_t r = 0; r < count; ++r) stream_row(block + r * block_stride_, out_rows + r * momenta_, momenta_);
      }
    }
    fence_streamed_rows();
  }
  current_in_second_ = false;
  return lost;
}

void LagrangeSweeps::copy_back(std::span<double> f) {
  if (!current_in_second_) return;
  const std::size_t count = f.size();
  const std::size_t chunk = std::size_t{1} << 16;
#pragma omp parallel for schedule(static) num_threads(team_size())
  for (std::size_t begin = 0; begin < count; begin += chunk) {
    std::memcpy(f.data() + begin, second_.data() + begin, std::min(chunk, count - begin) * sizeof(double));
  }
  current_in_second_ = false;
}

double* LagrangeSweeps::other(std::span<double> f) {
  if (second_.size() != f.size()) second_.resize(f.size());
  return current_in_second_ ? f.data() : second_.data();
}

int LagrangeSweeps::team_size() const {
  return centres_ * momenta_ >= parallel_cells ? static_cast<int>(threads_.size()) : 1;
}

}  // namespace phasespace::detail
