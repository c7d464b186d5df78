// The Liouville stage on the CPU: one full Strang step (X(dt/2) P(dt) X(dt/2)) on an n × n
// phase-space grid, next to its floor, a plain read+write pass over the same array (memcpy)
// measured in the same run, the two alternating in pairs. With Lagrange interpolation the
// solver fuses the sweeps into passes over f (lagrange_sweeps.hpp): a lone step reads and
// writes f once (in place), n fused steps n times. The step row times advance(f, t, 1) from
// scratch: nothing is amortised over steps.
#include <sys/mman.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <numbers>
#include <omp.h>

#include "bench.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/liouville.hpp"

namespace phasespace::bench {

namespace {

// A buffer on 2 MiB boundaries with transparent huge pages requested: a column tile of the
// X sweep touches every row, and with 4 KiB pages each row is a TLB miss. The floor copies
// the same kind of buffer, so the comparison stays fair.
struct HugeBuffer {
  explicit HugeBuffer(std::size_t count) : size(count) {
    const std::size_t alignment = std::size_t{2} << 20;
    const std::size_t bytes = (count * sizeof(double) + alignment - 1) / alignment * alignment;
    data = static_cast<double*>(std::aligned_alloc(alignment, bytes));
    if (data == nullptr) throw Error("liouville bench: cannot allocate " + std::to_string(bytes) + " bytes");
#ifdef MADV_HUGEPAGE
    madvise(data, bytes, MADV_HUGEPAGE);
#endif
  }
  ~HugeBuffer() { std::free(data); }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  std::span<double> span() { return {data, size}; }
  double* data = nullptr;
  std::size_t size = 0;
};

int log2_size(const Options& options) {
  if (options.size == "default") return 12;
  if (options.size == "small") return 8;
  const int value = std::atoi(options.size.c_str());
  require(value >= 4 && value <= 15, "--size", options.size, "default, small or an integer 4..15");
  return value;
}

std::string cells_per_second(double cells, double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g cell/s", cells / seconds);
  return text;
}

}  // namespace

std::vector<Row> liouville_cpu(const Options& options) {
  if (options.precision != "double") {
    std::cerr << "phasespace-bench: liouville cpu runs in double only; --precision "
              << options.precision << " skipped\n";
    return {};
  }
  const std::size_t n = std::size_t{1} << log2_size(options);
  PhaseSpaceGrid grid;
  grid.centres = n;
  grid.x0_first = -std::numbers::pi;
  grid.dx0 = 2.0 * std::numbers::pi / static_cast<double>(n);
  grid.momenta = n;
  grid.k_first = -static_cast<long>(n / 2);
  grid.dp = 8.0 / static_cast<double>(n);
  const Potential pendulum("1 - cos(x)", std::string("sin(x)"));

  HugeBuffer f(grid.cells());
  HugeBuffer copy(grid.cells());
  const double array_bytes = static_cast<double>(grid.cells() * sizeof(double));
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < n; ++c) {  // first touch by the threads that sweep later
    for (std::size_t j = 0; j < n; ++j) {
      const double u = (grid.x0(c) - 1.0) / 0.5;
      const double v = (grid.p(j) - 0.5) / 0.5;
      f.data[c * n + j] = std::exp(-0.5 * (u * u + v * v));
      copy.data[c * n + j] = 0.0;
    }
  }
  // The floor uses every thread, as the sweeps do: one thread alone cannot reach the memory
  // bandwidth of a many-core machine. Each row times it in pairs with its own stage.
  const auto floor_seconds = [&] {
    return wall_seconds([&] {
#pragma omp parallel for schedule(static)
      for (std::size_t c = 0; c < n; ++c) {
        std::memcpy(copy.data + c * n, f.data + c * n, n * sizeof(double));
      }
    });
  };

  const std::string shape = std::to_string(n) + "x" + std::to_string(n);
  const std::string device = cpu_device_name() + " x" + std::to_string(omp_get_max_threads());
  std::vector<Row> rows;
  auto measure = [&](const std::string& interpolation, std::size_t steps) {
    LiouvilleOptions solver_options;
    solver_options.dt = 0.01;
    solver_options.interpolation = parse_interpolation(interpolation);
    LiouvilleSolver solver(grid, pendulum, solver_options);
    const PairedSamples samples = time_pairs(
        [&] { return wall_seconds([&] { solver.advance(f.span(), 0.0, steps); }); },
        floor_seconds, options.repeat);
    // Passes over f per step (see the top): one with Lagrange. Spline and spectral sweeps are
    // not fused (n steps merge their X sweeps: n + 1 of them, and n P sweeps); a spline X sweep
    // is three passes (prefilter forward and back, then the stencil), a spectral one one.
    const bool lagrange = interpolation.rfind("lagrange", 0) == 0;
    const double x_passes = interpolation == "spline" ? 3.0 : 1.0;
    const double step_count = static_cast<double>(steps);
    const double sweeps =
        lagrange ? 1.0 : (x_passes * (step_count + 1.0) + step_count) / step_count;
    Row row;
    row.stage = "liouville";
    row.backend = "cpu";
    row.precision = "double";
    set_timings(row, samples, step_count, 1.0);
    const double per_step = row.seconds;
    row.shape = shape + " " + interpolation + " strang" +
                (steps > 1 ? " fused/" + std::to_string(steps) : "") + " " +
                cells_per_second(static_cast<double>(grid.cells()), per_step);
    row.floor = "parallel memcpy r+w of f (" + std::to_string(static_cast<long>(array_bytes / (1 << 20))) + " MiB)";
    row.bytes = sweeps * 2.0 * array_bytes;
    row.device = device;
    rows.push_back(row);
  };
  measure("lagrange5", 1);
  measure("lagrange5", 8);
  measure("spline", 1);
  measure("spectral", 1);
  return rows;
}

}  // namespace phasespace::bench
