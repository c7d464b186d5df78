#include "input_checks.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>
#include <vector>

#include "phasespace/errors.hpp"
#include "phasespace/expression.hpp"
#include "phasespace/potential.hpp"

namespace phasespace {

namespace {

std::string at_point(std::size_t index, double hbar) {
  return " (at hbar[" + std::to_string(index) + "] = " + format_number(hbar) + ")";
}

bool whole_number_of(double t, double dt) {
  const double steps = t / dt;
  return std::abs(steps - std::round(steps)) < 1e-6 * std::max(1.0, steps);
}

// Where a time-dependent U is sampled before any work: 0, the output times and 33 times evenly
// over [0, t_end]. The run checks every other kick time as it goes (Potential throws).
std::vector<double> sample_times(const StudyConfig& config, bool time_dependent) {
  std::vector<double> times = {0.0};
  if (!time_dependent) return times;
  times.insert(times.end(), config.time.outputs.begin(), config.time.outputs.end());
  const int intervals = 32;
  for (int k = 1; k <= intervals; ++k) times.push_back(config.time.t_end * k / intervals);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

// U on the quantum grid and U' at the classical centres at every sample time: finite (Potential
// throws naming x and t), and small enough that a step's kick phase |U| dt/ħ and force shift
// |U'| dt_c/dp mean something.
void check_potential(const StudyConfig& config, const PointPlan& point, std::size_t index) {
  const Potential potential(config.system.potential, config.system.potential_derivative);
  const Grid& grid = point.grid;
  const PhaseSpaceGrid& phase_space = point.phase_space;
  double largest_value = 0.0, value_x = 0.0, value_t = 0.0;
  double largest_force = 0.0, force_x = 0.0, force_t = 0.0;
  for (double t : sample_times(config, potential.time_dependent())) {
    for (std::size_t n = 0; n < grid.size; ++n) {
      const double value = std::abs(potential.value(grid.x(n), t));
      if (value > largest_value) std::tie(largest_value, value_x, value_t) = std::tuple(value, grid.x(n), t);
    }
    for (std::size_t c = 0; c < phase_space.centres; ++c) {
      const double force = std::abs(potential.derivative(phase_space.x0(c), t));
      if (force > largest_force) {
        std::tie(largest_force, force_x, force_t) = std::tuple(force, phase_space.x0(c), t);
      }
    }
  }
  const double kick_phase = largest_value * config.time.dt / point.hbar;
  if (!(kick_phase <= max_phase_per_step)) {
    throw InputError("system.potential = \"" + config.system.potential + "\": |U| reaches " +
                     format_number(largest_value) + " at x = " + format_number(value_x) +
                     ", t = " + format_number(value_t) + at_point(index, point.hbar) +
                     ", a kick phase |U| dt/hbar of " + format_number(kick_phase) +
                     " rad per step, beyond " + format_number(max_phase_per_step) +
                     " (no digit of it is left)");
  }
  const double dt_classical = config.classical.dt.value_or(config.time.dt);
  const double force_shift = largest_force * dt_classical / phase_space.dp;
  if (!(force_shift <= max_phase_per_step)) {
    const std::string field = config.system.potential_derivative ? "system.potential_derivative"
                                                                 : "system.potential";
    throw InputError(field + ": |U'| reaches " + format_number(largest_force) + " at x = " +
                     format_number(force_x) + ", t = " + format_number(force_t) +
                     at_point(index, point.hbar) + ", a classical kick of |U'| dt/dp = " +
                     format_number(force_shift) + " momentum cells per step, beyond " +
                     format_number(max_phase_per_step));
  }
}

// The kinetic phase of a quantum step at the grid's largest momentum, and the classical shift of
// a step at the phase-space grid's, both ∝ dt/m.
void check_free_motion(const StudyConfig& config, const PointPlan& point, std::size_t index) {
  const double mass = config.system.mass;
  const double p_grid = point.grid.max_momentum(point.hbar);
  const double kinetic_phase = p_grid * p_grid * config.time.dt / (2.0 * mass * point.hbar);
  const std::string fields = "system.mass = " + format_number(mass) + " with time.dt = " +
                             format_number(config.time.dt);
  if (!(kinetic_phase <= max_phase_per_step)) {
    throw InputError(fields + at_point(index, point.hbar) +
                     ": the kinetic phase per step p^2 dt/(2 m hbar) reaches " +
                     format_number(kinetic_phase) + " rad at p = pi*hbar/dx = " +
                     format_number(p_grid) + ", beyond " + format_number(max_phase_per_step) +
                     " (no digit of it is left); raise system.mass or lower time.dt");
  }
  const PhaseSpaceGrid& phase_space = point.phase_space;
  const double p_largest = std::max(std::abs(phase_space.p(0)),
                                    std::abs(phase_space.p(phase_space.momenta - 1)));
  const double dt_classical = config.classical.dt.value_or(config.time.dt);
  const double shift = p_largest * dt_classical / (mass * phase_space.dx0);
  if (!(shift <= max_phase_per_step)) {
    const std::string dt_field = config.classical.dt ? "classical.dt" : "time.dt";
    throw InputError("system.mass = " + format_number(mass) + " with " + dt_field + " = " +
                     format_number(dt_classical) + at_point(index, point.hbar) +
                     ": the classical shift per step p dt/(m dx0) reaches " + format_number(shift) +
                     " cells at |p| = " + format_number(p_largest) + ", beyond " +
                     format_number(max_phase_per_step) + "; raise system.mass or lower " + dt_field);
  }
}

// f_eq of each relaxation towards a given equilibrium, on the point's phase-space grid.
void check_equilibria(const StudyConfig& config, const PointPlan& point, std::size_t index) {
  const PhaseSpaceGrid& grid = point.phase_space;
  for (std::size_t i = 0; i < config.classical.collisions.size(); ++i) {
    const CollisionConfig& collision = config.classical.collisions[i];
    if (collision.kind != "relaxation" || !collision.equilibrium) continue;
    const std::string field = "classical.collisions[" + std::to_string(i) + "].equilibrium";
    const Expression equilibrium(*collision.equilibrium, {"x", "p"}, {}, field);
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (std::size_t j = 0; j < grid.momenta; ++j) {
        const double value = equilibrium(grid.x0(c), grid.p(j));
        if (std::isfinite(value)) continue;
        throw InputError(field + " = \"" + *collision.equilibrium + "\": not finite at x = " +
                         format_number(grid.x0(c)) + ", p = " + format_number(grid.p(j)) + " (" +
                         format_number(value) + ") on the phase-space grid" +
                         at_point(index, point.hbar) + "; f_eq must be finite on the whole grid");
      }
    }
  }
}

void check_whole_steps(const StudyConfig& config) {
  const TimeConfig& time = config.time;
  require(whole_number_of(time.t_end, time.dt), "time.t_end", format_number(time.t_end),
          "must be a whole number of time.dt = " + format_number(time.dt) + " (it is " +
              format_number(time.t_end / time.dt) + " steps)");
  if (config.classical.dt) {
    require(whole_number_of(time.t_end, *config.classical.dt), "time.t_end",
            format_number(time.t_end),
            "must be a whole number of classical.dt = " + format_number(*config.classical.dt) +
                " (it is " + format_number(time.t_end / *config.classical.dt) + " steps)");
  }
}

// All the digits: two ħ values this close print alike with ten.
std::string exact_number(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

void check_hbar_separation(const StudyConfig& config) {
  const std::vector<double>& hbar = config.hbar;
  for (std::size_t i = 0; i < hbar.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const double separation = std::abs(hbar[i] - hbar[j]) / std::max(hbar[i], hbar[j]);
      require(separation >= min_hbar_separation, "hbar[" + std::to_string(i) + "]",
              exact_number(hbar[i]),
              "within a relative " + format_number(separation) + " of hbar[" +
                  std::to_string(j) + "] = " + exact_number(hbar[j]) +
                  "; values closer than a relative " + format_number(min_hbar_separation) +
                  " give no slope in err ~ hbar^beta");
    }
  }
}

// A centre outside the periodic domain would be wrapped onto it silently.
void require_in_domain(const StudyConfig& config, double x, const std::string& field) {
  const double x_min = config.system.x_min;
  const double x_max = config.system.x_max;
  require(x >= x_min && x <= x_max, field, format_number(x),
          "must lie in system.domain [" + format_number(x_min) + ", " + format_number(x_max) +
              "] (a centre outside would be wrapped onto the periodic domain)");
}

void check_centres(const StudyConfig& config, const InitialStateConfig& state,
                   const std::string& path) {
  if (state.kind == "gaussian") require_in_domain(config, state.packet.x0, path + ".x0");
  if (state.kind == "gaussian_mixed") require_in_domain(config, state.mixed.x0, path + ".x0");
  for (std::size_t i = 0; i < state.terms.size(); ++i) {
    require_in_domain(config, state.terms[i].packet.x0,
                      path + ".terms[" + std::to_string(i) + "].x0");
  }
  for (std::size_t i = 0; i < state.members.size(); ++i) {
    check_centres(config, state.members[i].second,
                  path + ".members[" + std::to_string(i) + "].state");
  }
  if (state.kind == "coherent_ensemble") {
    const double* range = state.coherent.x_range;
    if (range[0] != range[1]) {  // given (equal ends mean the whole domain)
      require_in_domain(config, range[0], path + ".x_range[0]");
      require_in_domain(config, range[1], path + ".x_range[1]");
    }
  }
}

}  // namespace

void check_study_inputs(const StudyConfig& config, const StudyPlan& plan) {
  check_whole_steps(config);
  check_hbar_separation(config);
  check_centres(config, config.initial_state, "initial_state");
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    check_free_motion(config, plan.points[i], i);
    check_potential(config, plan.points[i], i);
    check_equilibria(config, plan.points[i], i);
  }
}

