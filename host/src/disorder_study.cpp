#include "disorder_study.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "fftw_setup.hpp"
#include "phasespace/disorder.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/projection.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace {

namespace {

using nlohmann::json;

// The smallest impurity width the quantum grid resolves, in grid spacings: the sampled Gaussian's
// spectrum at the grid's cutoff πħ/dx is then e^{−(1.5π)²/2} ≈ 1.5e-5 of its peak.
constexpr double resolved_width_points = 1.5;

// Fraction with p > 0 of a momentum density (p = 0 counts half).
double p_plus_fraction(const PhaseSpaceGrid& grid, std::span<const double> density) {
  double plus = 0.0, total = 0.0;
  for (std::size_t c = 0; c < grid.centres; ++c) {
    for (std::size_t j = 0; j < grid.momenta; ++j) {
      const double value = density[c * grid.momenta + j];
      const double p = grid.p(j);
      total += value;
      plus += p > 0.0 ? value : (p == 0.0 ? 0.5 * value : 0.0);
    }
  }
  return total > 0.0 ? plus / total : 0.0;
}

// One batch of realisations at the output time just measured: its own average's projected
// density, n, j and P₊ (the standard errors are over these), and its share R_b / R.
struct BatchValues {
  std::vector<double> density, n, j;
  double p_plus = 0.0;
  double weight = 0.0;  // R_b / R
};

// Realisations [first, end) of this process: the whole point, or under MPI a chunk of whole
// batches (PointPlan::block_boundaries; parallel.hpp). Each batch's values are computed by the
// one process that holds it; gather_disorder_batches brings them all to the point's owner.
class DisorderEngine final : public PointEngine {
 public:
  DisorderEngine(const StudyConfig& config, const PointPlan& plan, MemberRange members)
      : config_(config),
        plan_(plan),
        disorder_(derive_disorder(*config.system.disorder, config.system.mass, plan.hbar)),
        potential_(config.system.potential, config.system.potential_derivative, "system.potential"),
        initial_(make_point_ensemble(config, plan, {})),
        ensemble_(make_disorder_ensemble(members)),
        propagator_(plan.grid, potential_, propagator_options(config, plan), ensemble_.members(),
                    make_member_potentials()),
        projector_(plan.grid, Window{config.window.shape, plan.window_width}, plan.phase_space),
        boltzmann_(plan.phase_space, potential_, liouville_options(config), with_impurities()),
        free_(plan.phase_space, potential_, liouville_options(config), make_collisions(config, plan)),
        classical_(plan.phase_space.cells()),
        free_density_(plan.phase_space.cells()) {}

  void advance_quantum(double t_start, std::size_t steps) override {
    propagator_.advance(ensemble_, t_start, steps);
  }
  void advance_classical(double t_start, std::size_t steps) override {
    boltzmann_.advance(classical_, t_start, steps);
    free_.advance(free_density_, t_start, steps);
  }
  // This process's batches only: under MPI the chunks' sums add up to the whole average.
  void quantum_density(std::span<double> density) override {
    std::fill(density.begin(), density.end(), 0.0);
    for_each_batch([&](std::size_t b, const Ensemble& batch) {
      batches_[b].density.resize(density.size());
      projector_.project(batch, batches_[b].density);
      for (std::size_t i = 0; i < density.size(); ++i) {
        density[i] += batches_[b].weight * batches_[b].density[i];
      }
    });
  }
  void start_classical(std::span<const double> density) override {
    classical_.assign(density.begin(), density.end());
    free_density_.assign(density.begin(), density.end());
  }
  void classical_density(std::span<double> density) override {
    std::copy(classical_.begin(), classical_.end(), density.begin());
  }
  void quantum_observables(std::vector<double>& density, std::vector<double>& current) override {
    density.assign(plan_.grid.size, 0.0);
    current.assign(plan_.grid.size, 0.0);
    for_each_batch([&](std::size_t b, const Ensemble& batch) {
      BatchValues& values = batches_[b];
      values.n = position_density(batch);
      values.j = current_density(batch, plan_.hbar, config_.system.mass);
      values.p_plus = momentum_plus_fraction(batch);
      for (std::size_t i = 0; i < density.size(); ++i) {
        density[i] += values.weight * values.n[i];
        current[i] += values.weight * values.j[i];
      }
    });
  }
  std::vector<std::complex<double>> pure_state() override { return {}; }

