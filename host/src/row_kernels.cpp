// The vectorised inner loops of the CPU Liouville solver's Lagrange sweeps (see row_kernels.hpp).
// Each public function is cloned for AVX-512 and AVX2 with a run-time choice, since the build
// targets baseline x86-64; the arithmetic is written on 8-double GCC vectors, which every
// clone lowers to its own registers.
#include "row_kernels.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "phasespace/errors.hpp"

namespace phasespace::detail {

namespace {

// Eight doubles: one AVX-512 register, or two AVX2 ones. GCC lowers the arithmetic to whatever
// the clone being compiled has.
using Lanes = double __attribute__((vector_size(64)));
static_assert(sizeof(Lanes) == lane_count * sizeof(double));
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
    case 11: return combine_block<11, Stream>(window, count, weights, weight_stride, block, block_stride, first, last);
    default:  // a Lagrange stencil's points, or one more (make_column_stencil)
      throw Error("combine_rows: no " + std::to_string(taps) + "-tap column run (4 to 11 taps)");
  }
}

}  // namespace

// Cloned for AVX-512 and AVX2 (with FMA) with a run-time choice: the build targets baseline x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void combine_rows(int taps, bool stream, const double* const* window, std::size_t count,
                  const double* weights, std::size_t weight_stride, double* block,
                  std::size_t block_stride, std::size_t first, std::size_t last) {
  if (stream) {
    combine_block_taps<true>(taps, window, count, weights, weight_stride, block, block_stride, first, last);
  } else {
    combine_block_taps<false>(taps, window, count, weights, weight_stride, block, block_stride, first, last);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void recursive_filter_row(double* to, const double* from, const double* previous, double factor,
                          std::size_t length) {
  for (std::size_t j = 0; j < length; ++j) to[j] = from[j] + factor * previous[j];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void add_scaled_row(double* to, const double* from, double factor, std::size_t length) {
  for (std::size_t j = 0; j < length; ++j) to[j] += factor * from[j];
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

namespace {

// out[i] = Σ_m weights[m]·source[i + m] for i < length, with non-temporal stores when Stream
// (like stream_row); returns Σ_i out[i] (the mass bookkeeping of a zero momentum boundary).
template <int Points, bool Stream>
inline __attribute__((always_inline)) double stencil_row(const double* source, const double* weights,
                                                         double* out, std::size_t length) {
  double total = 0.0;
  auto one_value = [&](std::size_t i) {
    double sum = weights[0] * source[i];
    for (int m = 1; m < Points; ++m) sum += weights[m] * source[i + static_cast<std::size_t>(m)];
    out[i] = sum;
    total += sum;
  };
  std::size_t i = 0;
  if (Stream && length > 0 && reinterpret_cast<std::uintptr_t>(out) % 16 != 0) one_value(i++);  // 8 off at most
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
    if constexpr (Stream) {
      stream_lanes(out + i, sum);
    } else {
      store_lanes(out + i, sum);
    }
  }
  for (; i < length; ++i) one_value(i);
  for (std::size_t v = 0; v < lane_count; ++v) total += totals[v];
  return total;
}

template <bool Stream>
inline __attribute__((always_inline)) double stencil_row_points(int points, const double* source,
                                                                const double* weights, double* out,
                                                                std::size_t length) {
  switch (points) {
    case 4: return stencil_row<4, Stream>(source, weights, out, length);
    case 6: return stencil_row<6, Stream>(source, weights, out, length);
    case 8: return stencil_row<8, Stream>(source, weights, out, length);
    case 10: return stencil_row<10, Stream>(source, weights, out, length);
    default:  // the counts of kernels::visit_lagrange_points
      throw Error("stencil_row: no " + std::to_string(points) +
                  "-point Lagrange stencil (4, 6, 8 or 10 points)");
  }
}

}  // namespace

// Cloned for AVX-512 and AVX2 (with FMA) with a run-time choice.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
double stencil_row(int points, bool stream, const double* source, const double* weights,
                   double* out, std::size_t length) {
  return stream ? stencil_row_points<true>(points, source, weights, out, length)
                : stencil_row_points<false>(points, source, weights, out, length);
}

// Fills row[-row_halo, 0) and row[length, length + row_halo): the periodic continuation of
// the row, or zeros.
void fill_row_halo(double* row, std::size_t length, std::size_t below, std::size_t above,
                   bool zero_outside) {
  if (zero_outside) {
    std::fill(row - below, row, 0.0);
    std::fill(row + length, row + length + above, 0.0);
    return;
  }
  if (length >= std::max(below, above)) {
    std::memcpy(row - below, row + length - below, below * sizeof(double));
    std::memcpy(row + length, row, above * sizeof(double));
    return;
  }
  const long n = static_cast<long>(length);  // a row shorter than its halo wraps several times
  for (long q = 1; q <= static_cast<long>(below); ++q) row[-q] = row[n - 1 - (q - 1) % n];
  for (long q = 1; q <= static_cast<long>(above); ++q) row[n - 1 + q] = row[(q - 1) % n];
}

// Orders this thread's non-temporal stores before whatever follows (the end of the parallel
// region, after which other threads read the rows).
void fence_streamed_rows() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}


void HugePageArray::resize(std::size_t count) {
  constexpr std::size_t alignment = std::size_t{2} << 20;
  const std::size_t bytes = (count * sizeof(double) + alignment - 1) / alignment * alignment;
  data_.reset(static_cast<double*>(std::aligned_alloc(alignment, bytes)));
  if (!data_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(data_.get(), bytes, MADV_HUGEPAGE);  // a request: without huge pages it still works
#endif
  size_ = count;
}

}  // namespace phasespace::detail
