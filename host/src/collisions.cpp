// Collision operators, each applied exactly over a step: BGK relaxation (given or local
// Maxwellian equilibrium), golden-rule back-scattering, and a general rate matrix (matrix
// exponential by uniformisation with scaling and squaring). What does not depend on f (f_eq on
// the grid, the decay factors, exp(Gτ)) is also handed to the CUDA backend (collision_factors).
#include "phasespace/collisions.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <numbers>

#include "phasespace/errors.hpp"
#include "phasespace/expression.hpp"
#include "phasespace/kernels/collision.hpp"

namespace phasespace {

namespace {

bool same_grid(const PhaseSpaceGrid& a, const PhaseSpaceGrid& b) {
  return a.centres == b.centres && a.momenta == b.momenta && a.x0_first == b.x0_first &&
         a.dx0 == b.dx0 && a.k_first == b.k_first && a.dp == b.dp;
}

// Below this many cells an operator runs on one thread (waking a team costs more).
constexpr std::size_t parallel_cells = std::size_t{1} << 15;

void require_step(double tau) {
  require(tau >= 0.0 && std::isfinite(tau), "collision step", format_number(tau),
          "a finite number >= 0 (collisions only run forward in time)");
}

// ---------------------------------------------------------------- BGK, given equilibrium

class GivenRelaxation final : public CollisionOperator {
 public:
  GivenRelaxation(double relaxation_time, const std::string& equilibrium)
      : relaxation_time_(relaxation_time),
        equilibrium_(equilibrium, {"x", "p"}, {}, "collisions.equilibrium") {}

  void apply(const PhaseSpaceGrid& grid, double tau, std::span<double> f) const override {
    const double decay = decay_over(tau);
    const std::vector<double>& equilibrium = equilibrium_on(grid);
    const std::size_t cells = f.size();
#pragma omp parallel for schedule(static) if (cells >= parallel_cells)
    for (std::size_t i = 0; i < cells; ++i) f[i] = kernels::relax(f[i], equilibrium[i], decay);
  }
  std::string name() const override { return "relaxation(" + equilibrium_.text() + ")"; }

  double decay_over(double tau) const {
    require_step(tau);
    return std::exp(-tau / relaxation_time_);
  }

  // f_eq sampled on the grid once (the expression is not thread-safe: sampled serially).
  const std::vector<double>& equilibrium_on(const PhaseSpaceGrid& grid) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ && same_grid(grid, cached_grid_)) return cache_;
    cache_.resize(grid.cells());
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (std::size_t j = 0; j < grid.momenta; ++j) {
        cache_[c * grid.momenta + j] = equilibrium_(grid.x0(c), grid.p(j));
      }
    }
    cached_grid_ = grid;
    cached_ = true;
    return cache_;
  }

 private:
  double relaxation_time_;
  Expression equilibrium_;
  mutable std::mutex mutex_;
  mutable std::vector<double> cache_;
  mutable PhaseSpaceGrid cached_grid_;
  mutable bool cached_ = false;
};

// ---------------------------------------------------------------- BGK, local Maxwellian

class MaxwellianRelaxation final : public CollisionOperator {
 public:
  explicit MaxwellianRelaxation(double relaxation_time) : relaxation_time_(relaxation_time) {}

  void apply(const PhaseSpaceGrid& grid, double tau, std::span<double> f) const override {
    const double decay = decay_over(tau);
    const std::size_t momenta = grid.momenta;
    std::vector<kernels::MaxwellianRowOutcome> rows(grid.centres);
#pragma omp parallel if (grid.cells() >= parallel_cells / 8)
    {
      std::vector<double> q(momenta);
      std::vector<double> g(momenta);
#pragma omp for schedule(dynamic, 4)
      for (std::size_t c = 0; c < grid.centres; ++c) {
        rows[c] = relax_row(grid, f.data() + c * momenta, decay, q, g);
      }
    }
    check_maxwellian_rows(grid, rows.data());
  }
  std::string name() const override { return "relaxation(local Maxwellian)"; }

  double decay_over(double tau) const {
    require_step(tau);
    return std::exp(-tau / relaxation_time_);
  }

