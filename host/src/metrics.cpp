// Distances and observables between phase-space densities (physics.md, "What converges means").
#include "phasespace/metrics.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <limits>
#include <string>

#include "fftw_setup.hpp"
#include "phasespace/aligned_vector.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {
namespace {

// A Gaussian is cut where e^{-u²/2ε²} < 1e-18 (u > 9.1ε): beyond round-off of the sums it enters.
constexpr double gaussian_cut_sigmas = 9.1;

void require_cells(const PhaseSpaceGrid& grid, std::span<const double> values,
                   const std::string& name) {
  require(values.size() == grid.cells(), name, std::to_string(values.size()) + " values",
          "one per phase-space cell (" + std::to_string(grid.cells()) + ")");
}

void require_centres(const PhaseSpaceGrid& grid, std::span<const double> values,
                     const std::string& name) {
  require(values.size() == grid.centres, name, std::to_string(values.size()) + " values",
          "one per centre (" + std::to_string(grid.centres) + ")");
}

double cell_area(const PhaseSpaceGrid& grid) { return grid.dx0 * grid.dp; }

}  // namespace

double l1_distance(const PhaseSpaceGrid& grid, std::span<const double> a,
                   std::span<const double> b) {
  require_cells(grid, a, "l1_distance: first density");
  require_cells(grid, b, "l1_distance: second density");
  double sum = 0.0;
  for (std::size_t cell = 0; cell < a.size(); ++cell) sum += std::abs(a[cell] - b[cell]);
  return sum * cell_area(grid);
}

double relative_l2_distance(const PhaseSpaceGrid& grid, std::span<const double> a,
                            std::span<const double> b) {
  require_cells(grid, a, "relative_l2_distance: first density");
  require_cells(grid, b, "relative_l2_distance: second density");
  // The cell area cancels in the ratio.
  double difference = 0.0;
  double reference = 0.0;
  for (std::size_t cell = 0; cell < a.size(); ++cell) {
    difference += (a[cell] - b[cell]) * (a[cell] - b[cell]);
    reference += b[cell] * b[cell];
  }
  return std::sqrt(difference) / std::sqrt(reference);
}

// ---------------------------------------------------------------------------------------------
// Gaussian smoothing as one 2D real FFT convolution. The array is [centres][padded] with the
// momentum axis zero-padded so that no smoothed value on the grid receives mass wrapped around
// from the other end in p; the x axis is periodic like the grid. The kernel is the sampled
// Gaussian divided by its discrete sum, so the convolution conserves the discrete mass exactly
// (up to round-off) as long as the density vanishes within the kernel's reach of the p edges;
// mass smoothed past those edges leaves the grid, as it would on an infinite p line.
namespace {

// Discrete Gaussian weights e^{-(m·spacing)²/2ε²} for m = 0..half (ε = 0: the identity).
std::vector<double> gaussian_half_weights(double spacing, double epsilon, std::size_t half) {
  std::vector<double> weights(half + 1, 0.0);
  weights[0] = 1.0;
  if (epsilon == 0.0) return weights;
  for (std::size_t m = 1; m <= half; ++m) {
    const double u = static_cast<double>(m) * spacing / epsilon;
    weights[m] = std::exp(-0.5 * u * u);
  }
  return weights;
}

std::size_t gaussian_half_points(double spacing, double epsilon) {
  return static_cast<std::size_t>(std::ceil(gaussian_cut_sigmas * epsilon / spacing));
}

// Periodic kernel along x: the Gaussian summed over its images, normalised, at slots 0..n-1.
std::vector<double> periodic_kernel(std::size_t size, double spacing, double epsilon) {
  const std::size_t half = gaussian_half_points(spacing, epsilon);
  const std::vector<double> weights = gaussian_half_weights(spacing, epsilon, half);
  std::vector<double> kernel(size, 0.0);
  kernel[0] += weights[0];
  for (std::size_t m = 1; m <= half; ++m) {
    kernel[m % size] += weights[m];
    kernel[(size - m % size) % size] += weights[m];
  }
  double total = 0.0;
  for (const double value : kernel) total += value;
  for (double& value : kernel) value /= total;
  return kernel;
}

// Kernel along p on the padded axis: offsets |m| <= reach at slots m mod padded, normalised over
// the whole (uncut) Gaussian so that mass leaving the grid is not put back.
std::vector<double> padded_kernel(std::size_t padded, std::size_t reach, double spacing,
                                  double epsilon) {
  const std::size_t half = gaussian_half_points(spacing, epsilon);
  const std::vector<double> weights = gaussian_half_weights(spacing, epsilon, half);
  double total = weights[0];
  for (std::size_t m = 1; m <= half; ++m) total += 2.0 * weights[m];
  std::vector<double> kernel(padded, 0.0);
  kernel[0] = weights[0] / total;
  for (std::size_t m = 1; m <= std::min(half, reach); ++m) {
    kernel[m] = weights[m] / total;
    kernel[padded - m] = weights[m] / total;
  }
  return kernel;
}

}  // namespace

