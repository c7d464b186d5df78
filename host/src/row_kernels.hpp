#pragma once
// Private to the CPU Liouville solver: the vectorised loops of its sweeps over rows of f
// (centre-major, momenta contiguous), the arrays they write into, and the small pieces the
// sweeps share.
#include <cstddef>
#include <cstdlib>
#include <algorithm>
#include <memory>
#include <vector>

namespace phasespace::detail {

// Output rows of an X sweep computed together: each column's weights are loaded once per
// block, and each input value once per block instead of once per stencil point.
constexpr std::size_t block_rows = 8;
// Columns combined together (one AVX-512 register of doubles).
constexpr std::size_t lane_count = 8;
// Values a P stencil may read beyond either end of a row held in a block: rows whose shift
// keeps the stencil within them are shifted straight from the block.
constexpr std::size_t row_halo = 64;

// Below this many cells a sweep runs on one thread: waking a team costs more than the work,
// and much more when the cores are shared.
constexpr std::size_t parallel_cells = std::size_t{1} << 15;

// Row length of per-column tables (stencil weights, rings), padded by a cache line or more:
// rows 2^k values apart would share L1 sets with the rows of f they are combined with.
inline std::size_t padded_row_length(std::size_t momenta) { return momenta + 8 - momenta % 8 + 8; }

// index mod length in [0, length). Window rows are at most a few lengths away: compare first,
// since a division for each row of each window costs more than the stencil on small grids.
inline long wrap_index(long index, long length) {
  if (index >= 0 && index < length) return index;
  if (index < 0 && index >= -length) return index + length;
  if (index >= length && index < 2 * length) return index - length;
  const long r = index % length;
  return r < 0 ? r + length : r;
}

// The Kept most recently used entries (stencils per shift fraction, which the splitting
// repeats), most recent first; an entry stays where it is in memory while it is kept.
template <class Entry, std::size_t Kept>
class RecentEntries {
 public:
  // The first entry `matches` accepts, now the most recent; else make()'s, kept as such.
  template <class Matches, class Make>
  const Entry& find_or_make(Matches matches, Make make) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (matches(*entries_[i])) {
        std::rotate(entries_.begin(), entries_.begin() + static_cast<long>(i),
                    entries_.begin() + static_cast<long>(i) + 1);
        return *entries_.front();
      }
    }
    if (entries_.size() == Kept) entries_.pop_back();
    entries_.insert(entries_.begin(), std::make_unique<Entry>(make()));
    return *entries_.front();
  }

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
};

// out[r·out_stride + j] = Σ_m weights[m·weight_stride + j]·window[r + m][j] for r < count and
// j in [first, last): `count` output rows of a column run from the count + taps - 1 input rows
// around them. With `stream`, whole-vector stores are non-temporal (out's rows 16-byte aligned).
void combine_rows(int taps, bool stream, const double* const* window, std::size_t count,
                  const double* weights, std::size_t weight_stride, double* out,
                  std::size_t out_stride, std::size_t first, std::size_t last);

// out[i] = Σ_m weights[m]·source[i + m] for i < length (points = 4, 6, 8 or 10), with
// non-temporal stores when `stream`; returns Σ_i out[i].
double stencil_row(int points, bool stream, const double* source, const double* weights,
                   double* out, std::size_t length);

// to[j] = from[j] + factor·previous[j] for j < length: one step of a first-order recursive
// filter run along the rows, for many columns at once (to may be from).
void recursive_filter_row(double* to, const double* from, const double* previous, double factor,
                          std::size_t length);

// to[j] += factor·from[j] for j < length.
void add_scaled_row(double* to, const double* from, double factor, std::size_t length);

double row_sum(const double* row, std::size_t length);

// Copies a row into the big array with non-temporal stores.
void stream_row(const double* from, double* to, std::size_t length);

// Orders this thread's non-temporal stores before whatever follows.
void fence_streamed_rows();

// Fills row[-below, 0) and row[length, length + above) (each at most row_halo): the periodic
// continuation of the row, or zeros.
void fill_row_halo(double* row, std::size_t length, std::size_t below, std::size_t above,
                   bool zero_outside);

// An f-sized work array of the sweeps (the Lagrange sweeps' second array, the spline
// coefficients), its contents undefined until written: 2 MiB aligned with transparent huge
// pages requested, since an X sweep reads a dozen rows, each momenta values apart, at once, and
// with 4 KiB pages every one of them is a TLB entry.
class HugePageArray {
 public:
  void resize(std::size_t count);
  double* data() { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(double* pointer) const { std::free(pointer); }
  };
  std::unique_ptr<double[], Free> data_;
  std::size_t size_ = 0;
};

}  // namespace phasespace::detail