  // Every batch's values (density, n, j, p_plus) of the last output time, each batch where its
  // process put it and zeros elsewhere, summed by `reduce` onto the owner: adding zeros is
  // exact, so the owner holds the very numbers one process computes.
  void gather_batches(const std::function<void(std::span<double>)>& reduce) {
    const std::size_t cells = plan_.phase_space.cells(), size = plan_.grid.size;
    const std::size_t stride = cells + 2 * size + 1;
    std::vector<double> all(batches_.size() * stride, 0.0);
    for (std::size_t b = first_batch_; b < end_batch_; ++b) {
      const BatchValues& values = batches_[b];
      double* slot = all.data() + b * stride;
      std::copy(values.density.begin(), values.density.end(), slot);
      std::copy(values.n.begin(), values.n.end(), slot + cells);
      std::copy(values.j.begin(), values.j.end(), slot + cells + size);
      slot[cells + 2 * size] = values.p_plus;
    }
    reduce(all);
    for (std::size_t b = 0; b < batches_.size(); ++b) {
      BatchValues& values = batches_[b];
      const double* slot = all.data() + b * stride;
      values.density.assign(slot, slot + cells);
      values.n.assign(slot + cells, slot + cells + size);
      values.j.assign(slot + cells + size, slot + cells + 2 * size);
      values.p_plus = slot[cells + 2 * size];
    }
  }

  const std::vector<BatchValues>& batches() const { return batches_; }
  const std::vector<double>& free_density() const { return free_density_; }

 private:
  std::vector<std::shared_ptr<const CollisionOperator>> with_impurities() const {
    auto collisions = make_collisions(config_, plan_);
    collisions.push_back(make_impurity_scattering(disorder_.rate, disorder_.impurity,
                                                  disorder_.density, config_.system.mass,
                                                  plan_.hbar));
    return collisions;
  }
  // Member r·M0 + k of the point: initial member k in realisation r, weight w_k / R (batches
  // contiguous). This process holds the members of batches [first_batch_, end_batch_).
  Ensemble make_disorder_ensemble(MemberRange members) {
    const std::size_t realisations = config_.system.disorder->realisations;
    const std::size_t m0 = initial_.members();
    const std::vector<std::size_t>& bounds = plan_.block_boundaries;
    const std::size_t begin = members.begin, end = std::min(members.end, plan_.members);
    const auto first = std::find(bounds.begin(), bounds.end(), begin);
    const auto last = std::find(bounds.begin(), bounds.end(), end);
    std::string allowed;
    for (std::size_t bound : bounds) allowed += (allowed.empty() ? "" : ", ") + std::to_string(bound);
    require(first != bounds.end() && last != bounds.end() && first < last, "members",
            std::to_string(begin) + ".." + std::to_string(end),
            "a disorder point is shared over ranks in whole batches of realisations: a chunk "
            "begins and ends at one of " + allowed);
    first_batch_ = static_cast<std::size_t>(first - bounds.begin());
    end_batch_ = static_cast<std::size_t>(last - bounds.begin());
    first_realisation_ = begin / m0;
    end_realisation_ = end / m0;
    Ensemble ensemble(plan_.grid, 0);
    ensemble.psi.reserve((end - begin) * plan_.grid.size);
    for (std::size_t r = first_realisation_; r < end_realisation_; ++r) {
      for (std::size_t k = 0; k < m0; ++k) {
        ensemble.add(initial_.weights[k] / static_cast<double>(realisations), initial_.member(k));
      }
    }
    batches_.resize(bounds.size() - 1);
    for (std::size_t b = 0; b < batches_.size(); ++b) {
      const std::size_t batch_realisations = (bounds[b + 1] - bounds[b]) / m0;
      batches_[b].weight = static_cast<double>(batch_realisations) / static_cast<double>(realisations);
    }
    return ensemble;
  }
  // One potential per realisation this process holds; realisation r draws from its own seed,
  // so a realisation's impurities do not depend on which process runs it.
  MemberPotentials make_member_potentials() const {
    const DisorderConfig& config = *config_.system.disorder;
    MemberPotentials potentials;
    for (std::size_t r = first_realisation_; r < end_realisation_; ++r) {
      std::mt19937_64 engine = realisation_engine(config.seed, r);
      const auto positions = poisson_positions(engine, disorder_.density, plan_.grid.x_min,
                                               plan_.grid.length);
      potentials.extra.push_back(impurity_potential(plan_.grid, disorder_.impurity, positions));
      for (std::size_t k = 0; k < initial_.members(); ++k) {
        potentials.of_member.push_back(r - first_realisation_);
      }
    }
    return potentials;
  }