 private:
  // Relaxes one row towards exp(a + b p + c p²) with the row's Σf, Σpf, Σp²f where such a
  // Maxwellian exists (kernels::maxwellian_row_class); other rows are left as they are. Works in
  // q = (p - mean)/scale so the fit is well conditioned whatever the units. A fit that does not
  // match leaves the row too (check_maxwellian_rows then stops the run).
  static kernels::MaxwellianRowOutcome relax_row(const PhaseSpaceGrid& grid, double* row,
                                                 double decay, std::vector<double>& q,
                                                 std::vector<double>& g) {
    const std::size_t n = grid.momenta;
    double density = 0.0;
    double first = 0.0;
    double absolute = 0.0;
    bool negative = false;
    for (std::size_t j = 0; j < n; ++j) {
      density += row[j];
      first += grid.p(j) * row[j];
      absolute += std::fabs(row[j]);
      negative = negative || row[j] < 0.0;
    }
    double mean = 0.0;
    double variance = 0.0;
    if (density > 0.0) {
      mean = first / density;
      for (std::size_t j = 0; j < n; ++j) variance += (grid.p(j) - mean) * (grid.p(j) - mean) * row[j];
      variance /= density;
    }
    kernels::MaxwellianRowOutcome outcome{
        kernels::maxwellian_row_class(density, mean, variance, negative, grid.p(0),
                                      grid.p(n - 1), grid.dp),
        0.0, absolute, density, mean, variance};
    if (outcome.status != kernels::MaxwellianRow::relaxed) return outcome;
    const double scale = kernels::maxwellian_scale(variance, grid.dp);
    double target[3] = {0.0, 0.0, 0.0};
    double gaussian_sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      q[j] = (grid.p(j) - mean) / scale;
      target[0] += row[j];
      target[1] += q[j] * row[j];
      target[2] += q[j] * q[j] * row[j];
      gaussian_sum += std::exp(-0.5 * q[j] * q[j]);
    }
    // Σ_j g_j q_j^k for k = 0..4, g_j = exp(θ0 + θ1 q_j + θ2 q_j²).
    auto evaluate = [&](const double* theta, double* moments) {
      for (int k = 0; k < 5; ++k) moments[k] = 0.0;
      for (std::size_t j = 0; j < n; ++j) {
        double power = kernels::exponential_quadratic(theta, q[j]);
        for (int k = 0; k < 5; ++k) {
          moments[k] += power;
          power *= q[j];
        }
      }
    };
    const kernels::ExponentialQuadraticFit fit =
        kernels::fit_exponential_quadratic(target, gaussian_sum, evaluate);
    outcome.mismatch = fit.mismatch;
    if (!(fit.mismatch <= kernels::maxwellian_mismatch_limit)) return outcome;
    for (std::size_t j = 0; j < n; ++j) g[j] = kernels::exponential_quadratic(fit.theta, q[j]);
    for (std::size_t j = 0; j < n; ++j) row[j] = kernels::relax(row[j], g[j], decay);
    return outcome;
  }

  double relaxation_time_;
};

// ---------------------------------------------------------------- impurity Fourier transforms

void validate_shape(const ImpurityShape& shape) {
  using Kind = ImpurityShape::Kind;
  require(std::isfinite(shape.strength), "impurity.strength", format_number(shape.strength),
          "a finite number");
  if (shape.kind == Kind::gaussian) {
    require(shape.width > 0.0, "impurity.width", format_number(shape.width),
            "> 0 (the Gaussian's standard deviation a)");
  }
  if (shape.kind == Kind::expression) {
    require(!shape.expression.empty(), "impurity.expression", "\"\"", "an expression of x");
    require(shape.width > 0.0, "impurity.width", format_number(shape.width),
            "> 0 (V(x) is integrated over |x| <= width)");
  }
}

