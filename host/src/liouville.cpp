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
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <omp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "line_shift.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/interpolation.hpp"
#include "phasespace/kernels/lagrange.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace {

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

// Output rows of a Lagrange X sweep computed together: each column's weights are loaded once
// per block instead of once per row, which halves the loads of the stencil.
constexpr std::size_t block_rows = 8;

// Eight doubles: one AVX-512 register, or two AVX2 ones. GCC lowers the arithmetic to whatever
// the clone being compiled has.
using Lanes = double __attribute__((vector_size(64)));
constexpr std::size_t lane_count = sizeof(Lanes) / sizeof(double);
// How far ahead along the rows the X sweep prefetches its input: it reads block_rows + Points - 1
// rows side by side, more streams than the hardware prefetcher follows.
constexpr std::size_t prefetch_distance = 8 * lane_count;

// Unaligned vector load and store, and a non-temporal store to a 16-byte aligned address. (By reference: passing a 64-byte vector by value would
// depend on the clone's ABI.)
inline __attribute__((always_inline)) void load_lanes(Lanes& value, const double* from) {
  std::memcpy(&value, from, sizeof value);
}

inline __attribute__((always_inline)) void store_lanes(double* to, const Lanes& value) {
  std::memcpy(to, &value, sizeof value);
}

// (SSE2 stores, which every clone has: a 64-byte one would need per-clone intrinsics.)
inline __attribute__((always_inline)) void stream_lanes(double* to, const Lanes& value) {
#if defined(__SSE2__)
  double values[lane_count];
  store_lanes(values, value);
  for (std::size_t v = 0; v < lane_count; v += 2) _mm_stream_pd(to + v, _mm_loadu_pd(values + v));
#else
  store_lanes(to, value);
#endif
}

// block[r·block_stride + j] = Σ_m weights[m·weight_stride + j]·window[r + m][j] for r < count
// and j in [first, last): `count` output rows of one column run, from the count + Points - 1
// input rows around them. For a whole block, eight columns at a time: their weights and the
// block_rows + Points - 1 input values of each column are loaded into registers once, so each
// input value is loaded once per block instead of Points times.
// With Stream, the vector stores are non-temporal (block then is the destination array, its
// rows 16-byte aligned).
template <int Points, bool Stream>
inline __attribute__((always_inline)) void combine_block(
    const double* const* window, std::size_t count, const double* weights, std::size_t weight_stride,
    double* block, std::size_t block_stride, std::size_t first, std::size_t last) {
  constexpr int window_rows = static_cast<int>(block_rows) + Points - 1;
  std::size_t j = first;
  if (count == block_rows) {
    for (; j + lane_count <= last; j += lane_count) {
      Lanes weight[Points];
      Lanes input[window_rows];
#pragma GCC unroll 16
      for (int m = 0; m < Points; ++m) load_lanes(weight[m], weights + static_cast<std::size_t>(m) * weight_stride + j);
#pragma GCC unroll 24
      for (int q = 0; q < window_rows; ++q) {
        load_lanes(input[q], window[q] + j);
        __builtin_prefetch(window[q] + j + prefetch_distance);
      }
#pragma GCC unroll 8
      for (int r = 0; r < static_cast<int>(block_rows); ++r) {
        Lanes sum = weight[0] * input[r];
#pragma GCC unroll 16
        for (int m = 1; m < Points; ++m) sum += weight[m] * input[r + m];
        double* to = block + static_cast<std::size_t>(r) * block_stride + j;
        if constexpr (Stream) {
          stream_lanes(to, sum);
        } else {
          store_lanes(to, sum);
        }
      }
    }
  }
  for (; j < last; ++j) {  // the columns left over, and the last block of a sweep
    for (std::size_t r = 0; r < count; ++r) {
      double sum = weights[j] * window[r][j];
      for (int m = 1; m < Points; ++m) sum += weights[static_cast<std::size_t>(m) * weight_stride + j] * window[r + static_cast<std::size_t>(m)][j];
      block[r * block_stride + j] = sum;
    }
  }
}

template <bool Stream>
inline __attribute__((always_inline)) void combine_block_taps(
    int taps, const double* const* window, std::size_t count, const double* weights,
    std::size_t weight_stride, double* block, std::size_t block_stride, std::size_t first,
    std::size_t last) {
  switch (taps) {
    case 4: return combine_block<4, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 5: return combine_block<5, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 6: return combine_block<6, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 7: return combine_block<7, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 8: return combine_block<8, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 9: return combine_block<9, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    case 10: return combine_block<10, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    default: return combine_block<11, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
  }
}

// Cloned for AVX-512 and AVX2 (with FMA) with a run-time choice: the build targets baseline x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void combine_block(int taps, bool stream, const double* const* window, std::size_t count,
                   const double* weights, std::size_t weight_stride, double* block,
                   std::size_t block_stride, std::size_t first, std::size_t last) {
  if (stream) {
    combine_block_taps<true>(taps, window, count, weights, weight_stride, block, block_stride, first, last);
  } else {
    combine_block_taps<false>(taps, window, count, weights, weight_stride, block, block_stride, first, last);
  }
}

double row_sum(const double* row, std::size_t length) {
  double sum = 0.0;
  for (std::size_t j = 0; j < length; ++j) sum += row[j];
  return sum;
}

// Copies a finished row into the big array with non-temporal stores: a plain store first
// reads the destination line into cache (read for ownership), a third memory pass, and the
// row will not be read again before it has left the cache anyway.
void stream_row(const double* from, double* to, std::size_t length) {
#if defined(__SSE2__)
  std::size_t j = 0;
  if (length > 0 && reinterpret_cast<std::uintptr_t>(to) % 16 != 0) {  // doubles: 8 off at most
    to[0] = from[0];
    j = 1;
  }
  for (; j + 2 <= length; j += 2) _mm_stream_pd(to + j, _mm_loadu_pd(from + j));
  if (j < length) to[j] = from[j];
#else
  std::memcpy(to, from, length * sizeof(double));
#endif
}