  // Calls work(b, ensemble of batch b) for this process's batches, with the batch's weights
  // renormalised to the whole trace.
  template <typename Work>
  void for_each_batch(Work&& work) {
    const std::size_t offset = plan_.block_boundaries[first_batch_];  // first member held here
    const std::size_t size = plan_.grid.size;
    for (std::size_t b = first_batch_; b < end_batch_; ++b) {
      const std::size_t first = plan_.block_boundaries[b] - offset;
      const std::size_t last = plan_.block_boundaries[b + 1] - offset;
      Ensemble batch(plan_.grid, 0);
      batch.psi.assign(ensemble_.psi.begin() + static_cast<std::ptrdiff_t>(first * size),
                       ensemble_.psi.begin() + static_cast<std::ptrdiff_t>(last * size));
      for (std::size_t m = first; m < last; ++m) {
        batch.weights.push_back(ensemble_.weights[m] / batches_[b].weight);
      }
      work(b, batch);
    }
  }

  // Σ_k w_k Σ_{p>0} |ψ̂_k(p)|² / Σ_k w_k ‖ψ_k‖² exactly from the FFT (p = 0 counts half).
  double momentum_plus_fraction(const Ensemble& batch) {
    const std::size_t size = plan_.grid.size;
    if (!fft_) {
      AlignedVector<complex> scratch(size);
      auto lock = detail::fftw_planner_lock();
      auto* data = reinterpret_cast<fftw_complex*>(scratch.data());
      fft_ = fftw_plan_dft_1d(static_cast<int>(size), data, data, FFTW_FORWARD, FFTW_ESTIMATE);
      buffer_ = std::move(scratch);
    }
    double plus = 0.0, total = 0.0;
    for (std::size_t k = 0; k < batch.members(); ++k) {
      const auto member = batch.member(k);
      std::copy(member.begin(), member.end(), buffer_.begin());
      auto* data = reinterpret_cast<fftw_complex*>(buffer_.data());
      fftw_execute_dft(fft_, data, data);
      for (std::size_t i = 0; i < size; ++i) {
        const long index = plan_.grid.signed_index(i);
        const double value = batch.weights[k] * std::norm(buffer_[i]);
        total += value;
        plus += index > 0 ? value : (index == 0 ? 0.5 * value : 0.0);
      }
    }
    return total > 0.0 ? plus / total : 0.0;
  }

 public:
  ~DisorderEngine() override {
    if (fft_) fftw_destroy_plan(fft_);
  }
  DisorderEngine(const DisorderEngine&) = delete;
  DisorderEngine& operator=(const DisorderEngine&) = delete;

 private:
  const StudyConfig& config_;
  PointPlan plan_;
  DisorderPoint disorder_;
  Potential potential_;
  Ensemble initial_;
  std::vector<BatchValues> batches_;
  std::size_t first_batch_ = 0, end_batch_ = 0;              // the batches held here
  std::size_t first_realisation_ = 0, end_realisation_ = 0;  // their realisations
  Ensemble ensemble_;
  SplitStepPropagator propagator_;
  Projector projector_;
  LiouvilleSolver boltzmann_;
  LiouvilleSolver free_;
  std::vector<double> classical_;
  std::vector<double> free_density_;
  fftw_plan fft_ = nullptr;
  AlignedVector<complex> buffer_;
};

double standard_error(const std::vector<double>& values) {
  const double count = static_cast<double>(values.size());
  if (values.size() < 2) return 0.0;
  double mean = 0.0;
  for (double v : values) mean += v / count;
  double variance = 0.0;
  for (double v : values) variance += (v - mean) * (v - mean) / (count - 1.0);
  return std::sqrt(variance / count);
}

}  // namespace

