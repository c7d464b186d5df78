// Windowed projection onto the phase-space density (CPU reference backend: FFTW + OpenMP).
//
// Each (centre, member) pair is one row of fft_length complex numbers: the windowed samples
// w(m dx)·ψ(x0_c + m dx), m = -half..half, put at slot (m mod fft_length), the rest zero. A forward
// FFT of the row gives A(x0_c, p_k)/dx at slot (k mod fft_length), since FFTW_FORWARD computes
// Σ_m f_m e^{-2πi k m / M} and p_k m dx/ħ = 2π k m / M.
// The batch is processed in cache-sized chunks of centres, one chunk buffer per OpenMP thread;
// each thread owns whole density rows, so members are summed without races and in a fixed order
// (the result does not depend on the number of threads).
#include "phasespace/projection.hpp"

#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <numbers>
#include <string>

#include "fftw_setup.hpp"
#include "phasespace/aligned_vector.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/window.hpp"

namespace phasespace {
namespace {

constexpr double pi = std::numbers::pi;
// Relative slack when counting cells inside a box or Hann window: a width of exactly L cells,
// computed with round-off, must not pick up an extra edge cell of covered fraction ~1e-16.
constexpr double support_slack = 1e-12;
// Per-thread chunk buffer: a quarter of a 1 MiB L2, so the ψ reads and density writes of the
// chunk stay in cache beside it.
constexpr std::size_t chunk_target_bytes = std::size_t{256} << 10;
// Below this many transformed values (about 0.2 ms of FFT work) one thread does it all: the
// start-up and barrier of a parallel region cost more than they save, most of all when other
// processes share the cores.
constexpr std::size_t parallel_threshold_values = std::size_t{1} << 17;

std::size_t positive_modulo(long value, std::size_t modulus) {
  const long period = static_cast<long>(modulus);
  const long remainder = value % period;
  return static_cast<std::size_t>(remainder < 0 ? remainder + period : remainder);
}

std::string to_text(std::size_t value) { return std::to_string(value); }

// w(m dx) for m = -half..half, stored at index m + half.
std::vector<double> window_samples(const Window& window, double dx) {
  const std::size_t half = window.support_half_points(dx);
  std::vector<double> samples(2 * half + 1);
  for (std::size_t index = 0; index < samples.size(); ++index) {
    const double offset = (static_cast<double>(index) - static_cast<double>(half)) * dx;
    samples[index] = window.sample(offset, dx);
  }
  return samples;
}

// Default centre spacing: the largest power of two <= width/4 in grid points that divides N.
std::size_t default_centre_stride(const Grid& grid, const Window& window) {
  const double quarter_width_points = window.width / (4.0 * grid.dx());
  std::size_t stride = 1;
  while (static_cast<double>(2 * stride) <= quarter_width_points) stride *= 2;
  while (grid.size % stride != 0) stride /= 2;
  return stride;
}

// Writes one row per centre c in [centre_begin, centre_end): windowed samples at slot m mod M,
// i.e. m = 0..half at the head of the row, m = -half..-1 at its tail, zeros between.
void gather_rows(std::span<const complex> psi, std::size_t centre_stride,
                 const std::vector<double>& samples, std::size_t fft_length,
                 std::size_t centre_begin, std::size_t centre_end, complex* buffer) {
  const std::size_t size = psi.size();
  const std::size_t half = samples.size() / 2;
  const double* weight = samples.data() + half;  // weight[m] = w(m dx), m = -half..half
  std::vector<complex> wrapped;                  // only for windows that cross the periodic edge
  for (std::size_t centre = centre_begin; centre < centre_end; ++centre) {
    complex* row = buffer + (centre - centre_begin) * fft_length;
    const long first = static_cast<long>(centre * centre_stride) - static_cast<long>(half);
    const complex* source = nullptr;  // source[i] = ψ at sample index i (m = i - half)
    if (first >= 0 && first + static_cast<long>(samples.size()) <= static_cast<long>(size)) {
      source = psi.data() + first;
    } else {
      wrapped.resize(samples.size());
      for (std::size_t i = 0; i < samples.size(); ++i) {
        wrapped[i] = psi[positive_modulo(first + static_cast<long>(i), size)];
      }
      source = wrapped.data();
    }
    const complex* centre_source = source + half;
    complex* tail = row + (fft_length - half);  // slots of m = -half..-1
    for (std::size_t i = 0; i < half; ++i)
      tail[i] = weight[-static_cast<long>(half - i)] * source[i];
    for (std::size_t m = 0; m <= half; ++m) row[m] = weight[m] * centre_source[m];
    std::fill(row + half + 1, tail, complex(0.0, 0.0));
  }
}

// out[j] (+)= scale·|values[j]|², j < count.
template <bool overwrite>
void accumulate_run(const complex* values, std::size_t count, double scale, double* out) {
  const double* parts = reinterpret_cast<const double*>(values);  // re, im interleaved
  for (std::size_t j = 0; j < count; ++j) {
    const double power =
        scale * (parts[2 * j] * parts[2 * j] + parts[2 * j + 1] * parts[2 * j + 1]);
    out[j] = overwrite ? power : out[j] + power;
  }
}

// density row of each centre (+)= scale·|row[(k_first + j) mod M]|².
void accumulate_rows(const complex* buffer, const PhaseSpaceGrid& phase_space, double scale,
                     bool overwrite, std::size_t centre_begin, std::size_t centre_end,
                     double* density) {
  const std::size_t length = phase_space.fft_length;
  const std::size_t first_slot = positive_modulo(phase_space.k_first, length);
  // The momenta occupy slots first_slot..M-1, then wrap to 0.. (two contiguous runs).
  const std::size_t first_run = std::min(phase_space.momenta, length - first_slot);
  const std::size_t second_run = phase_space.momenta - first_run;
  for (std::size_t centre = centre_begin; centre < centre_end; ++centre) {
    const complex* row = buffer + (centre - centre_begin) * length;
    double* out = density + centre * phase_space.momenta;
    if (overwrite) {
      accumulate_run<true>(row + first_slot, first_run, scale, out);
      accumulate_run<true>(row, second_run, scale, out + first_run);
    } else {
      accumulate_run<false>(row + first_slot, first_run, scale, out);
      accumulate_run<false>(row, second_run, scale, out + first_run);
    }
  }
}

fftw_complex* as_fftw(complex* data) { return reinterpret_cast<fftw_complex*>(data); }

}  // namespace

WindowShape parse_window_shape(const std::string& name, const std::string& field) {
  if (name == "box") return WindowShape::box;
  if (name == "gaussian") return WindowShape::gaussian;
  if (name == "hann") return WindowShape::hann;
  throw InputError(field + " = " + name + ": allowed box, gaussian, hann");
}

std::string to_string(WindowShape shape) {
  switch (shape) {
    case WindowShape::box:
      return "box";
    case WindowShape::gaussian:
      return "gaussian";
    case WindowShape::hann:
      return "hann";
  }
  return "unknown";
}

double Window::sample(double offset, double dx) const {
  return kernels::window_sample(shape, width, offset, dx);
}

std::size_t Window::support_half_points(double dx) const {
  const double half_width_points = width / (2.0 * dx);
  switch (shape) {
    case WindowShape::box: {
      // Cells [m dx - dx/2, m dx + dx/2) meeting the box: |m| < width/2dx + 1/2.
      const double bound = (half_width_points + 0.5) * (1.0 - support_slack);
      return static_cast<std::size_t>(std::max(1.0, std::ceil(bound))) - 1;
    }
    case WindowShape::hann: {
      // w vanishes for |m dx| >= width/2.
      const double bound = half_width_points * (1.0 - support_slack);
      return static_cast<std::size_t>(std::max(1.0, std::ceil(bound))) - 1;
    }
    case WindowShape::gaussian: {
      // e^{-u²/2σ²} < 1e-17 beyond u = σ·sqrt(2 ln 1e17) ≈ 8.85σ.
      const double cutoff_widths = std::sqrt(2.0 * std::log(1e17));
      return static_cast<std::size_t>(std::ceil(cutoff_widths * width / dx));
    }
  }
  return 0;
}

double window_width_rule(double coefficient, double exponent, double hbar) {
  require(std::isfinite(coefficient) && coefficient > 0.0, "window.coefficient",
          format_number(coefficient), "must be > 0");
  require(std::isfinite(exponent), "window.exponent", format_number(exponent), "must be finite");
  require(std::isfinite(hbar) && hbar > 0.0, "hbar", format_number(hbar), "must be > 0");
  return coefficient * std::pow(hbar, exponent);
}

PhaseSpaceGrid make_phase_space_grid(const Grid& grid, double hbar, const Window& window,
                                     const PhaseSpaceOptions& options) {
  require(grid.size >= 2 && grid.length > 0.0, "grid", to_text(grid.size) + " points",
          "needs at least 2 points on a domain of positive length");
  require(std::isfinite(hbar) && hbar > 0.0, "hbar", format_number(hbar), "must be > 0");
  require(std::isfinite(window.width) && window.width > 0.0 && window.width < grid.length,
          "window.width", format_number(window.width),
          "must be > 0 and < the domain length " + format_number(grid.length));
  const double dx = grid.dx();
  const std::size_t support = 2 * window.support_half_points(dx) + 1;

  PhaseSpaceGrid phase_space;
  phase_space.hbar = hbar;
  phase_space.centre_stride = options.centre_stride.value_or(default_centre_stride(grid, window));
  require(phase_space.centre_stride >= 1 && grid.size % phase_space.centre_stride == 0,
          "phase_space.centre_stride", to_text(phase_space.centre_stride),
          "must be >= 1 and divide the grid size " + to_text(grid.size));
  phase_space.centres = grid.size / phase_space.centre_stride;
  phase_space.x0_first = grid.x_min;
  phase_space.dx0 = static_cast<double>(phase_space.centre_stride) * dx;

  phase_space.fft_length = options.fft_length.value_or(std::bit_ceil(support));
  require(phase_space.fft_length >= support, "phase_space.fft_length",
          to_text(phase_space.fft_length),
          "must be >= the window support " + to_text(support) + " points");
  if (!options.fft_length) {  // derived: what is too fine is the quantum grid under the window
    require(phase_space.fft_length <= static_cast<std::size_t>(INT_MAX), "resolution",
            to_text(grid.size) + " points",
            "the window (width " + format_number(window.width) + ") spans " + to_text(support) +
                " of them; the phase-space FFT of length " + to_text(phase_space.fft_length) +
                " exceeds FFTW's int lengths; lower resolution");
  }
  require(phase_space.fft_length <= static_cast<std::size_t>(INT_MAX), "phase_space.fft_length",
          to_text(phase_space.fft_length), "must fit FFTW's int lengths");
  const std::size_t length = phase_space.fft_length;
  phase_space.dp = 2.0 * pi * hbar / (static_cast<double>(length) * dx);

  if (options.p_max) {
    const double p_max = *options.p_max;
    const double max_momentum = pi * hbar / dx;
    require(std::isfinite(p_max) && p_max > 0.0 && p_max <= max_momentum * (1.0 + 1e-12),
            "phase_space.p_max", format_number(p_max),
            "must be > 0 and <= the largest momentum of the FFT, πħ/dx = " +
                format_number(max_momentum));
    // k = -K..K with K·dp <= p_max; at most (M-1)/2 so that no slot is used twice.
    const long largest = static_cast<long>(std::floor(p_max / phase_space.dp * (1.0 + 1e-12)));
    const long bound = std::min(largest, static_cast<long>((length - 1) / 2));
    require(bound >= 1, "phase_space.p_max", format_number(p_max),
            "must be >= the momentum spacing dp = 2πħ/(fft_length·dx) = " +
                format_number(phase_space.dp));
    phase_space.k_first = -bound;
    phase_space.momenta = static_cast<std::size_t>(2 * bound + 1);
  } else {
    phase_space.k_first = -static_cast<long>(length / 2);
    phase_space.momenta = length;
  }
  return phase_space;
}

struct Projector::Impl {
  std::vector<double> samples;  // w(m dx), m = -half..half
  std::size_t centres_per_chunk = 1;
  int threads = 1;
  std::vector<AlignedVector<complex>> buffers;  // one chunk per thread
  fftw_plan plan = nullptr;

