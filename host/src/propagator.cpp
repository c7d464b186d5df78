#include "phasespace/propagator.hpp"

#include <fftw3.h>

#include <cmath>

#include "fftw_setup.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/kernels/phase.hpp"

namespace phasespace {

Scheme parse_scheme(const std::string& name, const std::string& field) {
  if (name == "strang") return Scheme::strang;
  if (name == "yoshida4") return Scheme::yoshida4;
  throw InputError(field + " = \"" + name + "\": allowed \"strang\", \"yoshida4\"");
}

std::string to_string(Scheme scheme) { return scheme == Scheme::strang ? "strang" : "yoshida4"; }

SplittingCoefficients splitting_coefficients(Scheme scheme) {
  if (scheme == Scheme::strang) return {{0.5, 0.5}, {1.0}};
  // Yoshida's triple jump: Strang steps of w1·dt, w0·dt, w1·dt.
  const double cube_root = std::cbrt(2.0);
  const double w1 = 1.0 / (2.0 - cube_root);
  const double w0 = -cube_root / (2.0 - cube_root);
  return {{0.5 * w1, 0.5 * (w1 + w0), 0.5 * (w0 + w1), 0.5 * w1}, {w1, w0, w1}};
}

struct SplitStepPropagator::Plans {
  fftw_plan forward = nullptr;
  fftw_plan backward = nullptr;
  ~Plans() {
    if (forward) fftw_destroy_plan(forward);
    if (backward) fftw_destroy_plan(backward);
  }
};

namespace {

// a·b without std::complex's NaN-recovery path (which the compiler cannot vectorise).
inline complex multiply(const complex& a, const complex& b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

}  // namespace

MemberPotentials checked_member_potentials(const Grid& grid, std::size_t members,
                                           MemberPotentials potentials) {
  if (potentials.of_member.empty()) {
    for (std::size_t k = 0; k < potentials.extra.size(); ++k) potentials.of_member.push_back(k);
  }
  require(potentials.of_member.size() == members, "member potentials",
          std::to_string(potentials.of_member.size()) + " members",
          "must give one potential index per ensemble member (" + std::to_string(members) + ")");
  for (std::size_t i = 0; i < potentials.extra.size(); ++i) {
    require(potentials.extra[i].size() == grid.size, "member potentials[" + std::to_string(i) + "]",
            std::to_string(potentials.extra[i].size()) + " values",
            "must have one value per grid point (" + std::to_string(grid.size) + ")");
  }
  for (std::size_t index : potentials.of_member) {
    require(index < potentials.extra.size(), "member potential index", std::to_string(index),
            "must be < " + std::to_string(potentials.extra.size()));
  }
  return potentials;
}

std::vector<complex> member_kick_phases(const Grid& grid, const Potential& potential,
                                        const PropagatorOptions& options,
                                        const std::vector<double>& absorbing,
                                        const std::vector<std::vector<double>>& extra, double tau,
                                        double t) {
  const std::size_t size = grid.size;
  std::vector<double> base(size);
  potential.sample(grid, t, base);
  std::vector<complex> phase(extra.size() * size);
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < extra.size(); ++i) {
    for (std::size_t n = 0; n < size; ++n) {
      const double angle = kernels::potential_angle(base[n] + extra[i][n], options.hbar, tau);
      const double damping = absorbing.empty() ? 1.0 : std::exp(-absorbing[n] * tau / options.hbar);
      phase[i * size + n] = std::polar(damping, angle);
    }
  }
  return phase;
}

void check_propagator_options(const Grid& grid, const PropagatorOptions& options,
                              std::size_t members) {
  require(grid.size >= 2, "grid.size", std::to_string(grid.size), "must be >= 2");
  require(options.mass > 0.0 && std::isfinite(options.mass), "system.mass",
          format_number(options.mass), "must be > 0");
  require(options.hbar > 0.0 && std::isfinite(options.hbar), "hbar", format_number(options.hbar),
          "must be > 0");
  require(options.dt > 0.0 && std::isfinite(options.dt), "time.dt", format_number(options.dt),
          "must be > 0");
  require(members >= 1, "ensemble members", std::to_string(members), "must be >= 1");
  if (options.absorbing) {
    require(options.absorbing->width > 0.0 && options.absorbing->width < 0.5 * grid.length,
            "absorbing.width", format_number(options.absorbing->width),
            "must be in (0, domain/2)");
    require(options.absorbing->strength >= 0.0, "absorbing.strength",
            format_number(options.absorbing->strength), "must be >= 0");
  }
}

std::vector<double> absorbing_profile(const Grid& grid, const std::optional<AbsorbingLayer>& layer) {
  if (!layer) return {};
  std::vector<double> profile(grid.size, 0.0);
  for (std::size_t n = 0; n < grid.size; ++n) {
    const double x = grid.x(n);
    const double depth = std::max(grid.x_min + layer->width - x, x - (grid.x_max() - layer->width));
    if (depth > 0.0) {
      const double ramp = depth / layer->width;
      profile[n] = layer->strength * ramp * ramp;
    }
  }
  return profile;
}

SplitStepPropagator::SplitStepPropagator(const Grid& grid, const Potential& potential,
                                         const PropagatorOptions& options, std::size_t members)
    : grid_(grid),
      potential_(potential),
      options_(options),
      members_(members),
      coefficients_(splitting_coefficients(options.scheme)),
      plans_(std::make_unique<Plans>()) {
  check_propagator_options(grid, options, members);
  absorbing_profile_ = absorbing_profile(grid, options.absorbing);
  // Plans are made once, on a scratch buffer (FFTW_MEASURE overwrites it), and executed on
  // the ensemble's storage with fftw_execute_dft: AlignedVector keeps the alignment equal.
  AlignedVector<complex> scratch(members * grid.size);
  const int size = static_cast<int>(grid.size);
  auto* data = reinterpret_cast<fftw_complex*>(scratch.data());
  auto lock = detail::fftw_planner_lock();
  plans_->forward = fftw_plan_many_dft(1, &size, static_cast<int>(members), data, nullptr, 1, size,
                                       data, nullptr, 1, size, FFTW_FORWARD, FFTW_MEASURE);
  plans_->backward = fftw_plan_many_dft(1, &size, static_cast<int>(members), data, nullptr, 1, size,
                                        data, nullptr, 1, size, FFTW_BACKWARD, FFTW_MEASURE);
  if (!plans_->forward || !plans_->backward) throw Error("FFTW could not plan the split-step FFT");
}

SplitStepPropagator::SplitStepPropagator(const Grid& grid, const Potential& potential,
                                         const PropagatorOptions& options, std::size_t members,
                                         MemberPotentials member_potentials)
    : SplitStepPropagator(grid, potential, options, members) {
  member_potentials_ = checked_member_potentials(grid, members, std::move(member_potentials));
}

SplitStepPropagator::~SplitStepPropagator() = default;

const std::vector<complex>& SplitStepPropagator::member_kick_phase(double fraction, double t) {
  const bool cacheable = !potential_.time_dependent();
  if (cacheable) {
    auto found = member_kick_cache_.find(fraction);
    if (found != member_kick_cache_.end()) return found->second;
  }
  std::vector<complex> phase = member_kick_phases(grid_, potential_, options_, absorbing_profile_,
                                                  member_potentials_.extra,
                                                  fraction * options_.dt, t);
  if (cacheable) return member_kick_cache_[fraction] = std::move(phase);
  time_dependent_member_kick_ = std::move(phase);
  return time_dependent_member_kick_;
}

const std::vector<complex>& SplitStepPropagator::kick_phase(double fraction, double t) {
  const bool cacheable = !potential_.time_dependent();
  if (cacheable) {
    auto found = kick_cache_.find(fraction);
    if (found != kick_cache_.end()) return found->second;
  }
  const double tau = fraction * options_.dt;
  std::vector<double> potential(grid_.size);
  potential_.sample(grid_, t, potential);
  std::vector<complex> phase(grid_.size);
  for (std::size_t n = 0; n < grid_.size; ++n) {
    const double angle = kernels::potential_angle(potential[n], options_.hbar, tau);
    const double damping = absorbing_profile_.empty()
                               ? 1.0
                               : std::exp(-absorbing_profile_[n] * tau / options_.hbar);
    phase[n] = std::polar(damping, angle);
  }
  if (cacheable) return kick_cache_[fraction] = std::move(phase);
  time_dependent_kick_ = std::move(phase);
  return time_dependent_kick_;
}

const std::vector<complex>& SplitStepPropagator::drift_phase(double fraction) {
  auto found = drift_cache_.find(fraction);
  if (found != drift_cache_.end()) return found->second;
  std::vector<complex> phase(grid_.size);
  const double normalisation = 1.0 / static_cast<double>(grid_.size);  // FFTW is unnormalised
  for (std::size_t k = 0; k < grid_.size; ++k) {
    const double angle = kernels::kinetic_angle(grid_.signed_index(k), grid_.length, options_.hbar,
                                                options_.mass, fraction * options_.dt);
    phase[k] = std::polar(normalisation, angle);
  }
  return drift_cache_[fraction] = std::move(phase);
}

void SplitStepPropagator::apply_kick(Ensemble& ensemble, double fraction, double t) {
  const std::size_t size = grid_.size;
  complex* psi = ensemble.psi.data();
  if (!member_potentials_.extra.empty()) {
    const std::vector<complex>& phases = member_kick_phase(fraction, t);
    const std::size_t* of_member = member_potentials_.of_member.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (std::size_t k = 0; k < members_; ++k) {
      for (std::size_t n = 0; n < size; ++n) {
        psi[k * size + n] = multiply(psi[k * size + n], phases[of_member[k] * size + n]);
      }
    }
    return;
  }
  const std::vector<complex>& phase = kick_phase(fraction, t);
#pragma omp parallel for collapse(2) schedule(static)
  for (std::size_t k = 0; k < members_; ++k) {
    for (std::size_t n = 0; n < size; ++n) psi[k * size + n] = multiply(psi[k * size + n], phase[n]);
  }
}

void SplitStepPropagator::apply_drift(Ensemble& ensemble, double fraction) {
  const std::vector<complex>& phase = drift_phase(fraction);
  auto* data = reinterpret_cast<fftw_complex*>(ensemble.psi.data());
  fftw_execute_dft(plans_->forward, data, data);
  const std::size_t size = grid_.size;
  complex* psi = ensemble.psi.data();
#pragma omp parallel for collapse(2) schedule(static)
  for (std::size_t k = 0; k < members_; ++k) {
    for (std::size_t n = 0; n < size; ++n) psi[k * size + n] = multiply(psi[k * size + n], phase[n]);
  }
  fftw_execute_dft(plans_->backward, data, data);
}

void SplitStepPropagator::advance(Ensemble& ensemble, double t_start, std::size_t steps) {
  require(ensemble.members() == members_ && ensemble.grid.size == grid_.size,
          "SplitStepPropagator::advance ensemble",
          std::to_string(ensemble.members()) + " members of " + std::to_string(ensemble.grid.size),
          "must match the propagator's " + std::to_string(members_) + " members of " +
              std::to_string(grid_.size) + " points");
  if (steps == 0) return;
  const double trace_before = absorbing_profile_.empty() ? 0.0 : ensemble.trace();
  const auto& kicks = coefficients_.kicks;
  const auto& drifts = coefficients_.drifts;
  // The last kick of a step and the first of the next act at the same time: fuse them.
  double pending = kicks.front();
  double t = t_start;
  for (std::size_t step = 0; step < steps; ++step) {
    double elapsed = 0.0;
    for (std::size_t i = 0; i < drifts.size(); ++i) {
      apply_kick(ensemble, pending, t + elapsed * options_.dt);
      apply_drift(ensemble, drifts[i]);
      elapsed += drifts[i];
      pending = kicks[i + 1];
    }
    t = t_start + static_cast<double>(step + 1) * options_.dt;
    if (step + 1 < steps) pending += kicks.front();
  }
  apply_kick(ensemble, pending, t);
  if (!absorbing_profile_.empty()) absorbed_norm_ += trace_before - ensemble.trace();
}

}  // namespace phasespace