// Gauss–Legendre nodes and weights on [-1, 1] (Newton on P_n from Chebyshev guesses).
struct GaussLegendre {
  std::vector<double> nodes;
  std::vector<double> weights;
};
const GaussLegendre& gauss_legendre16() {
  static const GaussLegendre rule = [] {
    const int n = 16;
    GaussLegendre result;
    for (int i = 0; i < n; ++i) {
      double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
      double derivative = 1.0;
      for (int iteration = 0; iteration < 100; ++iteration) {
        double p0 = 1.0;
        double p1 = x;
        for (int k = 2; k <= n; ++k) {
          const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
          p0 = p1;
          p1 = p2;
        }
        derivative = n * (x * p1 - p0) / (x * x - 1.0);
        const double step = p1 / derivative;
        x -= step;
        if (std::fabs(step) < 1e-16) break;
      }
      result.nodes.push_back(x);
      result.weights.push_back(2.0 / ((1.0 - x * x) * derivative * derivative));
    }
    return result;
  }();
  return rule;
}

// (∫V cos(qx/ħ) dx, ∫V sin(qx/ħ) dx) over |x| <= width, composite 16-point Gauss–Legendre
// with panels no longer than a quarter of the oscillation period.
std::array<double, 2> expression_fourier(const ImpurityShape& shape, double q, double hbar) {
  const Expression potential(shape.expression, {"x"}, {}, "impurity.expression");
  const double half_periods = 2.0 * shape.width * std::fabs(q) / (std::numbers::pi * hbar);
  const std::size_t panels = 32 + static_cast<std::size_t>(std::ceil(2.0 * half_periods));
  const double panel = 2.0 * shape.width / static_cast<double>(panels);
  const auto& rule = gauss_legendre16();
  double cosine = 0.0;
  double sine = 0.0;
  for (std::size_t i = 0; i < panels; ++i) {
    const double middle = -shape.width + (static_cast<double>(i) + 0.5) * panel;
    for (std::size_t k = 0; k < rule.nodes.size(); ++k) {
      const double x = middle + 0.5 * panel * rule.nodes[k];
      const double weight = 0.5 * panel * rule.weights[k] * potential(x);
      cosine += weight * std::cos(q * x / hbar);
      sine += weight * std::sin(q * x / hbar);
    }
  }
  return {cosine, sine};
}

// |Ṽ(q)|², which is what the golden rule needs (Ṽ is complex for an odd part of V).
double fourier_squared(const ImpurityShape& shape, double q, double hbar) {
  if (shape.kind != ImpurityShape::Kind::expression) {
    const double value = impurity_fourier(shape, q, hbar);
    return value * value;
  }
  const auto parts = expression_fourier(shape, q, hbar);
  return parts[0] * parts[0] + parts[1] * parts[1];
}

// ---------------------------------------------------------------- back-scattering

class Backscattering final : public CollisionOperator {
 public:
  // rate(p) = W(p) >= 0; `name` says which rate (messages, CollisionOperator::name).
  Backscattering(std::function<double(double)> rate, std::string name)
      : rate_(std::move(rate)), name_(std::move(name)) {}

  void apply(const PhaseSpaceGrid& grid, double tau, std::span<double> f) const override {
    const std::vector<double> decay = pair_decay(grid, tau);
    const std::size_t momenta = grid.momenta;
#pragma omp parallel for schedule(static) if (grid.cells() >= parallel_cells)
    for (std::size_t c = 0; c < grid.centres; ++c) {
      double* row = f.data() + c * momenta;
      for (std::size_t j = 0; j < decay.size(); ++j) {
        kernels::backscatter_pair(row[j], row[momenta - 1 - j], decay[j]);
      }
    }
  }
  std::string name() const override { return name_; }

  // e^{-2W(p_j)τ} for the pairs (j, momenta - 1 - j), j < momenta/2.
  std::vector<double> pair_decay(const PhaseSpaceGrid& grid, double tau) const {
    require_step(tau);
    require(grid.momentum_symmetric(), "phase_space momenta",
            "k_first = " + std::to_string(grid.k_first) + ", " + std::to_string(grid.momenta) +
                " momenta",
            "a momentum-symmetric grid (p_j = -p_{P-1-j}, e.g. set phase_space.p_max) for " + name_);
    const std::vector<double>& rates = rates_on(grid);
    std::vector<double> decay(grid.momenta / 2);
    for (std::size_t j = 0; j < decay.size(); ++j) decay[j] = std::exp(-2.0 * rates[j] * tau);
    return decay;
  }