void check_initial_ensemble(const Ensemble& ensemble) {
  for (std::size_t k = 0; k < ensemble.members(); ++k) {
    const double weight = ensemble.weights[k];
    require(std::isfinite(weight) && weight >= 0.0, "initial_state",
            "weight " + format_number(weight) + " of member " + std::to_string(k),
            "the weights (occupations) of the initial state must be finite and >= 0");
  }
  const double trace = ensemble.trace();
  require(std::isfinite(trace) && trace > 0.0, "initial_state", "mass " + format_number(trace),
          "the initial state's mass (the trace of its density matrix on the grid) must be finite "
          "and > 0");
}

void require_finite_density(std::span<const double> density, const PhaseSpaceGrid& grid,
                            const std::string& what, double hbar, double t) {
  const auto bad = std::find_if(density.begin(), density.end(),
                                [](double value) { return !std::isfinite(value); });
  if (bad == density.end()) return;
  const auto cell = static_cast<std::size_t>(bad - density.begin());
  throw Error(what + " is not finite (" + format_number(*bad) + ") at x0 = " +
              format_number(grid.x0(cell / grid.momenta)) + ", p = " +
              format_number(grid.p(cell % grid.momenta)) + ", t = " + format_number(t) +
              " (hbar = " + format_number(hbar) + ")");
}

void require_finite_line(std::span<const double> values, const Grid& grid, const std::string& what,
                         double hbar, double t) {
  const auto bad = std::find_if(values.begin(), values.end(),
                                [](double value) { return !std::isfinite(value); });
  if (bad == values.end()) return;
  throw Error(what + " is not finite (" + format_number(*bad) + ") at x = " +
              format_number(grid.x(static_cast<std::size_t>(bad - values.begin()))) +
              ", t = " + format_number(t) + " (hbar = " + format_number(hbar) + ")");
}

void require_finite_metric(const std::string& name, double value, double hbar, double t) {
  if (std::isfinite(value)) return;
  throw Error("metric " + name + " is not finite (" + format_number(value) + ") at t = " +
              format_number(t) + " (hbar = " + format_number(hbar) + ")");
}

}  // namespace phasespace
