#include "disorder_study.hpp"

#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "disorder_engine.hpp"
#include "phasespace/disorder.hpp"
#include "phasespace/errors.hpp"

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
  return std::make_unique<DisorderEngine<CpuDisorderBackend>>(config, plan, members);
}

void gather_disorder_batches(PointEngine& engine, const std::function<void(std::span<double>)>& reduce) {
  dynamic_cast<DisorderEngineBase&>(engine).gather_batches(reduce);
}

std::vector<std::pair<std::string, double>> disorder_metrics(PointEngine& engine,
                                                             const StudyConfig& config,
                                                             const PointPlan& plan,
                                                             const GaussianSmoother& smoother,
                                                             std::span<const double> classical) {
  auto& disorder = dynamic_cast<DisorderEngineBase&>(engine);
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
  const std::vector<double> free = disorder.free_density();
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