 private:
  // W(p_j) for j < momenta/2 (the p = 0 cell of an odd grid is its own mirror).
  const std::vector<double>& rates_on(const PhaseSpaceGrid& grid) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ && same_grid(grid, cached_grid_)) return rates_;
    rates_.resize(grid.momenta / 2);
    for (std::size_t j = 0; j < rates_.size(); ++j) rates_[j] = rate_(grid.p(j));
    cached_grid_ = grid;
    cached_ = true;
    return rates_;
  }

  std::function<double(double)> rate_;
  std::string name_;
  mutable std::mutex mutex_;
  mutable std::vector<double> rates_;
  mutable PhaseSpaceGrid cached_grid_;
  mutable bool cached_ = false;
};

// ---------------------------------------------------------------- rate matrix

using Matrix = std::vector<double>;  // square, row-major

Matrix multiply(const Matrix& a, const Matrix& b, std::size_t n) {
  Matrix product(n * n, 0.0);
#pragma omp parallel for schedule(static) if (n >= 64)
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < n; ++k) {
      const double a_ik = a[i * n + k];
      if (a_ik == 0.0) continue;
      for (std::size_t j = 0; j < n; ++j) product[i * n + j] += a_ik * b[k * n + j];
    }
  }
  return product;
}

// exp(G τ) for a generator G (off-diagonal >= 0, columns summing to zero) by uniformisation:
// with λ >= max|G_kk| and S = I + G/λ (non-negative, column-stochastic),
// exp(Gh) = e^{-λh} Σ_k (λh)^k S^k / k!. All terms are non-negative, so there is no
// cancellation; h = τ/2^s with λh <= 1/2 needs 18 terms (< 1e-20), then s squarings.
Matrix generator_exponential(const Matrix& generator, std::size_t n, double tau) {
  double rate = 0.0;
  for (std::size_t k = 0; k < n; ++k) rate = std::max(rate, -generator[k * n + k]);
  Matrix identity(n * n, 0.0);
  for (std::size_t k = 0; k < n; ++k) identity[k * n + k] = 1.0;
  if (rate * tau == 0.0) return identity;
  int squarings = 0;
  double h = tau;
  while (rate * h > 0.5) {
    h *= 0.5;
    ++squarings;
  }
  Matrix stochastic = identity;
  for (std::size_t i = 0; i < n * n; ++i) stochastic[i] += generator[i] / rate;
  const double x = rate * h;
  // Horner: Σ_{k<=K} x^k S^k/k! = I + (x/1) S (I + (x/2) S (I + ... (x/K) S)).
  const int terms = 18;
  Matrix sum = identity;
  for (int k = terms; k >= 1; --k) {
    Matrix next = multiply(stochastic, sum, n);
    for (std::size_t i = 0; i < n * n; ++i) next[i] = identity[i] + next[i] * (x / k);
    sum = std::move(next);
  }
  const double scale = std::exp(-x);
  for (double& value : sum) value *= scale;
  for (int s = 0; s < squarings; ++s) sum = multiply(sum, sum, n);
  return sum;
}

class RateMatrix final : public CollisionOperator {
 public:
  explicit RateMatrix(Matrix generator, std::size_t size)
      : generator_(std::move(generator)), size_(size) {}

  void apply(const PhaseSpaceGrid& grid, double tau, std::span<double> f) const override {
    const Matrix& propagator = exponential(grid, tau);
    const std::size_t n = size_;
#pragma omp parallel if (grid.cells() * n >= parallel_cells * 8)
    {
      std::vector<double> result(n);
#pragma omp for schedule(static)
      for (std::size_t c = 0; c < grid.centres; ++c) {
        double* row = f.data() + c * n;
        for (std::size_t k = 0; k < n; ++k) {
          const double* weights = propagator.data() + k * n;
          double sum = 0.0;
          for (std::size_t l = 0; l < n; ++l) sum += weights[l] * row[l];
          result[k] = sum;
        }
        std::copy(result.begin(), result.end(), row);
      }
    }
  }
  std::string name() const override { return "rate_matrix"; }