struct GaussianSmoother::Impl {
  std::size_t centres = 0;
  std::size_t momenta = 0;
  std::size_t padded = 0;         // padded momentum length
  std::size_t spectrum_row = 0;   // padded/2 + 1 complex values per row
  AlignedVector<std::complex<double>> kernel_spectrum;  // already divided by centres·padded
  fftw_plan forward = nullptr;
  fftw_plan backward = nullptr;

  ~Impl() {
    if (forward != nullptr) fftw_destroy_plan(forward);
    if (backward != nullptr) fftw_destroy_plan(backward);
  }
};

GaussianSmoother::GaussianSmoother(const PhaseSpaceGrid& grid, double epsilon_x, double epsilon_p)
    : impl_(std::make_unique<Impl>()) {
  require(grid.centres >= 1 && grid.momenta >= 1 && grid.dx0 > 0.0 && grid.dp > 0.0,
          "GaussianSmoother: grid", std::to_string(grid.centres) + "x" + std::to_string(grid.momenta),
          "at least one centre and one momentum with positive spacings");
  require(std::isfinite(epsilon_x) && epsilon_x >= 0.0, "metrics.weak_width[0]",
          format_number(epsilon_x), "a finite width >= 0");
  require(std::isfinite(epsilon_p) && epsilon_p >= 0.0, "metrics.weak_width[1]",
          format_number(epsilon_p), "a finite width >= 0");
  Impl& impl = *impl_;
  impl.centres = grid.centres;
  impl.momenta = grid.momenta;
  // Offsets beyond momenta-1 cannot connect two cells of the grid, so the pad need not exceed it.
  const std::size_t reach = std::min(gaussian_half_points(grid.dp, epsilon_p), grid.momenta - 1);
  impl.padded = next_fft_size(grid.momenta + reach);
  impl.spectrum_row = impl.padded / 2 + 1;

  const std::vector<double> along_x = periodic_kernel(grid.centres, grid.dx0, epsilon_x);
  const std::vector<double> along_p = padded_kernel(impl.padded, reach, grid.dp, epsilon_p);
  AlignedVector<double> kernel(impl.centres * impl.padded);
  for (std::size_t c = 0; c < impl.centres; ++c) {
    for (std::size_t j = 0; j < impl.padded; ++j) kernel[c * impl.padded + j] = along_x[c] * along_p[j];
  }
  impl.kernel_spectrum.resize(impl.centres * impl.spectrum_row);

  const int rows = static_cast<int>(impl.centres);
  const int columns = static_cast<int>(impl.padded);
  auto* spectrum = reinterpret_cast<fftw_complex*>(impl.kernel_spectrum.data());
  {
    auto lock = detail::fftw_planner_lock();
    // FFTW_ESTIMATE leaves the arrays untouched while planning; the smoother is made once per
    // grid and its transforms are small next to the propagation, so measuring would not pay.
    impl.forward = fftw_plan_dft_r2c_2d(rows, columns, kernel.data(), spectrum, FFTW_ESTIMATE);
    impl.backward = fftw_plan_dft_c2r_2d(rows, columns, spectrum, kernel.data(), FFTW_ESTIMATE);
  }
  if (impl.forward == nullptr || impl.backward == nullptr) {
    throw Error("GaussianSmoother: FFTW could not plan a " + std::to_string(rows) + "x" +
                std::to_string(columns) + " real transform");
  }
  fftw_execute_dft_r2c(impl.forward, kernel.data(), spectrum);
  // FFTW's transforms are unnormalised: fold the 1/(rows·columns) of the inverse into the kernel.
  const double scale = 1.0 / (static_cast<double>(rows) * static_cast<double>(columns));
  for (auto& value : impl.kernel_spectrum) value *= scale;
}

GaussianSmoother::~GaussianSmoother() = default;

