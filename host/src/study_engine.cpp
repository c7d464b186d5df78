#include "study_engine.hpp"

#include <chrono>
#include <cmath>

#include "phasespace/errors.hpp"
#include "phasespace/metrics.hpp"
#include "phasespace/output.hpp"
#include "disorder_study.hpp"
#include "input_checks.hpp"
#include "many_body_study.hpp"

namespace phasespace {

using nlohmann::json;

namespace {

class CpuEngine : public PointEngine {
 public:
  CpuEngine(const StudyConfig& config, const PointPlan& plan, MemberRange members)
      : potential_(config.system.potential, config.system.potential_derivative, "system.potential"),
        ensemble_(make_point_ensemble(config, plan, members)),
        propagator_(plan.grid, potential_, propagator_options(config, plan), ensemble_.members()),
        projector_(plan.grid, Window{config.window.shape, plan.window_width}, plan.phase_space),
        liouville_(plan.phase_space, potential_, liouville_options(config),
                   make_collisions(config, plan)),
        hbar_(plan.hbar),
        mass_(config.system.mass),
        classical_(plan.phase_space.cells()) {}

  void advance_quantum(double t_start, std::size_t steps) override {
    propagator_.advance(ensemble_, t_start, steps);
  }
  void advance_classical(double t_start, std::size_t steps) override {
    liouville_.advance(classical_, t_start, steps);
  }
  void quantum_density(std::span<double> density) override { projector_.project(ensemble_, density); }
  void start_classical(std::span<const double> density) override {
    classical_.assign(density.begin(), density.end());
  }
  void classical_density(std::span<double> density) override {
    std::copy(classical_.begin(), classical_.end(), density.begin());
  }
  void quantum_observables(std::vector<double>& density, std::vector<double>& current) override {
    density = position_density(ensemble_);
    current = current_density(ensemble_, hbar_, mass_);
  }
  std::vector<std::complex<double>> pure_state() override {
    if (ensemble_.members() != 1) return {};
    return {ensemble_.psi.begin(), ensemble_.psi.end()};
  }

 private:
  Potential potential_;
  Ensemble ensemble_;
  SplitStepPropagator propagator_;
  Projector projector_;
  LiouvilleSolver liouville_;
  double hbar_;
  double mass_;
  std::vector<double> classical_;
};

// Metric arrays over the output times of one point. Every value is finite: a metric that is not
// stops the point (a success exit means every number written is a number).
class MetricTable {
 public:
  explicit MetricTable(double hbar) : hbar_(hbar) {}
  void at_time(double t) { t_ = t; }
  void add(const std::string& name, double value) {
    require_finite_metric(name, value, hbar_, t_);
    values_[name].push_back(value);
  }
  json to_json() const {
    json result = json::object();
    for (const auto& [name, values] : values_) result[name] = values;
    return result;
  }

