// Many-particle initial states from orbitals and occupations, and the Thomas–Fermi reference.
#include "phasespace/many_body.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>

#include "phasespace/errors.hpp"
#include "phasespace/expression.hpp"

namespace phasespace {

namespace {

const std::string kField = "initial_state";

std::string at_hbar(double hbar) { return " (at hbar = " + format_number(hbar) + ")"; }

// Occupation of energy e at chemical potential mu (thermal kinds; Boltzmann unnormalised).
double occupation(Statistics statistics, double e, double mu, double temperature) {
  const double u = (e - mu) / temperature;
  switch (statistics) {
    case Statistics::fermi_dirac:
      return u > 0.0 ? std::exp(-u) / (1.0 + std::exp(-u)) : 1.0 / (1.0 + std::exp(u));
    case Statistics::bose_einstein:
      return 1.0 / std::expm1(u);
    case Statistics::boltzmann:
      return std::exp(-u);
    case Statistics::fermions:
      break;
  }
  return e < mu ? 1.0 : 0.0;
}

double total(Statistics statistics, std::span<const double> energies, double mu, double temperature) {
  double sum = 0.0;
  for (double e : energies) sum += occupation(statistics, e, mu, temperature);
  return sum;
}

// μ with Σ n_k(μ) = N over the whole grid spectrum (monotone in μ).
double solve_mu(const ManyBodyState& state, std::span<const double> spectrum, double particles) {
  const double t = state.temperature;
  auto count = [&](double mu) { return total(state.statistics, spectrum, mu, t); };
  if (state.statistics == Statistics::bose_einstein) {
    // μ = E0 - T e^s, s decreasing makes N grow without bound.
    double lo = -80.0, hi = 80.0;  // count(E0 - T e^lo) large, count(E0 - T e^hi) ~ 0
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo + hi);
      (count(spectrum[0] - t * std::exp(mid)) > particles ? lo : hi) = mid;
    }
    return spectrum[0] - t * std::exp(0.5 * (lo + hi));
  }
  require(particles < static_cast<double>(spectrum.size()), kField + ".particles",
          format_number(particles),
          "more fermions than the grid has states (" + std::to_string(spectrum.size()) + ")");
  double lo = spectrum.front() - t, hi = spectrum.back() + t;
  while (count(lo) > particles) lo -= 2.0 * (hi - lo);
  for (int i = 0; i < 300 && hi - lo > 1e-15 * std::max(1.0, std::abs(hi)); ++i) {
    const double mid = 0.5 * (lo + hi);
    (count(mid) < particles ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

struct CacheEntry {
  double x_min, length, hbar;
  std::size_t size;
  ManyBodyState state;
  std::shared_ptr<const ManyBodySolution> solution;
};

bool same(const ManyBodyState& a, const ManyBodyState& b) {
  return a.statistics == b.statistics && a.trap == b.trap && a.mass == b.mass &&
         a.particles == b.particles && a.particles_times_hbar == b.particles_times_hbar &&
         a.mu == b.mu && a.temperature == b.temperature &&
         a.orbitals == b.orbitals && a.occupation_tolerance == b.occupation_tolerance;
}

std::shared_ptr<const ManyBodySolution> compute(const ManyBodyState& state, const Grid& grid,
                                                double hbar) {
  const Expression trap(state.trap, {"x"}, {}, kField + ".trap");
  std::vector<double> potential(grid.size);
  for (std::size_t n = 0; n < grid.size; ++n) {
    potential[n] = trap(grid.x(n));
    require(std::isfinite(potential[n]), kField + ".trap", "\"" + state.trap + "\"",
            "not finite at x = " + format_number(grid.x(n)) + " (" + format_number(potential[n]) +
                "); the trap must be finite on the whole domain");
  }
  const double u_min = *std::min_element(potential.begin(), potential.end());
  const double u_edge = std::min(trap(grid.x_min), trap(grid.x_max()));
  const double p_grid = grid.max_momentum(hbar);
  const bool thermal = state.statistics != Statistics::fermions;
  const double tolerance = state.occupation_tolerance;
  const std::string where = at_hbar(hbar);
  double particles = state.particles.value_or(1.0);
  if (state.particles_times_hbar) {
    particles = *state.particles_times_hbar / hbar;
    if (!thermal) {
      require(std::abs(particles - std::round(particles)) < 1e-6 * particles && particles >= 0.5,
              kField + ".particles_times_hbar", format_number(*state.particles_times_hbar) + where,
              "N = particles_times_hbar/hbar = " + format_number(particles) +
                  " must be a whole number of fermions at every hbar of the sweep");
      particles = std::round(particles);
    }
  }
  double mu = state.mu.value_or(0.0);

  // Chooses the orbital count from the whole spectrum, with the field-naming checks.
  auto choose = [&](std::span<const double> spectrum) -> std::size_t {
    std::size_t needed = 0;
    if (!thermal) {
      needed = static_cast<std::size_t>(std::llround(particles));
      require(needed <= grid.size, kField + ".particles", format_number(particles) + where,
              "more fermions than the grid's " + std::to_string(grid.size) + " states");
    } else {
      if (state.statistics == Statistics::boltzmann) {
        // n_k = e^{-(E_k - μ)/T}: μ = E0 + T ln(N / Σ_k e^{-(E_k - E0)/T}).
        mu = spectrum[0] + state.temperature *
                               std::log(particles / total(state.statistics, spectrum, spectrum[0],
                                                          state.temperature));
      } else if (state.mu) {
        require(state.statistics != Statistics::bose_einstein || mu < spectrum[0], kField + ".mu",
                format_number(mu) + where,
                "must lie below the lowest orbital energy " + format_number(spectrum[0]) +
                    " (Bose-Einstein occupations are negative above it)");
        particles = total(state.statistics, spectrum, mu, state.temperature);
      } else {
        mu = solve_mu(state, spectrum, particles);
      }
      // The fewest orbitals whose left-out occupation is within tolerance·N.
      double tail = 0.0;
      needed = spectrum.size();
      for (std::size_t k = spectrum.size(); k-- > 1;) {
        tail += occupation(state.statistics, spectrum[k], mu, state.temperature);
        if (tail > tolerance * particles) break;
        needed = k;
      }
    }
    const std::size_t count = state.orbitals.value_or(needed);
    const std::string count_field =
        kField + (state.orbitals ? ".orbitals" : (state.mu ? ".mu" : ".particles"));
    const std::string count_text =
        state.orbitals ? std::to_string(count) : std::to_string(count) + " orbitals needed";
    require(count <= grid.size, count_field, count_text + where,
            "more orbitals than the grid's " + std::to_string(grid.size) + " points; raise resolution");
    if (count < needed) {
      double left = static_cast<double>(needed - count);  // fermions: the unfilled ones
      if (thermal) {
        left = 0.0;
        for (std::size_t k = count; k < spectrum.size(); ++k) {
          left += occupation(state.statistics, spectrum[k], mu, state.temperature);
        }
      }
      const std::string field = thermal && state.mu ? kField + ".mu" : kField + ".orbitals";
      const std::string value = thermal && state.mu ? format_number(*state.mu)
                                                    : std::to_string(count);
      throw InputError(field + " = " + value + where + ": the occupations do not normalise within " +
                       std::to_string(count) + " computed orbitals: the orbitals beyond (from energy " +
                       format_number(spectrum[count]) + ") would hold " + format_number(left) +
                       " of " + format_number(particles) + " particles (tolerance " +
                       format_number(tolerance) + " of them); raise " + kField +
                       ".orbitals or lower the chemical potential or temperature");
    }
    // An orbital is represented when its classical momenta fit the grid: sqrt(2m(E - min U0))
    // <= pi*hbar/dx; beyond, it is an artefact of the grid.
    const double energy = spectrum[count - 1];
    const double p_needed = std::sqrt(2.0 * state.mass * std::max(0.0, energy - u_min));
    require(p_needed <= p_grid, count_field, count_text + where,
            "more orbitals than the grid can represent: orbital " + std::to_string(count - 1) +
                " has energy " + format_number(energy) + ", momenta up to " +
                format_number(p_needed) + " > pi*hbar/dx = " + format_number(p_grid) +
                "; lower the count or raise resolution");
    return std::max<std::size_t>(count, 1);
  };

  auto solution = std::make_shared<ManyBodySolution>();
  solution->orbitals = grid_eigenstates_chosen(grid, hbar, state.mass, potential, choose);
  const Orbitals& orbitals = solution->orbitals;
  Occupations& occ = solution->occupations;
  if (!thermal) {
    const std::size_t n = static_cast<std::size_t>(std::llround(particles));
    occ.occupations.assign(n, 1.0);
    occ.mu = n < orbitals.spectrum.size()
                 ? 0.5 * (orbitals.spectrum[n - 1] + orbitals.spectrum[n])
                 : orbitals.spectrum[n - 1];
  } else {
    // From the spectrum μ was solved with: the orbitals' own energies differ from it by
    // round-off, which (E - μ)/T blows up at a low temperature (0 or inf occupations).
    for (std::size_t k = 0; k < orbitals.energies.size(); ++k) {
      occ.occupations.push_back(
          occupation(state.statistics, orbitals.spectrum[k], mu, state.temperature));
    }
    occ.mu = mu;
  }
  occ.particles = 0.0;
  for (double n : occ.occupations) occ.particles += n;
  require(std::isfinite(occ.particles) && occ.particles > 0.0,
          kField + (thermal ? ".temperature" : ".particles"),
          (thermal ? format_number(state.temperature) : format_number(particles)) + where,
          "the occupations sum to " + format_number(occ.particles) +
              "; they must be finite with a positive sum");
  // Bound states: each orbital that holds particles must lie below U0 at the domain's edge, so it
  // decays before the periodic seam (otherwise the trap does not confine it in this domain).
  for (std::size_t k = 0; k < occ.occupations.size(); ++k) {
    if (occ.occupations[k] <= tolerance * occ.particles) continue;
    require(orbitals.energies[k] < u_edge, kField + ".trap", "\"" + state.trap + "\"" + where,
            k == 0 ? "has no bound state in the domain: the lowest orbital's energy " +
                         format_number(orbitals.energies[0]) +
                         " is not below U0 at the domain edge (" + format_number(u_edge) + ")"
                   : "binds only " + std::to_string(k) + " orbitals in the domain: orbital " +
                         std::to_string(k) + " (occupation " + format_number(occ.occupations[k]) +
                         ") has energy " + format_number(orbitals.energies[k]) +
                         ", not below U0 at the domain edge (" + format_number(u_edge) + ")");
  }
  return solution;
}

// 16-point Gauss–Legendre nodes and weights on (0, 1).
const std::array<std::pair<double, double>, 16>& legendre16() {
  static const std::array<std::pair<double, double>, 16> nodes = [] {
    const std::array<double, 8> x = {0.0950125098376374, 0.2816035507792589, 0.4580167776572274,
                                     0.6178762444026438, 0.7554044083550030, 0.8656312023878318,
                                     0.9445750230732326, 0.9894009349916499};
    const std::array<double, 8> w = {0.1894506104550685, 0.1826034150449236, 0.1691565193950025,
                                     0.1495959888165767, 0.1246289712555339, 0.0951585116824928,
                                     0.0622535239386479, 0.0271524594117541};
    std::array<std::pair<double, double>, 16> result{};
    for (std::size_t i = 0; i < 8; ++i) {
      result[2 * i] = {0.5 * (1.0 - x[i]), 0.5 * w[i]};
      result[2 * i + 1] = {0.5 * (1.0 + x[i]), 0.5 * w[i]};
    }
    return result;
  }();
  return nodes;
}

// The Fermi function as a superposition of steps: f(H) = ∫_0^1 θ(ε(s) − H) ds with
// ε(s) = μ + T ln(s/(1 − s)); at T = 0 the single step at μ.
std::vector<std::pair<double, double>> fermi_levels(const ThomasFermi& tf) {
  if (tf.temperature <= 0.0) return {{tf.mu, 1.0}};
  std::vector<std::pair<double, double>> levels;
  for (const auto& [s, w] : legendre16()) {
    levels.emplace_back(tf.mu + tf.temperature * std::log(s / (1.0 - s)), w);
  }
  return levels;
}

// The Bose and Boltzmann references are sums of Gaussians in p: f(H) = Σ_{n=1}^{terms} e^{-n(H−μ)/T}
// (one term for boltzmann).
bool thermal_gaussian(const ThomasFermi& tf) {
  return tf.statistics == Statistics::boltzmann || tf.statistics == Statistics::bose_einstein;
}

// The Bose series is cut where e^{-n·gap} < e^{-bose_cut} ≈ 1e-13 of its first term.
constexpr double bose_cut = 30.0;

// Terms of the Bose series for μ = min U − gap·T.
std::size_t bose_terms_for(double gap) {
  return static_cast<std::size_t>(std::ceil(bose_cut / gap));
}

std::size_t gaussian_terms(const ThomasFermi& tf, double u_min) {
  if (tf.statistics == Statistics::boltzmann) return 1;
  const double gap = (u_min - tf.mu) / tf.temperature;
  require(gap > 0.0, kField + ".mu", format_number(tf.mu),
          "below the trap's minimum " + format_number(u_min) + " for the Bose-Einstein reference");
  const std::size_t terms = bose_terms_for(gap);
  require(terms <= bose_terms, kField + ".temperature", format_number(tf.temperature),
          "a Bose gas far enough from degeneracy for its semiclassical reference: mu = " +
              format_number(tf.mu) + " lies within " + format_number(gap * tf.temperature) +
              " of the trap's minimum, which needs " + std::to_string(terms) +
              " terms of the Bose series (at most " + std::to_string(bose_terms) + ")");
  return terms;
}

// smoothed[i·momenta + j] = Σ_n e^{n(μ − U_i)/T} σ_n/√(σ_n² + s_p²) e^{−p_j²/2(σ_n² + s_p²)},
// σ_n² = mT/n: each term e^{-n(H−μ)/T} convolved in p with the normalised Gaussian of width s_p.
void smooth_gaussian_terms_in_p(const ThomasFermi& tf, const PhaseSpaceGrid& ps,
                                std::span<const double> u, double s_p, std::vector<double>& smoothed) {
  const double u_min = *std::min_element(u.begin(), u.end());
  const std::size_t terms = gaussian_terms(tf, u_min);
  std::vector<double> term_in_p(terms * ps.momenta);
  for (std::size_t n = 1; n <= terms; ++n) {
    const double variance = tf.mass * tf.temperature / static_cast<double>(n) + s_p * s_p;
    const double amplitude = std::sqrt(tf.mass * tf.temperature / static_cast<double>(n) / variance);
    for (std::size_t j = 0; j < ps.momenta; ++j) {
      const double p = ps.p(j);
      term_in_p[(n - 1) * ps.momenta + j] = amplitude * std::exp(-p * p / (2.0 * variance));
    }
  }
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double first = std::exp((tf.mu - u[i]) / tf.temperature);
    double weight = 1.0;
    double* row = smoothed.data() + i * ps.momenta;
    for (std::size_t n = 1; n <= terms; ++n) {
      weight *= first;  // e^{n(μ − U_i)/T}
      const double* term = term_in_p.data() + (n - 1) * ps.momenta;
      for (std::size_t j = 0; j < ps.momenta; ++j) row[j] += weight * term[j];
    }
  }
}

// The thermal factor e^{-(U - min U)/T}, sampled at spacing h, is resolved only with a few
// samples within T of the minimum; colder, the sums below miss its peak (at T = 1e-100 the
// reference came out zero and thomas_fermi_l1 exactly 1).
void require_resolved_temperature(const ThomasFermi& tf, std::span<const double> u, double h) {
  const double u_min = *std::min_element(u.begin(), u.end());
  const auto within = std::count_if(u.begin(), u.end(),
                                    [&](double value) { return value - u_min <= tf.temperature; });
  require(within >= 4, kField + ".temperature", format_number(tf.temperature),
          "too cold for the semiclassical reference on its grid: only " + std::to_string(within) +
              " of its x samples (spacing " + format_number(h) +
              ") lie within T of the trap's minimum, at least 4 are needed");
}

// μ for the Bose and Boltzmann references: N = (1/2πħ) Σ_n e^{n(μ − min U)/T} √(2πmT/n) I_n,
// I_n = ∫ e^{-n(U − min U)/T} dx (trapezoid, step h). Boltzmann in closed form; Bose by bisection
// in the gap (min U − μ)/T, over the gaps whose series converges within bose_terms terms.
double thermal_gaussian_mu(const ThomasFermi& tf, std::span<const double> u, double h,
                           double particles) {
  require(tf.temperature > 0.0, kField + ".temperature", format_number(tf.temperature),
          "> 0 for a thermal reference");
  require_resolved_temperature(tf, u, h);
  const double u_min = *std::min_element(u.begin(), u.end());
  const bool bose = tf.statistics == Statistics::bose_einstein;
  const std::size_t terms = bose ? bose_terms : 1;
  std::vector<double> integral(terms, 0.0);  // I_n
  std::vector<double> power(u.size());
  for (std::size_t i = 0; i < u.size(); ++i) power[i] = std::exp(-(u[i] - u_min) / tf.temperature);
  std::vector<double> value(power);
  for (std::size_t n = 1; n <= terms; ++n) {
    double sum = 0.0;
    for (std::size_t i = 0; i < u.size(); ++i) {
      sum += value[i];
      value[i] *= power[i];
    }
    integral[n - 1] = sum * h;
  }
  const double scale = 1.0 / (2.0 * std::numbers::pi * tf.hbar);
  auto count = [&](double gap) {  // particles held at μ = min U − gap·T
    const std::size_t used = bose ? std::min(bose_terms_for(gap), terms) : 1;
    double total = 0.0;
    for (std::size_t n = 1; n <= used; ++n) {
      const double m = static_cast<double>(n);
      total += std::exp(-m * gap) * std::sqrt(2.0 * std::numbers::pi * tf.mass * tf.temperature / m) *
               integral[n - 1];
    }
    return total * scale;
  };
  if (!bose) return u_min + tf.temperature * std::log(particles / count(0.0));
  double near = bose_cut / static_cast<double>(bose_terms);  // the most degenerate gap allowed
  double far = 60.0;
  require(count(near) >= particles, kField + ".particles", format_number(particles),
          "at most " + format_number(count(near)) +
              " bosons for a semiclassical Bose-Einstein reference at this temperature (beyond, "
              "the gas is nearly degenerate)");
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (near + far);
    (count(mid) > particles ? near : far) = mid;
  }
  return u_min - 0.5 * (near + far) * tf.temperature;
}

double wrap(const Grid& grid, double x) {
  return grid.x_min + (x - grid.x_min) - grid.length * std::floor((x - grid.x_min) / grid.length);
}

}  // namespace