std::vector<double> GaussianSmoother::smooth(std::span<const double> density) const {
  const Impl& impl = *impl_;
  require(density.size() == impl.centres * impl.momenta, "GaussianSmoother::smooth: density",
          std::to_string(density.size()) + " values",
          "one per phase-space cell (" + std::to_string(impl.centres * impl.momenta) + ")");
  // Work buffers per call keep smooth() const and safe to call from several threads.
  AlignedVector<double> field(impl.centres * impl.padded, 0.0);
  AlignedVector<std::complex<double>> spectrum(impl.centres * impl.spectrum_row);
  for (std::size_t c = 0; c < impl.centres; ++c) {
    std::copy_n(density.begin() + static_cast<std::ptrdiff_t>(c * impl.momenta), impl.momenta,
                field.begin() + static_cast<std::ptrdiff_t>(c * impl.padded));
  }
  auto* spectrum_data = reinterpret_cast<fftw_complex*>(spectrum.data());
  fftw_execute_dft_r2c(impl.forward, field.data(), spectrum_data);
  for (std::size_t k = 0; k < spectrum.size(); ++k) spectrum[k] *= impl.kernel_spectrum[k];
  fftw_execute_dft_c2r(impl.backward, spectrum_data, field.data());

  std::vector<double> smoothed(density.size());
  for (std::size_t c = 0; c < impl.centres; ++c) {
    std::copy_n(field.begin() + static_cast<std::ptrdiff_t>(c * impl.padded), impl.momenta,
                smoothed.begin() + static_cast<std::ptrdiff_t>(c * impl.momenta));
  }
  return smoothed;
}

double weak_l1_distance(const GaussianSmoother& smoother, const PhaseSpaceGrid& grid,
                        std::span<const double> a, std::span<const double> b) {
  require_cells(grid, a, "weak_l1_distance: first density");
  require_cells(grid, b, "weak_l1_distance: second density");
  const std::vector<double> smoothed_a = smoother.smooth(a);
  const std::vector<double> smoothed_b = smoother.smooth(b);
  return l1_distance(grid, smoothed_a, smoothed_b);
}

// ---------------------------------------------------------------------------------------------
// Moments are expectations over the density divided by its mass, so that a small loss of mass
// does not show up as a shift of ⟨x⟩ or of the energy. Second moments are taken about the mean
// (two passes) to avoid cancellation.
Moments phase_space_moments(const PhaseSpaceGrid& grid, std::span<const double> density,
                            double mass, std::span<const double> potential_at_centres) {
  require_cells(grid, density, "phase_space_moments: density");
  require_centres(grid, potential_at_centres, "phase_space_moments: potential");
  require(mass > 0.0, "system.mass", format_number(mass), "a positive mass");
  double total = 0.0;
  double sum_x = 0.0;
  double sum_p = 0.0;
  double sum_energy = 0.0;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double weight = density[c * grid.momenta + j];
      const double p = grid.p(j);
      total += weight;
      sum_x += weight * grid.x0(c);
      sum_p += weight * p;
      sum_energy += weight * (p * p / (2.0 * mass) + potential_at_centres[c]);
    }
  }
  Moments moments;
  moments.mass = total * cell_area(grid);
  moments.mean_x = sum_x / total;
  moments.mean_p = sum_p / total;
  moments.energy = sum_energy / total;
  double sum_dx2 = 0.0;
  double sum_dp2 = 0.0;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    const double dx = grid.x0(c) - moments.mean_x;
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double weight = density[c * grid.momenta + j];
      const double dp = grid.p(j) - moments.mean_p;
      sum_dx2 += weight * dx * dx;
      sum_dp2 += weight * dp * dp;
    }
  }
  moments.var_x = sum_dx2 / total;
  moments.var_p = sum_dp2 / total;
  return moments;
}

std::vector<double> density_marginal(const PhaseSpaceGrid& grid, std::span<const double> density) {
  require_cells(grid, density, "density_marginal: density");
  std::vector<double> marginal(grid.centres, 0.0);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    double sum = 0.0;
    for (std::size_t j = 0; j < grid.momenta; ++j) sum += density[c * grid.momenta + j];
    marginal[c] = sum * grid.dp;
  }
  return marginal;
}

std::vector<double> current_marginal(const PhaseSpaceGrid& grid, std::span<const double> density,
                                     double mass) {
  require_cells(grid, density, "current_marginal: density");
  require(mass > 0.0, "system.mass", format_number(mass), "a positive mass");
  std::vector<double> marginal(grid.centres, 0.0);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    double sum = 0.0;
    for (std::size_t j = 0; j < grid.momenta; ++j) sum += grid.p(j) * density[c * grid.momenta + j];
    marginal[c] = sum * grid.dp / mass;
  }
  return marginal;
}

double line_l1_distance(const PhaseSpaceGrid& grid, std::span<const double> a,
                        std::span<const double> b) {
  require_centres(grid, a, "line_l1_distance: first profile");
  require_centres(grid, b, "line_l1_distance: second profile");
  double sum = 0.0;
  for (std::size_t c = 0; c < a.size(); ++c) sum += std::abs(a[c] - b[c]);
  return sum * grid.dx0;
}