  // exp(Gτ), row-major, computed once per τ.
  const Matrix& exponential(const PhaseSpaceGrid& grid, double tau) const {
    require_step(tau);
    require(grid.momenta == size_, "collisions.rate_matrix",
            std::to_string(size_) + " x " + std::to_string(size_),
            "one row and column per momentum cell (" + std::to_string(grid.momenta) + ")");
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = cache_.find(tau);
    if (found == cache_.end()) {
      found = cache_.emplace(tau, generator_exponential(generator_, size_, tau)).first;
    }
    return found->second;
  }

 private:
  Matrix generator_;
  std::size_t size_;
  mutable std::mutex mutex_;
  mutable std::map<double, Matrix> cache_;
};

}  // namespace

std::shared_ptr<const CollisionOperator> make_relaxation(double relaxation_time, double mass,
                                                         std::optional<std::string> equilibrium) {
  require(relaxation_time > 0.0 && std::isfinite(relaxation_time), "collisions.relaxation_time",
          format_number(relaxation_time), "a finite number > 0");
  require(mass > 0.0 && std::isfinite(mass), "system.mass", format_number(mass),
          "a finite number > 0");
  if (equilibrium) return std::make_shared<GivenRelaxation>(relaxation_time, *equilibrium);
  return std::make_shared<MaxwellianRelaxation>(relaxation_time);
}

double impurity_fourier(const ImpurityShape& shape, double q, double hbar) {
  validate_shape(shape);
  require(hbar > 0.0, "hbar", format_number(hbar), "> 0");
  switch (shape.kind) {
    case ImpurityShape::Kind::delta: return shape.strength;
    case ImpurityShape::Kind::gaussian:
      return kernels::gaussian_impurity_fourier(shape.strength, shape.width, q, hbar);
    case ImpurityShape::Kind::expression: return expression_fourier(shape, q, hbar)[0];
  }
  return 0.0;
}

double backscattering_rate(const ImpurityShape& shape, double density, double mass, double hbar,
                           double p) {
  validate_shape(shape);
  require(hbar > 0.0, "hbar", format_number(hbar), "> 0");
  return kernels::backscattering_rate_from(fourier_squared(shape, 2.0 * p, hbar), density, mass,
                                           hbar, p);
}

std::shared_ptr<const CollisionOperator> make_backscattering(const ImpurityShape& shape,
                                                             double density, double mass,
                                                             double hbar) {
  validate_shape(shape);
  require(density >= 0.0 && std::isfinite(density), "impurity.density", format_number(density),
          "a finite number >= 0");
  require(mass > 0.0 && std::isfinite(mass), "system.mass", format_number(mass),
          "a finite number > 0");
  require(hbar > 0.0 && std::isfinite(hbar), "hbar", format_number(hbar), "a finite number > 0");
  return std::make_shared<Backscattering>(
      [shape, density, mass, hbar](double p) {
        return backscattering_rate(shape, density, mass, hbar, p);
      },
      "backscattering");
}

std::shared_ptr<const CollisionOperator> make_backscattering(std::function<double(double)> rate,
                                                             std::string name) {
  require(static_cast<bool>(rate), "back-scattering rate", "empty", "a function W(p)");
  return std::make_shared<Backscattering>(std::move(rate), std::move(name));
}

std::shared_ptr<const CollisionOperator> make_rate_matrix(std::vector<std::vector<double>> generator) {
  const std::size_t n = generator.size();
  require(n >= 1, "collisions.rate_matrix", "empty", "a square matrix, one row per momentum cell");
  Matrix flat(n * n);
  for (std::size_t k = 0; k < n; ++k) {
    require(generator[k].size() == n, "collisions.rate_matrix[" + std::to_string(k) + "]",
            std::to_string(generator[k].size()) + " entries",
            std::to_string(n) + " entries (a square matrix)");
    for (std::size_t l = 0; l < n; ++l) {
      const double value = generator[k][l];
      require(std::isfinite(value) && (k == l || value >= 0.0),
              "collisions.rate_matrix[" + std::to_string(k) + "][" + std::to_string(l) + "]",
              format_number(value), "finite, and >= 0 off the diagonal (a rate)");
      flat[k * n + l] = value;
    }
  }
  // Columns must sum to zero (mass conservation); the diagonal is then reset to minus the
  // off-diagonal column sum so it holds to round-off.
  for (std::size_t l = 0; l < n; ++l) {
    double outflow = 0.0;
    for (std::size_t k = 0; k < n; ++k) {
      if (k != l) outflow += flat[k * n + l];
    }
    const double column_sum = outflow + flat[l * n + l];
    require(std::fabs(column_sum) <= 1e-10 * std::max(outflow, 1e-300) || column_sum == 0.0,
            "collisions.rate_matrix column " + std::to_string(l), "sum " + format_number(column_sum),
            "columns summing to zero (G[l][l] = -sum of the other rates out of l)");
    flat[l * n + l] = -outflow;
  }
  return std::make_shared<RateMatrix>(std::move(flat), n);
}