Statistics parse_statistics(const std::string& kind) {
  if (kind == "fermions") return Statistics::fermions;
  if (kind == "fermi_dirac") return Statistics::fermi_dirac;
  if (kind == "bose_einstein") return Statistics::bose_einstein;
  if (kind == "boltzmann") return Statistics::boltzmann;
  throw InputError(kField + ".kind = \"" + kind +
                   "\": allowed fermions, fermi_dirac, bose_einstein, boltzmann");
}

std::string to_string(Statistics statistics) {
  switch (statistics) {
    case Statistics::fermions: return "fermions";
    case Statistics::fermi_dirac: return "fermi_dirac";
    case Statistics::bose_einstein: return "bose_einstein";
    case Statistics::boltzmann: return "boltzmann";
  }
  return "?";
}

std::shared_ptr<const ManyBodySolution> solve_many_body(const ManyBodyState& state,
                                                        const Grid& grid, double hbar) {
  static std::mutex mutex;
  static std::vector<CacheEntry> cache;
  {
    const std::lock_guard lock(mutex);
    for (const auto& entry : cache) {
      if (entry.x_min == grid.x_min && entry.length == grid.length && entry.size == grid.size &&
          entry.hbar == hbar && same(entry.state, state)) {
        return entry.solution;
      }
    }
  }
  auto solution = compute(state, grid, hbar);
  const std::lock_guard lock(mutex);
  if (cache.size() >= 4) cache.erase(cache.begin());
  cache.push_back({grid.x_min, grid.length, hbar, grid.size, state, solution});
  return solution;
}