// ---------------------------------------------------------------------------------------------
namespace {

// Length of [cell_low, cell_high) ∩ [x_low, x_high] on a circle of circumference `period`:
// the overlaps with every periodic image of the interval are added.
double periodic_overlap(double cell_low, double cell_high, double x_low, double x_high,
                        double period) {
  const auto first = static_cast<long>(std::floor((cell_low - x_high) / period));
  const auto last = static_cast<long>(std::ceil((cell_high - x_low) / period));
  double covered = 0.0;
  for (long image = first; image <= last; ++image) {
    const double shift = static_cast<double>(image) * period;
    const double low = std::max(cell_low, x_low + shift);
    const double high = std::min(cell_high, x_high + shift);
    if (high > low) covered += high - low;
  }
  return covered;
}

// Σ_n values[n]·|cell_n ∩ [x_low, x_high]| for cells of width `spacing` centred on
// first + n·spacing, periodic with the whole line.
double cell_weighted_sum(std::span<const double> values, double first, double spacing,
                         double x_low, double x_high, const std::string& field) {
  const double period = static_cast<double>(values.size()) * spacing;
  require(x_low <= x_high && x_high - x_low <= period, field,
          "[" + format_number(x_low) + ", " + format_number(x_high) + "]",
          "an interval with low <= high no longer than the domain (" + format_number(period) + ")");
  double sum = 0.0;
  for (std::size_t n = 0; n < values.size(); ++n) {
    const double centre = first + static_cast<double>(n) * spacing;
    sum += values[n] * periodic_overlap(centre - 0.5 * spacing, centre + 0.5 * spacing, x_low,
                                        x_high, period);
  }
  return sum;
}

}  // namespace

double region_probability(const Grid& grid, std::span<const double> position_density,
                          double x_low, double x_high) {
  require(position_density.size() == grid.size, "region_probability: position density",
          std::to_string(position_density.size()) + " values",
          "one per grid point (" + std::to_string(grid.size) + ")");
  return cell_weighted_sum(position_density, grid.x_min, grid.dx(), x_low, x_high,
                           "region_probability: interval");
}

double region_probability(const PhaseSpaceGrid& grid, std::span<const double> density,
                          double x_low, double x_high) {
  const std::vector<double> marginal = density_marginal(grid, density);
  return cell_weighted_sum(marginal, grid.x0_first, grid.dx0, x_low, x_high,
                           "region_probability: interval");
}

// ---------------------------------------------------------------------------------------------
// Ordinary least squares of v = log err on u = log ħ over the points with ħ > 0 and err > 0
// (a zero error has no logarithm; it is left out rather than turned into -inf).
RateFit fit_rate(std::span<const double> hbar, std::span<const double> error) {
  require(hbar.size() == error.size(), "fit_rate: errors", std::to_string(error.size()) + " values",
          "one per hbar (" + std::to_string(hbar.size()) + ")");
  std::vector<double> u;
  std::vector<double> v;
  for (std::size_t i = 0; i < hbar.size(); ++i) {
    const bool usable = hbar[i] > 0.0 && error[i] > 0.0 && std::isfinite(hbar[i]) &&
                        std::isfinite(error[i]);
    if (!usable) continue;
    u.push_back(std::log(hbar[i]));
    v.push_back(std::log(error[i]));
  }
  RateFit fit;
  fit.points = u.size();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (u.size() < 2) {
    fit.rate = fit.stderr_rate = fit.log_prefactor = nan;
    return fit;
  }
  const auto count = static_cast<double>(u.size());
  double mean_u = 0.0;
  double mean_v = 0.0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    mean_u += u[i];
    mean_v += v[i];
  }
  mean_u /= count;
  mean_v /= count;
  double spread_uu = 0.0;
  double spread_uv = 0.0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    spread_uu += (u[i] - mean_u) * (u[i] - mean_u);
    spread_uv += (u[i] - mean_u) * (v[i] - mean_v);
  }
  // ħ values whose logs spread less than this (all at one ħ, or closer than round-off of the
  // errors can resolve) fix no slope: the quotient below would only magnify noise (two ħ
  // 1e-15 apart gave β = -170308).
  constexpr double min_log_spread = 1e-8;
  if (!(std::sqrt(spread_uu / count) >= min_log_spread)) {
    fit.rate = fit.stderr_rate = fit.log_prefactor = nan;
    return fit;
  }
  fit.rate = spread_uv / spread_uu;
  fit.log_prefactor = mean_v - fit.rate * mean_u;
  if (u.size() == 2) return fit;  // a line through two points: no residual, stderr 0
  double residual_sum = 0.0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double residual = v[i] - fit.log_prefactor - fit.rate * u[i];
    residual_sum += residual * residual;
  }
  const double variance = residual_sum / (count - 2.0);
  fit.stderr_rate = std::sqrt(variance / spread_uu);
  return fit;
}

}  // namespace phasespace
