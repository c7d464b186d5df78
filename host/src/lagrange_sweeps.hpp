#pragma once
// Private to the CPU Liouville solver: its Lagrange X and P sweeps, recorded and performed in
// as few passes over f as the splitting allows.
//
// f is centre-major (row c = centre x0_c, momenta contiguous). A P sweep shifts each row by a
// constant; an X sweep shifts each column, which a block of output rows computes as
// Σ_m w_m(j)·f[c + k_j + m][j] from a sliding window of input rows. Sweeps are recorded and
// performed lazily, so that the sequence the splitting produces, X P X P ... X, costs:
// - an "XP pass" per X P pair: each X-swept row is P-shifted while in cache (read f, write the
//   second array; the two arrays swap roles);
// - for the last X P X, one "XPX pass": XP rows go to a per-thread ring of rows from which the
//   second X is combined and written out, so the triple reads and writes f once and ends in f.
//   When it starts from f it works in place: each thread first saves the input rows around
//   its chunk's ends that a neighbour (or the periodic wrap) reads after they are overwritten.
// A lone Strang step is then one pass over f, n fused steps n passes.
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "line_shift.hpp"
#include "phasespace/projection.hpp"
#include "row_kernels.hpp"

namespace phasespace::detail {

// Columns [first, last) of an X sweep that are combined from the same input rows: `taps` rows
// from offset + stencil_first on, per output row. Columns whose shifts have the same integer
// part form one run of `points` taps. A group of lane_count columns across which that integer
// part steps by one gets its own run of points + 1 taps (the columns with the larger part
// have a zero first weight), so that it still runs in vector registers.
struct ColumnRun {
  std::size_t first;
  std::size_t last;
  long offset;
  int taps;
};

// The recorded stencils of one X sweep.
struct XStencil {
  double cells_per_momentum = 0.0;
  std::vector<double> weights;  // points + 1 rows (taps) of padded_momenta values
  std::vector<ColumnRun> runs;
  long lowest = 0;   // output row c reads input rows c + lowest ... c + highest
  long highest = 0;
};

// Builds the stencils of an X sweep that shifts column j by p_j·cells_per_momentum cells, with
// stencil_points weights per column (weights_of(fraction, weights)) on the rows from
// offset + stencil_first(stencil_points) on; rows padded_momenta values apart.
void make_column_stencil(XStencil& stencil, const PhaseSpaceGrid& grid, int stencil_points,
                         std::size_t padded_momenta, double cells_per_momentum,
                         const std::function<void(double, double*)>& weights_of);

// Rows [first_row, first_row + count) of the X sweep `stencil` into out (rows `stride` apart;
// vector stores non-temporal when `stream`), from the input rows row_of(i) (i unwrapped; the
// stencil's first node first_node rows from each run's offset).
template <class RowOf>
void combine_column_block(const RowOf& row_of, long first_row, std::size_t count,
                          const XStencil& stencil, long first_node, std::size_t padded_momenta,
                          double* out, std::size_t stride, bool stream) {
  const double* window[block_rows + 16];  // count + taps - 1 rows; taps <= 11
  for (const ColumnRun& run : stencil.runs) {
    const std::size_t window_rows = count + static_cast<std::size_t>(run.taps) - 1;
    const long base = first_row + run.offset + first_node;
    for (std::size_t q = 0; q < window_rows; ++q) window[q] = row_of(base + static_cast<long>(q));
    combine_rows(run.taps, stream, window, count, stencil.weights.data(), padded_momenta, out,
                 stride, run.first, run.last);
  }
}

class LagrangeSweeps {
 public:
  // `p_shifter` shifts rows whose P stencil reaches beyond the halo of a block row.
  LagrangeSweeps(const PhaseSpaceGrid& grid, int points, bool zero_outside,
                 const LineShifter& p_shifter, int threads);

  // Records an X sweep shifting column j by p_j·cells_per_momentum cells, and a P sweep
  // shifting row c by force[c]·cells_per_force cells. Either may perform earlier recorded
  // sweeps; all return the mass (sum of values) that left through the momentum edges then.
  double record_x(std::span<double> f, double cells_per_momentum);
  double record_p(std::span<double> f, std::span<const double> force, double cells_per_force);
  // Performs everything recorded; f then holds the density.
  double settle(std::span<double> f);

 private:
  enum class Pending { none, x, p, xp, xpx };
  struct Thread {
    LineShifter::Scratch p_scratch;
    // block_rows rows of an X sweep, block_stride apart, each with row_halo values of room on
    // either side for the P stencil.
    std::vector<double> block;
    std::vector<double> ring;  // XPX pass: ring_rows XP rows, padded_momenta apart
  };

  // The X stencils for a shift of p_j·cells_per_momentum cells, made once and kept (with the
  // last few others) since the splitting repeats the same fractions.
  const XStencil& x_stencil(double cells_per_momentum);
  void make_x_stencil(XStencil& stencil, double cells_per_momentum) const;
  template <class RowOf>
  void x_block(const RowOf& row_of, long first_row, std::size_t count, const XStencil& stencil,
               double* out, std::size_t stride, bool stream) const;
  double p_shift_row(std::size_t c, double* row, double* out_row, bool stream, Thread& thread) const;

  double x_pass(std::span<double> f);
  double p_pass(std::span<double> f);
  double xp_pass(std::span<double> f);
  double xpx_pass(std::span<double> f);
  bool xpx_pass_possible(std::span<double> f) const;
  void copy_back(std::span<double> f);

  double* current(std::span<double> f) { return current_in_second_ ? second_.data() : f.data(); }
  double* other(std::span<double> f);
  int team_size() const;

  std::size_t centres_;
  std::size_t momenta_;
  PhaseSpaceGrid grid_;
  int points_;
  bool zero_outside_;
  const LineShifter& p_shifter_;
  std::size_t padded_momenta_;  // padded_row_length: of the weights and the ring
  std::size_t block_stride_;
  std::vector<Thread> threads_;

  HugePageArray second_;
  bool current_in_second_ = false;  // whether second_ (not f) holds the current density

  Pending pending_ = Pending::none;
  // The recorded sweeps point at the two most recent entries, never evicted.
  RecentEntries<XStencil, 8> x_cache_;  // yoshida4: four X fractions, fused or not
  const XStencil* first_x_ = nullptr;  // the recorded X sweeps (first and, for xpx, last)
  const XStencil* last_x_ = nullptr;
  // A P sweep's stencils: row c is shifted by force[c]·cells_per_force cells, reading from
  // start[c] with points weights from weights[c·points]. The last few are kept, since the
  // splitting repeats the same sweeps when U does not depend on t.
  struct PStencils {
    double cells_per_force = 0.0;
    std::vector<double> force;
    std::vector<long> start;
    std::vector<double> weights;
  };
  const PStencils& p_stencils(std::span<const double> force, double cells_per_force);
  RecentEntries<PStencils, 4> p_cache_;  // yoshida4 has three P fractions
  const PStencils* p_sweep_ = nullptr;                // the recorded P sweep

  std::vector<double> saved_rows_;  // XPX in place: the rows around each chunk's start
};

}  // namespace phasespace::detail