void plan_disorder_point(const StudyConfig& config, PointPlan& point, std::size_t index) {
  const DisorderConfig& disorder = *config.system.disorder;
  const std::string where = " (at hbar[" + std::to_string(index) + "] = " + format_number(point.hbar) + ")";
  const DisorderPoint derived = derive_disorder(disorder, config.system.mass, point.hbar);
  require(std::isfinite(derived.density) && derived.density > 0.0, "system.disorder.density",
          format_number(derived.density) + where, "must be a finite number > 0");
  if (derived.impurity.kind != ImpurityShape::Kind::expression) {
    const double dx = point.grid.dx();
    require(derived.impurity.width >= resolved_width_points * dx, "system.disorder.impurity.width",
            format_number(derived.impurity.width) + where,
            "the grid resolves impurities of width >= " + format_number(resolved_width_points) +
                " dx = " + format_number(resolved_width_points * dx) +
                "; widen the impurity or raise resolution");
  } else {
    require(derived.impurity.width >= 4.0 * point.grid.dx(), "system.disorder.impurity.width",
            format_number(derived.impurity.width) + where,
            "the expression's support must span >= 4 grid points; raise resolution");
  }
  require(impurity_range(derived.impurity) < 0.5 * point.grid.length, "system.disorder.impurity.width",
          format_number(derived.impurity.width) + where, "the impurity must be shorter than half the domain");
  require(point.phase_space.momentum_symmetric(), "phase_space.p_max", "unset",
          "system.disorder needs a momentum-symmetric classical grid: set phase_space.p_max");
  if (derived.rate == ScatteringRate::born && derived.born_parameter > 0.3) {
    std::cerr << "warning: system.disorder.rate = \"born\"" << where << ": the Born parameter beta = "
              << derived.born_parameter << " at p_ref is not small (the exact |r|^2 = "
              << derived.reflection << "); the golden rule overstates the rate; use rate \"t_matrix\"\n";
  }
  if (derived.impurity.kind == ImpurityShape::Kind::delta) {
    // The quantum side uses a Gaussian of width a for δ: its |Ṽ(2p)|² is e^{−4p²a²/ħ²} of δ's.
    const double u = 2.0 * derived.reference_momentum * derived.impurity.width / point.hbar;
    if (u * u > 0.05) {
      std::cerr << "warning: system.disorder.impurity.width" << where << ": the Gaussian standing for "
                << "the delta impurity has |V(2p_ref)|^2 = " << std::exp(-u * u)
                << " of the delta's; narrow it (and raise resolution) or use shape \"gaussian\"\n";
    }
  }
  std::cerr << describe(derived, point.hbar, point.grid.length) << "\n";
  const std::size_t initial = point.members;
  point.members *= disorder.realisations;
  // Batch b is realisations [b·R/B, (b+1)·R/B): the blocks MPI ranks hold whole (parallel.hpp).
  point.block_boundaries.clear();
  for (std::size_t b = 0; b <= disorder.batches; ++b) {
    point.block_boundaries.push_back(b * disorder.realisations / disorder.batches * initial);
  }
  const double extra = static_cast<double>(point.members) / static_cast<double>(initial);
  // ψ of the added members (and a batch's copy at output times), and per realisation one
  // potential (8 bytes a point) and up to four cached kick-phase tables (16 bytes a point).
  const double n = static_cast<double>(point.grid.size);
  point.memory_bytes += 2.0 * 16.0 * n * static_cast<double>(point.members - initial) +
                        (8.0 + 4.0 * 16.0) * n * static_cast<double>(disorder.realisations);
  point.quantum_work *= extra;
}

std::unique_ptr<PointEngine> make_disorder_engine(const StudyConfig& config, const PointPlan& plan,
                                                  MemberRange members) {
  return std::make_unique<DisorderEngine>(config, plan, members);
}

void gather_disorder_batches(PointEngine& engine, const std::function<void(std::span<double>)>& reduce) {
  dynamic_cast<DisorderEngine&>(engine).gather_batches(reduce);
}