// out[i] = Σ_m weights[m]·source[i + m] for i < length, written with non-temporal stores like
// stream_row; returns Σ_i out[i] (the mass bookkeeping of a zero momentum boundary).
template <int Points>
inline __attribute__((always_inline)) double stencil_stream(const double* source, const double* weights,
                                                            double* out, std::size_t length) {
  double total = 0.0;
  auto one_value = [&](std::size_t i) {
    double sum = weights[0] * source[i];
    for (int m = 1; m < Points; ++m) sum += weights[m] * source[i + static_cast<std::size_t>(m)];
    out[i] = sum;
    total += sum;
  };
  std::size_t i = 0;
  if (length > 0 && reinterpret_cast<std::uintptr_t>(out) % 16 != 0) one_value(i++);  // 8 off at most
  Lanes weight[Points];
  for (int m = 0; m < Points; ++m) weight[m] = Lanes{} + weights[m];
  Lanes totals = {};
  for (; i + lane_count <= length; i += lane_count) {
    Lanes input;
    load_lanes(input, source + i);
    Lanes sum = weight[0] * input;
#pragma GCC unroll 16
    for (int m = 1; m < Points; ++m) {
      load_lanes(input, source + i + static_cast<std::size_t>(m));
      sum += weight[m] * input;
    }
    totals += sum;
    stream_lanes(out + i, sum);
  }
  for (; i < length; ++i) one_value(i);
  for (std::size_t v = 0; v < lane_count; ++v) total += totals[v];
  return total;
}

// Cloned for AVX-512 and AVX2 (with FMA) with a run-time choice.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
double stencil_stream(int points, const double* source, const double* weights, double* out,
                      std::size_t length) {
  switch (points) {
    case 4: return stencil_stream<4>(source, weights, out, length);
    case 6: return stencil_stream<6>(source, weights, out, length);
    case 8: return stencil_stream<8>(source, weights, out, length);
    default: return stencil_stream<10>(source, weights, out, length);
  }
}

// Values a P stencil may read beyond either end of a row held in a thread's block: rows whose
// shift keeps the stencil within them are shifted straight from the block.
constexpr std::size_t row_halo = 64;

// Fills row[-row_halo, 0) and row[length, length + row_halo): the periodic continuation of
// the row, or zeros.
void fill_row_halo(double* row, std::size_t length, bool zero_outside) {
  if (zero_outside) {
    std::fill(row - row_halo, row, 0.0);
    std::fill(row + length, row + length + row_halo, 0.0);
    return;
  }
  if (length >= row_halo) {
    std::memcpy(row - row_halo, row + length - row_halo, row_halo * sizeof(double));
    std::memcpy(row + length, row, row_halo * sizeof(double));
    return;
  }
  const long n = static_cast<long>(length);  // a row shorter than its halo wraps several times
  const long halo = static_cast<long>(row_halo);
  for (long q = 1; q <= halo; ++q) {
    row[-q] = row[n - 1 - (q - 1) % n];
    row[n - 1 + q] = row[(q - 1) % n];
  }
}

// Orders this thread's non-temporal stores before whatever follows (the end of the parallel
// region, after which other threads read the rows).
void fence_streamed_rows() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// The second array of the Lagrange sweeps, its contents undefined until written: 2 MiB
// aligned with transparent huge pages requested, since an X sweep reads a dozen rows, each
// momenta values apart, at once, and with 4 KiB pages every one of them is a TLB entry.
class HugePageArray {
 public:
  void resize(std::size_t count) {
    constexpr std::size_t alignment = std::size_t{2} << 20;
    const std::size_t bytes = (count * sizeof(double) + alignment - 1) / alignment * alignment;
    data_.reset(static_cast<double*>(std::aligned_alloc(alignment, bytes)));
    if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(data_.get(), bytes, MADV_HUGEPAGE);  // a request: without huge pages it still works
#endif
    size_ = count;
  }
  double* data() { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(double* pointer) const { std::free(pointer); }
  };
  std::unique_ptr<double[], Free> data_;
  std::size_t size_ = 0;
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
  HugePageArray second;
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
      combine_block(run.taps, stream, window, count, column_weights.data(), padded_momenta, block,
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
      fence_streamed_rows();
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
            stream_row(row, out_row, momenta);
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
    const double before = zero_outside ? row_sum(row, momenta) : 0.0;
    const double shift = (*force)[c] * cells_per_force;
    const auto split = kernels::split_shift(shift);
    const long start = split.offset + kernels::stencil_first(work.points);
    const long halo = static_cast<long>(row_halo);
    if (start >= -halo && start + work.points - 1 <= halo) {
      fill_row_halo(row, momenta, zero_outside);
      double weights[kernels::max_lagrange_points];
      kernels::lagrange_weights(work.points, split.fraction, weights);
      const double after = stencil_stream(work.points, row + start, weights, out_row, momenta);
      return zero_outside ? before - after : 0.0;
    }
    shifter.shift(row, row, shift, thread.p_scratch);
    stream_row(row, out_row, momenta);
    return zero_outside ? before - row_sum(row, momenta) : 0.0;
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
      const double before = zero_outside ? row_sum(from, momenta) : 0.0;
      shifter.shift(from, row, (*force)[c] * cells_per_force, thread.p_scratch);
      if (zero_outside) lost += before - row_sum(row, momenta);
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