Ensemble many_body_ensemble(const ManyBodyState& state, const Grid& grid, double hbar) {
  const auto solution = solve_many_body(state, grid, hbar);
  Ensemble ensemble(grid, 0);
  std::vector<complex> psi(grid.size);
  for (std::size_t k = 0; k < solution->occupations.occupations.size(); ++k) {
    const auto phi = solution->orbitals.orbital(k);
    for (std::size_t n = 0; n < grid.size; ++n) psi[n] = complex(phi[n], 0.0);
    ensemble.add(solution->occupations.occupations[k], psi);
  }
  return ensemble;
}

double thomas_fermi_mu(const Grid& grid, const ThomasFermi& tf, double particles) {
  const Expression trap(tf.trap, {"x"}, {}, kField + ".trap");
  const std::size_t fine = 4 * grid.size;
  const double h = grid.length / static_cast<double>(fine);
  std::vector<double> u(fine);
  for (std::size_t i = 0; i < fine; ++i) u[i] = trap(grid.x_min + static_cast<double>(i) * h);
  if (thermal_gaussian(tf)) return thermal_gaussian_mu(tf, u, h, particles);
  auto count = [&](double mu) {
    ThomasFermi at = tf;
    at.mu = mu;
    double sum = 0.0;
    for (const auto& [level, weight] : fermi_levels(at)) {
      double area = 0.0;
      for (double value : u) area += 2.0 * std::sqrt(2.0 * tf.mass * std::max(0.0, level - value));
      sum += weight * area * h;
    }
    return sum / (2.0 * std::numbers::pi * tf.hbar);
  };
  double lo = *std::min_element(u.begin(), u.end()) - 40.0 * tf.temperature;
  double hi = *std::max_element(u.begin(), u.end()) + 40.0 * tf.temperature + 1.0;
  while (count(hi) < particles) hi += 2.0 * (hi - lo);
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (count(mid) < particles ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<double> thomas_fermi_density(const Grid& grid, const Window& window,
                                         const PhaseSpaceGrid& ps, const ThomasFermi& tf) {
  // Position spread of |w|²: σ²/2 for the Gaussian window, numerically for the others.
  double variance = 0.5 * window.width * window.width;
  if (window.shape != WindowShape::gaussian) {
    const double h = window.width / 2000.0;
    double sum = 0.0, second = 0.0;
    for (int m = -1200; m <= 1200; ++m) {
      const double u = m * h, w = window.sample(u, h);
      sum += w * w;
      second += u * u * w * w;
    }
    variance = second / sum;
  }
  const double s_x = std::sqrt(variance);
  const double s_p = tf.hbar / (2.0 * s_x);
  // Fine x' grid aligned with the centres, r sub-steps per centre spacing.
  const std::size_t r = static_cast<std::size_t>(std::ceil(ps.dx0 / (s_x / 16.0)));
  const double h = ps.dx0 / static_cast<double>(r);
  const std::size_t fine = ps.centres * r;
  const Expression trap(tf.trap, {"x"}, {}, kField + ".trap");
  // S[i][j]: the p-smoothed occupation at x'_i, p_j (erf in closed form per Fermi level;
  // Gaussians for the thermal Bose and Boltzmann terms).
  std::vector<double> smoothed_p(fine * ps.momenta, 0.0);
  std::vector<double> u(fine);
  for (std::size_t i = 0; i < fine; ++i) u[i] = trap(wrap(grid, ps.x0_first + static_cast<double>(i) * h));
  if (thermal_gaussian(tf)) require_resolved_temperature(tf, u, h);
  const auto levels = thermal_gaussian(tf) ? std::vector<std::pair<double, double>>{} : fermi_levels(tf);
  if (thermal_gaussian(tf)) smooth_gaussian_terms_in_p(tf, ps, u, s_p, smoothed_p);
  const double scale = 1.0 / (std::sqrt(2.0) * s_p);
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < fine; ++i) {
    for (const auto& [level, weight] : levels) {
      if (level <= u[i]) continue;
      const double p_turn = std::sqrt(2.0 * tf.mass * (level - u[i]));
      for (std::size_t j = 0; j < ps.momenta; ++j) {
        const double p = ps.p(j);
        smoothed_p[i * ps.momenta + j] +=
            weight * 0.5 * (std::erf((p + p_turn) * scale) - std::erf((p - p_turn) * scale));
      }
    }
  }
  // Gaussian in x, truncated at 8 s_x, discrete weights normalised to one.
  const long half = static_cast<long>(std::ceil(8.0 * s_x / h));
  std::vector<double> kernel(static_cast<std::size_t>(2 * half + 1));
  double kernel_sum = 0.0;
  for (long m = -half; m <= half; ++m) {
    const double x = static_cast<double>(m) * h;
    kernel[static_cast<std::size_t>(m + half)] = std::exp(-x * x / (2.0 * variance));
    kernel_sum += kernel[static_cast<std::size_t>(m + half)];
  }
  const double norm = 1.0 / (kernel_sum * 2.0 * std::numbers::pi * tf.hbar);
  std::vector<double> density(ps.cells(), 0.0);
  const long fine_l = static_cast<long>(fine);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < ps.centres; ++c) {
    double* out = density.data() + c * ps.momenta;
    for (long m = -half; m <= half; ++m) {
      const long i = ((static_cast<long>(c * r) + m) % fine_l + fine_l) % fine_l;
      const double g = kernel[static_cast<std::size_t>(m + half)] * norm;
      const double* row = smoothed_p.data() + static_cast<std::size_t>(i) * ps.momenta;
      for (std::size_t j = 0; j < ps.momenta; ++j) out[j] += g * row[j];
    }
  }
  return density;
}

}  // namespace phasespace