std::vector<std::pair<std::string, double>> disorder_metrics(PointEngine& engine,
                                                             const StudyConfig& config,
                                                             const PointPlan& plan,
                                                             const GaussianSmoother& smoother,
                                                             std::span<const double> classical) {
  auto& disorder = dynamic_cast<DisorderEngine&>(engine);
  const PhaseSpaceGrid& ps = plan.phase_space;
  const Window window{config.window.shape, plan.window_width};
  const double mass = config.system.mass;
  const std::vector<double> no_potential(ps.centres, 0.0);
  std::map<std::string, std::vector<double>> per_batch;
  const auto density_c = density_marginal(ps, classical);
  const auto current_c = current_marginal(ps, classical, mass);
  for (const BatchValues& batch : disorder.batches()) {
    per_batch["l1"].push_back(l1_distance(ps, batch.density, classical));
    per_batch["l1_weak"].push_back(weak_l1_distance(smoother, ps, batch.density, classical));
    per_batch["l2_rel"].push_back(relative_l2_distance(ps, classical, batch.density));
    per_batch["density_l1"].push_back(
        line_l1_distance(ps, density_c, smooth_at_centres(plan.grid, window, ps, batch.n)));
    per_batch["current_l1"].push_back(
        line_l1_distance(ps, current_c, smooth_at_centres(plan.grid, window, ps, batch.j)));
    per_batch["p_plus_q"].push_back(batch.p_plus);
    per_batch["mean_x_q"].push_back(phase_space_moments(ps, batch.density, mass, no_potential).mean_x);
  }
  std::vector<std::pair<std::string, double>> metrics;
  for (const auto& [name, values] : per_batch) metrics.emplace_back(name + "_stderr", standard_error(values));
  const auto& free = disorder.free_density();
  double p_plus = 0.0;
  for (const BatchValues& batch : disorder.batches()) p_plus += batch.weight * batch.p_plus;
  metrics.emplace_back("p_plus_q", p_plus);
  metrics.emplace_back("p_plus_c", p_plus_fraction(ps, classical));
  metrics.emplace_back("p_plus_free", p_plus_fraction(ps, free));
  metrics.emplace_back("mean_x_free", phase_space_moments(ps, free, mass, no_potential).mean_x);
  std::vector<double> quantum(ps.cells(), 0.0);
  for (const BatchValues& batch : disorder.batches()) {
    for (std::size_t i = 0; i < quantum.size(); ++i) quantum[i] += batch.weight * batch.density[i];
  }
  metrics.emplace_back("l1_free", l1_distance(ps, quantum, free));
  return metrics;
}

json disorder_json(const StudyConfig& config, const PointPlan& plan) {
  json result = to_json(derive_disorder(*config.system.disorder, config.system.mass, plan.hbar));
  result["realisations"] = config.system.disorder->realisations;
  result["batches"] = config.system.disorder->batches;
  result["seed"] = config.system.disorder->seed;
  return result;
}

std::string format_disorder_table(const json& summary) {
  std::ostringstream table;
  table << "\ndisorder average (quantum, +- standard error over batches) vs Boltzmann vs free "
           "Liouville; tau = 1/W(p_ref)\n";
  table << std::setw(10) << "hbar" << std::setw(9) << "t" << std::setw(8) << "t/tau"
        << std::setw(20) << "P+ quantum" << std::setw(11) << "Boltzmann" << std::setw(11) << "free"
        << std::setw(22) << "<x> quantum" << std::setw(11) << "Boltzmann" << std::setw(11) << "free"
        << "\n";
  for (const auto& run : summary["runs"]) {
    if (!run.contains("disorder") || !run["metrics"].contains("p_plus_q")) continue;
    const double tau = run["disorder"]["scattering_time"].get<double>();
    const json& m = run["metrics"];
    auto value = [&](const std::string& name, std::size_t k) {
      return m.contains(name) && m[name][k].is_number() ? m[name][k].get<double>() : NAN;
    };
    for (std::size_t k = 0; k < run["times"].size(); ++k) {
      const double t = run["times"][k].get<double>();
      std::ostringstream pq, xq;
      pq << std::fixed << std::setprecision(4) << value("p_plus_q", k) << " +- "
         << value("p_plus_q_stderr", k);
      xq << std::fixed << std::setprecision(4) << value("mean_x_q", k) << " +- "
         << value("mean_x_q_stderr", k);
      table << std::setw(10) << std::defaultfloat << run["hbar"].get<double>() << std::setw(9) << t
            << std::setw(8) << std::setprecision(3) << t / tau << std::setprecision(6)
            << std::setw(20) << pq.str() << std::fixed << std::setprecision(4) << std::setw(11)
            << value("p_plus_c", k) << std::setw(11) << value("p_plus_free", k) << std::setw(22)
            << xq.str() << std::setw(11) << value("mean_x_c", k) << std::setw(11)
            << value("mean_x_free", k) << std::defaultfloat << std::setprecision(6) << "\n";
    }
  }
  return table.str();
}

}  // namespace phasespace