namespace {

std::string maxwellian_row_reason(const PhaseSpaceGrid& grid, const kernels::MaxwellianRowOutcome& row) {
  const std::string moments = "(sum f = " + format_number(row.density) + ", mean p = " +
                              format_number(row.mean) + ", variance " +
                              format_number(row.variance) + ")";
  switch (row.status) {
    case kernels::MaxwellianRow::no_mass: return "the row's sum of f is not positive " + moments;
    case kernels::MaxwellianRow::mean_off_grid:
      return "its mean momentum is not inside the grid's momenta [" + format_number(grid.p(0)) +
             ", " + format_number(grid.p(grid.momenta - 1)) + "] " + moments;
    case kernels::MaxwellianRow::too_cold:
      return "its momentum variance is at or below the smallest the grid (dp = " +
             format_number(grid.dp) + ") has at that mean " + moments;
    case kernels::MaxwellianRow::too_hot:
      return "its momentum variance is at or above the largest the grid's momenta [" +
             format_number(grid.p(0)) + ", " + format_number(grid.p(grid.momenta - 1)) +
             "] have at that mean " + moments;
    default: return "";
  }
}

}  // namespace

void check_maxwellian_rows(const PhaseSpaceGrid& grid, const kernels::MaxwellianRowOutcome* rows) {
  using kernels::MaxwellianRow;
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  double total = 0.0;
  double unrelaxed = 0.0;
  std::size_t worst_fit = none;
  std::size_t heaviest = none;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    const kernels::MaxwellianRowOutcome& row = rows[c];
    switch (row.status) {
      case MaxwellianRow::not_finite:
        throw Error("relaxation: f is not finite at x0 = " + format_number(grid.x0(c)) +
                    " before the local-Maxwellian step");
      case MaxwellianRow::relaxed:
        // NaN counts as the worst.
        if (!(row.mismatch <= kernels::maxwellian_mismatch_limit) &&
            (worst_fit == none || !(row.mismatch <= rows[worst_fit].mismatch))) {
          worst_fit = c;
        }
        break;
      case MaxwellianRow::at_limit: break;
      case MaxwellianRow::no_mass:
      case MaxwellianRow::mean_off_grid:
      case MaxwellianRow::too_cold:
      case MaxwellianRow::too_hot:
        unrelaxed += row.absolute_mass;
        if (heaviest == none || row.absolute_mass > rows[heaviest].absolute_mass) heaviest = c;
        break;
    }
    total += row.absolute_mass;
  }
  if (worst_fit != none) {
    throw Error("relaxation: the local-Maxwellian fit did not match the moments of f at x0 = " +
                format_number(grid.x0(worst_fit)) + " (relative mismatch " +
                format_number(rows[worst_fit].mismatch) + ")");
  }
  if (unrelaxed > kernels::maxwellian_unrelaxed_limit * total) {
    throw Error("relaxation: rows where no local Maxwellian on the momentum grid has the moments "
                "of f hold a fraction " + format_number(unrelaxed / total) + " of sum |f| (at most " +
                format_number(kernels::maxwellian_unrelaxed_limit) +
                " may be left unrelaxed); the heaviest at x0 = " + format_number(grid.x0(heaviest)) +
                ": " + maxwellian_row_reason(grid, rows[heaviest]) +
                ". The momentum grid does not resolve f there: refine it (phase_space.fft_length) "
                "or widen it (phase_space.p_max)");
  }
}