  ~Impl() {
    if (plan != nullptr) {
      auto lock = detail::fftw_planner_lock();
      fftw_destroy_plan(plan);
    }
  }
};

Projector::Projector(const Grid& grid, const Window& window, const PhaseSpaceGrid& phase_space,
                     std::size_t memory_budget)
    : grid_(grid), window_(window), phase_space_(phase_space), impl_(std::make_unique<Impl>()) {
  const std::size_t length = phase_space.fft_length;
  impl_->samples = window_samples(window, grid.dx());
  require(phase_space.centre_stride >= 1 &&
              phase_space.centres * phase_space.centre_stride == grid.size,
          "phase_space.centres", to_text(phase_space.centres),
          "centres·centre_stride must equal the grid size " + to_text(grid.size));
  require(length >= impl_->samples.size() && length <= static_cast<std::size_t>(INT_MAX),
          "phase_space.fft_length", to_text(length),
          "must be >= the window support " + to_text(impl_->samples.size()) + " points");
  require(phase_space.momenta >= 1 && phase_space.momenta <= length, "phase_space.momenta",
          to_text(phase_space.momenta), "must be between 1 and fft_length " + to_text(length));
  // The projector computes at the FFT's own momenta and centres: the labels must be those.
  const double dx = grid.dx();
  const double expected_dp = 2.0 * pi * phase_space.hbar / (static_cast<double>(length) * dx);
  require(phase_space.hbar > 0.0 && std::abs(phase_space.dp - expected_dp) <= 1e-12 * expected_dp,
          "phase_space.dp", format_number(phase_space.dp),
          "must be 2πħ/(fft_length·dx) = " + format_number(expected_dp) +
              " (use make_phase_space_grid)");
  const double expected_dx0 = static_cast<double>(phase_space.centre_stride) * dx;
  require(std::abs(phase_space.x0_first - grid.x_min) <= 1e-12 * grid.length &&
              std::abs(phase_space.dx0 - expected_dx0) <= 1e-12 * expected_dx0,
          "phase_space.x0_first", format_number(phase_space.x0_first),
          "centres must be x_min + c·centre_stride·dx (use make_phase_space_grid)");

  // Chunk: cache-sized, at least one chunk per thread, and all buffers within the budget.
  const std::size_t row_bytes = length * sizeof(complex);
  require(row_bytes <= memory_budget, "projection memory budget", to_text(memory_budget) + " bytes",
          "must hold one FFT row of " + to_text(row_bytes) + " bytes");
  const auto available = static_cast<std::size_t>(std::max(1, omp_get_max_threads()));
  const std::size_t threads = std::min(available, memory_budget / row_bytes);
  std::size_t rows = std::max<std::size_t>(1, chunk_target_bytes / row_bytes);
  rows = std::min(rows, (phase_space.centres + threads - 1) / threads);
  rows = std::min(rows, memory_budget / (threads * row_bytes));
  impl_->centres_per_chunk = std::max<std::size_t>(1, rows);
  impl_->threads = static_cast<int>(threads);
  impl_->buffers.assign(threads, AlignedVector<complex>(impl_->centres_per_chunk * length));

  // Each thread runs its own chunk, so the plan itself is single-threaded. FFTW_MEASURE
  // overwrites its buffer, which is refilled before every use.
  auto lock = detail::fftw_planner_lock();
  fftw_plan_with_nthreads(1);
  const int n = static_cast<int>(length);
  impl_->plan = fftw_plan_many_dft(
      1, &n, static_cast<int>(impl_->centres_per_chunk), as_fftw(impl_->buffers[0].data()), nullptr,
      1, n, as_fftw(impl_->buffers[0].data()), nullptr, 1, n, FFTW_FORWARD, FFTW_MEASURE);
  if (impl_->plan == nullptr) throw Error("FFTW could not plan the projection FFT");
}

Projector::~Projector() = default;

std::size_t Projector::memory_bytes() const {
  std::size_t bytes = impl_->samples.size() * sizeof(double);
  for (const auto& buffer : impl_->buffers) bytes += buffer.size() * sizeof(complex);
  return bytes;
}

void Projector::project(const Ensemble& ensemble, std::span<double> density) {
  require(ensemble.grid.size == grid_.size && ensemble.grid.length == grid_.length, "ensemble grid",
          to_text(ensemble.grid.size) + " points",
          "must be the projector's grid of " + to_text(grid_.size) + " points");
  require(density.size() == phase_space_.cells(), "density size", to_text(density.size()),
          "must be centres·momenta = " + to_text(phase_space_.cells()));
  const std::size_t members = ensemble.members();
  if (members == 0) {
    std::fill(density.begin(), density.end(), 0.0);
    return;
  }
  const std::size_t chunk = impl_->centres_per_chunk;
  const std::size_t centres = phase_space_.centres;
  const long chunks = static_cast<long>((centres + chunk - 1) / chunk);
  // |A|² = dx²|FFT|²; ρ = Σ_k w_k |A_k|²/(2πħ).
  const double dx = grid_.dx();
  const double scale = dx * dx / (2.0 * pi * phase_space_.hbar);
  const Impl& impl = *impl_;
  const bool parallel = centres * members * phase_space_.fft_length >= parallel_threshold_values;

#pragma omp parallel for schedule(dynamic) num_threads(impl.threads) if (parallel)
  for (long chunk_index = 0; chunk_index < chunks; ++chunk_index) {
    complex* buffer = impl_->buffers[static_cast<std::size_t>(omp_get_thread_num())].data();
    const std::size_t begin = static_cast<std::size_t>(chunk_index) * chunk;
    const std::size_t end = std::min(centres, begin + chunk);
    for (std::size_t member = 0; member < members; ++member) {
      gather_rows(ensemble.member(member), phase_space_.centre_stride, impl.samples,
                  phase_space_.fft_length, begin, end, buffer);
      // Rows past `end` in the last chunk hold stale data; their output is not read.
      fftw_execute_dft(impl.plan, as_fftw(buffer), as_fftw(buffer));
      accumulate_rows(buffer, phase_space_, ensemble.weights[member] * scale, member == 0, begin,
                      end, density.data());
    }
  }
}

std::vector<double> position_density(const Ensemble& ensemble) {
  const std::size_t size = ensemble.grid.size;
  std::vector<double> density(size, 0.0);
  for (std::size_t member = 0; member < ensemble.members(); ++member) {
    const auto psi = ensemble.member(member);
    const double weight = ensemble.weights[member];
    for (std::size_t n = 0; n < size; ++n) density[n] += weight * std::norm(psi[n]);
  }
  return density;
}

std::vector<double> current_density(const Ensemble& ensemble, double hbar, double mass) {
  require(std::isfinite(hbar) && hbar > 0.0, "hbar", format_number(hbar), "must be > 0");
  require(std::isfinite(mass) && mass > 0.0, "mass", format_number(mass), "must be > 0");
  const Grid& grid = ensemble.grid;
  const std::size_t size = grid.size;
  std::vector<double> current(size, 0.0);
  if (ensemble.members() == 0) return current;

  AlignedVector<complex> derivative(size);
  fftw_plan forward = nullptr;
  fftw_plan backward = nullptr;
  {
    auto lock = detail::fftw_planner_lock();
    const int n = static_cast<int>(size);
    forward = fftw_plan_dft_1d(n, as_fftw(derivative.data()), as_fftw(derivative.data()),
                               FFTW_FORWARD, FFTW_ESTIMATE);
    backward = fftw_plan_dft_1d(n, as_fftw(derivative.data()), as_fftw(derivative.data()),
                                FFTW_BACKWARD, FFTW_ESTIMATE);
  }
  // ∂ψ = F⁻¹[i q F ψ], q = 2πk/L; the Nyquist mode (N even) has no defined sign and is dropped.
  const double wavenumber = 2.0 * pi / grid.length;
  for (std::size_t member = 0; member < ensemble.members(); ++member) {
    const auto psi = ensemble.member(member);
    std::copy(psi.begin(), psi.end(), derivative.begin());
    fftw_execute(forward);
    for (std::size_t k = 0; k < size; ++k) {
      const bool nyquist = size % 2 == 0 && k == size / 2;
      const double q = nyquist ? 0.0 : wavenumber * static_cast<double>(grid.signed_index(k));
      derivative[k] *= complex(0.0, q / static_cast<double>(size));
    }
    fftw_execute(backward);
    const double factor = ensemble.weights[member] * hbar / mass;
    for (std::size_t n = 0; n < size; ++n) {
      current[n] += factor * (std::conj(psi[n]) * derivative[n]).imag();
    }
  }
  auto lock = detail::fftw_planner_lock();
  fftw_destroy_plan(forward);
  fftw_destroy_plan(backward);
  return current;
}

std::vector<double> smooth_at_centres(const Grid& grid, const Window& window,
                                      const PhaseSpaceGrid& phase_space,
                                      std::span<const double> values) {
  require(values.size() == grid.size, "values size", to_text(values.size()),
          "must equal the grid size " + to_text(grid.size));
  require(phase_space.centres * phase_space.centre_stride == grid.size, "phase_space.centres",
          to_text(phase_space.centres),
          "centres·centre_stride must equal the grid size " + to_text(grid.size));
  const std::vector<double> samples = window_samples(window, grid.dx());
  const long half = static_cast<long>(samples.size() / 2);
  std::vector<double> smoothed(phase_space.centres, 0.0);
  for (std::size_t centre = 0; centre < phase_space.centres; ++centre) {
    const long origin = static_cast<long>(centre * phase_space.centre_stride);
    double sum = 0.0;
    for (long m = -half; m <= half; ++m) {
      const double weight = samples[static_cast<std::size_t>(m + half)];
      sum += weight * weight * values[positive_modulo(origin + m, grid.size)];
    }
    smoothed[centre] = grid.dx() * sum;
  }
  return smoothed;
}

}  // namespace phasespace