 private:
  double hbar_;
  double t_ = 0.0;
  std::map<std::string, std::vector<double>> values_;
};

void add_moments(MetricTable& table, const std::string& suffix, const Moments& moments) {
  table.add("mass_" + suffix, moments.mass);
  table.add("mean_x_" + suffix, moments.mean_x);
  table.add("mean_p_" + suffix, moments.mean_p);
  table.add("var_x_" + suffix, moments.var_x);
  table.add("var_p_" + suffix, moments.var_p);
  table.add("energy_" + suffix, moments.energy);
}

struct OutputState {
  std::vector<double> quantum, classical, n, j;
  double t = 0.0;
  double particles = 1.0;  // N: distances are per particle (many_body_study.hpp)
};

void add_metrics(MetricTable& table, const StudyConfig& config, const PointPlan& plan,
                 const GaussianSmoother& smoother, const OutputState& state) {
  const PhaseSpaceGrid& ps = plan.phase_space;
  const Window window{config.window.shape, plan.window_width};
  table.add("l1", l1_distance(ps, state.quantum, state.classical) / state.particles);
  table.add("l1_weak", weak_l1_distance(smoother, ps, state.quantum, state.classical) / state.particles);
  table.add("l2_rel", relative_l2_distance(ps, state.classical, state.quantum));
  // Marginals of ρ_c against the exact quantum n and j smoothed by |w|² (what ρ_q's marginals are).
  const auto n_exact = smooth_at_centres(plan.grid, window, ps, state.n);
  const auto j_exact = smooth_at_centres(plan.grid, window, ps, state.j);
  table.add("density_l1",
            line_l1_distance(ps, density_marginal(ps, state.classical), n_exact) / state.particles);
  table.add("current_l1",
            line_l1_distance(ps, current_marginal(ps, state.classical, config.system.mass), j_exact) /
                state.particles);
  const Potential potential(config.system.potential, config.system.potential_derivative);
  std::vector<double> potential_at_centres(ps.centres);
  for (std::size_t c = 0; c < ps.centres; ++c) potential_at_centres[c] = potential.value(ps.x0(c), state.t);
  add_moments(table, "q", phase_space_moments(ps, state.quantum, config.system.mass, potential_at_centres));
  add_moments(table, "c", phase_space_moments(ps, state.classical, config.system.mass, potential_at_centres));
  for (const auto& [name, range] : config.metrics.regions) {
    table.add("region_" + name + "_q", region_probability(plan.grid, state.n, range[0], range[1]));
    table.add("region_" + name + "_c", region_probability(ps, state.classical, range[0], range[1]));
  }
}

// ρ_q, ρ_c, n and j at an output time, before any metric is made of them.
void check_finite(const PointPlan& plan, const OutputState& state) {
  require_finite_density(state.quantum, plan.phase_space, "rho_q", plan.hbar, state.t);
  require_finite_density(state.classical, plan.phase_space, "rho_c", plan.hbar, state.t);
  require_finite_line(state.n, plan.grid, "the quantum density n(x)", plan.hbar, state.t);
  require_finite_line(state.j, plan.grid, "the quantum current j(x)", plan.hbar, state.t);
}

void check_stop(const std::atomic<bool>* stop) {
  if (stop != nullptr && stop->load()) throw Interrupted("interrupted; finished points are kept");
}

// Advances one side in chunks so that a stop request is honoured within ~1% of the run.
void advance_in_chunks(const std::function<void(double, std::size_t)>& advance, double t_start,
                       std::size_t steps, double dt, const std::atomic<bool>* stop,
                       const std::function<void(double)>& on_chunk) {
  const std::size_t chunk = std::max<std::size_t>(1, steps / 100);
  std::size_t done = 0;
  while (done < steps) {
    check_stop(stop);
    const std::size_t now = std::min(chunk, steps - done);
    advance(t_start + static_cast<double>(done) * dt, now);
    done += now;
    on_chunk(t_start + static_cast<double>(done) * dt);
  }
}

}  // namespace

PropagatorOptions propagator_options(const StudyConfig& config, const PointPlan& plan) {
  return {config.system.mass, plan.hbar, config.time.dt, config.time.scheme,
          config.system.absorbing};
}

LiouvilleOptions liouville_options(const StudyConfig& config) {
  return {config.system.mass, config.classical.dt.value_or(config.time.dt), config.classical.scheme,
          config.classical.interpolation, config.classical.momentum_boundary};
}

std::vector<std::shared_ptr<const CollisionOperator>> make_collisions(const StudyConfig& config,
                                                                      const PointPlan& plan) {
  std::vector<std::shared_ptr<const CollisionOperator>> collisions;
  for (const auto& collision : config.classical.collisions) {
    if (collision.kind == "relaxation") {
      collisions.push_back(make_relaxation(collision.relaxation_time, config.system.mass,
                                           collision.equilibrium));
    } else {
      collisions.push_back(make_backscattering(collision.impurity, collision.density,
                                               config.system.mass, plan.hbar));
    }
  }
  return collisions;
}

std::unique_ptr<PointEngine> make_cpu_engine(const StudyConfig& config, const PointPlan& plan,
                                             MemberRange members) {
  if (config.system.disorder) return make_disorder_engine(config, plan, members);
  return std::make_unique<CpuEngine>(config, plan, members);
}

json run_point(const std::string& backend, const PointRunInput& input) {
  const StudyConfig& config = input.config;
  const PointPlan& plan = input.plan;
  using clock = std::chrono::steady_clock;
  std::map<std::string, double> timing;
  auto timed = [&](const std::string& stage, const std::function<void()>& work) {
    const auto start = clock::now();
    work();
    timing[stage] += std::chrono::duration<double>(clock::now() - start).count();
  };
  std::unique_ptr<PointEngine> engine;
  timed("setup", [&] {
    const MemberRange members = input.part ? input.part->members : MemberRange{};
    engine = backend == "cuda" ? make_cuda_engine(config, plan, members)
                               : make_cpu_engine(config, plan, members);
  });
  const PhaseSpaceGrid& ps = plan.phase_space;
  const GaussianSmoother smoother(ps, config.metrics.weak_width[0], config.metrics.weak_width[1]);
  OutputState state;
  state.quantum.resize(ps.cells());
  state.classical.resize(ps.cells());
  // Shared over ranks: each projects its chunk, the owner gets the sum and does the rest.
  const bool owner = input.part == nullptr || input.part->owner;
  auto reduce = [&](std::span<double> values) {
    if (input.part != nullptr) input.part->reduce(values);
  };
  timed("projection", [&] {
    engine->quantum_density(state.quantum);
    reduce(state.quantum);
  });
  if (owner) {
    require_finite_density(state.quantum, ps, "rho_q", plan.hbar, 0.0);
    engine->start_classical(state.quantum);
  }
  // Many-body kinds: N for the per-particle distances, the Thomas–Fermi distance at t = 0.
  InitialReference initial;
  if (owner) timed("metrics", [&] { initial = initial_reference(config, plan, state.quantum); });
  for (const auto& [name, value] : initial.metrics.items()) {
    require_finite_metric("initial." + name, value.get<double>(), plan.hbar, 0.0);
  }
  state.particles = initial.particles;

  const double dt_q = config.time.dt;
  const double dt_c = config.classical.dt.value_or(config.time.dt);
  const double work_q = plan.quantum_work, work_c = plan.classical_work;
  const double work = std::max(work_q + work_c, 1.0);
  MetricTable table(plan.hbar);
  FieldsRecord fields;
  double t = 0.0;
  for (double t_out : config.time.outputs) {
    const std::size_t steps_q = static_cast<std::size_t>(std::llround((t_out - t) / dt_q));
    const std::size_t steps_c = static_cast<std::size_t>(std::llround((t_out - t) / dt_c));
    timed("quantum", [&] {
      advance_in_chunks([&](double t0, std::size_t n) { engine->advance_quantum(t0, n); }, t,
                        steps_q, dt_q, input.stop, [&](double now) {
                          input.report(now, "quantum", work_q / work * now / config.time.t_end);
                        });
    });
    if (owner) timed("classical", [&] {
      advance_in_chunks([&](double t0, std::size_t n) { engine->advance_classical(t0, n); }, t,
                        steps_c, dt_c, input.stop, [&](double now) {
                          input.report(now, "classical",
                                       (work_q + work_c * now / config.time.t_end) / work);
                        });
    });
    t = t_out;
    timed("projection", [&] {
      engine->quantum_density(state.quantum);
      reduce(state.quantum);
    });
    if (owner) engine->classical_density(state.classical);
    timed("metrics", [&] {
      engine->quantum_observables(state.n, state.j);
      reduce(state.n);
      reduce(state.j);
      // A disorder point's standard errors need every batch's values on the owner.
      if (config.system.disorder && input.part != nullptr) {
        gather_disorder_batches(*engine, input.part->reduce);
      }
      if (!owner) return;
      state.t = t;
      check_finite(plan, state);
      table.at_time(t);
      add_metrics(table, config, plan, smoother, state);
      if (config.system.disorder) {
        for (const auto& [name, value] : disorder_metrics(*engine, config, plan, smoother, state.classical)) {
          table.add(name, value);
        }
      }
    });
    if (!input.fields_path.empty() && owner) {
      fields.times.push_back(t);
      fields.rho_quantum.insert(fields.rho_quantum.end(), state.quantum.begin(), state.quantum.end());
      fields.rho_classical.insert(fields.rho_classical.end(), state.classical.begin(),
                                  state.classical.end());
      // A chunk of one member is not a pure state unless the whole ensemble is that member.
      const auto psi = input.part == nullptr || plan.members == 1
                           ? engine->pure_state() : std::vector<std::complex<double>>{};
      fields.psi.insert(fields.psi.end(), psi.begin(), psi.end());
    }
  }
  if (!input.fields_path.empty() && owner) {
    timed("output", [&] {
      fields.hbar = plan.hbar;
      for (std::size_t n = 0; n < plan.grid.size; ++n) fields.x.push_back(plan.grid.x(n));
      for (std::size_t c = 0; c < ps.centres; ++c) fields.x0.push_back(ps.x0(c));
      for (std::size_t j = 0; j < ps.momenta; ++j) fields.p.push_back(ps.p(j));
      if (input.part != nullptr && input.part->fields_sink) {
        input.part->fields_sink(fields);
      } else {
        write_fields_hdf5(input.fields_path, fields);
      }
    });
  }
  json result = {{"hbar", plan.hbar},
                 {"index", input.index},
                 {"times", config.time.outputs},
                 {"metrics", table.to_json()},
                 {"timing", timing}};
  if (!initial.metrics.empty()) result["initial"] = initial.metrics;
  if (config.system.disorder) result["disorder"] = disorder_json(config, plan);
  return result;
}

}  // namespace phasespace