std::optional<CollisionKind> collision_kind(const CollisionOperator& collision) {
  if (dynamic_cast<const GivenRelaxation*>(&collision)) return CollisionKind::given_relaxation;
  if (dynamic_cast<const MaxwellianRelaxation*>(&collision)) return CollisionKind::maxwellian_relaxation;
  if (dynamic_cast<const Backscattering*>(&collision)) return CollisionKind::backscattering;
  if (dynamic_cast<const RateMatrix*>(&collision)) return CollisionKind::rate_matrix;
  return std::nullopt;
}

std::vector<double> collision_factors(const CollisionOperator& collision,
                                      const PhaseSpaceGrid& grid, double tau) {
  if (const auto* given = dynamic_cast<const GivenRelaxation*>(&collision)) {
    return {given->decay_over(tau)};
  }
  if (const auto* maxwellian = dynamic_cast<const MaxwellianRelaxation*>(&collision)) {
    return {maxwellian->decay_over(tau)};
  }
  if (const auto* backscattering = dynamic_cast<const Backscattering*>(&collision)) {
    return backscattering->pair_decay(grid, tau);
  }
  if (const auto* rate_matrix = dynamic_cast<const RateMatrix*>(&collision)) {
    return rate_matrix->exponential(grid, tau);
  }
  throw Error("collision_factors: " + collision.name() + " is not an operator of collisions.hpp");
}

std::vector<double> relaxation_equilibrium(const CollisionOperator& relaxation,
                                           const PhaseSpaceGrid& grid) {
  const auto* given = dynamic_cast<const GivenRelaxation*>(&relaxation);
  if (given == nullptr) {
    throw Error("relaxation_equilibrium: " + relaxation.name() +
                " is not a relaxation towards a given equilibrium");
  }
  return given->equilibrium_on(grid);
}

std::vector<std::vector<double>> golden_rule_generator(const PhaseSpaceGrid& grid,
                                                       const ImpurityShape& shape, double density,
                                                       double mass) {
  validate_shape(shape);
  require(density >= 0.0 && std::isfinite(density), "impurity.density", format_number(density),
          "a finite number >= 0");
  require(mass > 0.0 && std::isfinite(mass), "system.mass", format_number(mass),
          "a finite number > 0");
  require(grid.momenta >= 1 && grid.dp > 0.0 && grid.hbar > 0.0, "phase_space grid",
          std::to_string(grid.momenta) + " momenta", "momenta >= 1, dp > 0, hbar > 0");
  const std::size_t n = grid.momenta;
  const double hbar = grid.hbar;
  std::vector<std::vector<double>> generator(n, std::vector<double>(n, 0.0));
  // δ(E_k - E_l) = (m/|p_l|) [δ(p_k - p_l) + δ(p_k + p_l)]; the forward root changes nothing.
  // The back-scattering root -p_l is spread over the two cells around it by linear weights
  // (a hat one cell wide), so Σ_k G[k][l] = W(p_l) exactly on any grid.
  for (std::size_t l = 0; l < n; ++l) {
    const double p = grid.p(l);
    if (p == 0.0) continue;
    const double position = -p / grid.dp - static_cast<double>(grid.k_first);
    const double lower = std::floor(position);
    const double upper_weight = position - lower;
    const std::array<std::pair<double, double>, 2> targets = {
        std::pair{lower, 1.0 - upper_weight}, std::pair{lower + 1.0, upper_weight}};
    for (const auto& [index, weight] : targets) {
      if (weight == 0.0 || index < 0.0 || index >= static_cast<double>(n)) continue;
      const auto k = static_cast<std::size_t>(index);
      if (k == l) continue;
      const double transfer = grid.p(k) - p;
      generator[k][l] += weight * kernels::backscattering_rate_from(
                                      fourier_squared(shape, transfer, hbar), density, mass, hbar, p);
    }
  }
  for (std::size_t l = 0; l < n; ++l) {
    double outflow = 0.0;
    for (std::size_t k = 0; k < n; ++k) {
      if (k != l) outflow += generator[k][l];
    }
    generator[l][l] = -outflow;
  }
  return generator;
}

}  // namespace phasespace
