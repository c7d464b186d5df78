#include "phasespace/study.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>

#define XXH_INLINE_ALL  // header only: nothing to link, for us or for users of the library
#include <xxhash.h>

#include "phasespace/errors.hpp"
#include "phasespace/kernels/fft_shift.hpp"
#include "phasespace/metrics.hpp"
#include "phasespace/output.hpp"
#include "disorder_study.hpp"
#include "input_checks.hpp"
#include "results_folder.hpp"
#include "study_engine.hpp"

namespace phasespace {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool has_thomas_fermi(const json& run) {
  return run.contains("initial") && run["initial"].contains("thomas_fermi_l1");
}

bool any_thomas_fermi(const json& runs) {
  for (const auto& run : runs) {
    if (has_thomas_fermi(run)) return true;
  }
  return false;
}

std::string point_path(const std::string& field, std::size_t index) {
  return field + "[" + std::to_string(index) + "]";
}

std::size_t whole_steps(double t, double dt) {
  return static_cast<std::size_t>(std::llround(t / dt));
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size)
                                    : 0.0;
}

std::string format_bytes(double bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  if (bytes >= 1e9) {
    out << bytes / 1e9 << " GB";
  } else {
    out << bytes / 1e6 << " MB";
  }
  return out.str();
}

// Time per cell and step of the config's Liouville solver relative to Lagrange with Strang (CPU
// reference, 768 × 107 cells, zero momentum boundary, 2 threads, quiet machine: Lagrange 5 and 9
// Strang 2.9–3.0 ns, Yoshida4 8.7–9.4 ns; spline 7.6, spectral 16.4 ns with Strang). Rough: the
// ratios move by 2–4x with the grid's shape (at 512 × 512 periodic, spline and spectral cost
// 13x and 20x a fused Lagrange step), but the quantum and classical shares of a point's work
// need their order of magnitude, not more.
double classical_cost_factor(const ClassicalConfig& classical) {
  const double scheme = classical.scheme == Scheme::yoshida4 ? 2.9 : 1.0;
  switch (classical.interpolation.kind) {
    case InterpolationKind::spline: return 2.5 * scheme;
    case InterpolationKind::spectral: return 5.5 * scheme;
    case InterpolationKind::lagrange: break;
  }
  return scheme;
}

// Device bytes of the spline and spectral sweeps: their spectrum buffer (which also holds the
// zero-padded rows) and the cuFFT work area its plans share (taken as large again).
double fft_sweep_bytes(const StudyConfig& config, const PointPlan& point, double real) {
  const InterpolationKind kind = config.classical.interpolation.kind;
  if (kind == InterpolationKind::lagrange) return 0.0;
  const auto values = kernels::fft_shift_spectrum_values(
      kind == InterpolationKind::spline ? kernels::FftShiftKind::spline
                                        : kernels::FftShiftKind::spectral,
      static_cast<long>(point.phase_space.centres), static_cast<long>(point.phase_space.momenta),
      config.classical.momentum_boundary == MomentumBoundary::zero);
  return 2.0 * (2.0 * real * static_cast<double>(values));
}

// Device bytes of one point on backend cuda: ψ and the split-step's cuFFT work area (about ψ
// again), the potential phase tables, the projector's chunk buffer and its cuFFT work area
// (bounded by the 256 MB budget each), three phase-space fields (ρ_q, ρ_c, sweep scratch), and
// the spline and spectral sweeps' spectra.
double device_memory_estimate(const StudyConfig& config, const PointPlan& point) {
  const double real = config.precision == "float" ? 4.0 : 8.0;
  const double psi = 2.0 * real * static_cast<double>(point.members * point.grid.size);
  double tables = 4.0 * 2.0 * real * static_cast<double>(point.grid.size);
  const double projector = 2.0 * 256e6;
  // ρ_q, ρ_c, the sweeps' second array, and f_eq of each relaxation towards a given one.
  double field_count = 3.0;
  for (const auto& collision : config.classical.collisions) {
    if (collision.kind == "relaxation" && collision.equilibrium) field_count += 1.0;
  }
  if (config.system.disorder) {
    // point.members counts every realisation's members (plan_disorder_point). Per realisation
    // a row of kick phases for each cached kick fraction (up to four), a row index per member;
    // the free Liouville density and its solver's second array.
    const double realisations = static_cast<double>(config.system.disorder->realisations);
    tables += 4.0 * 2.0 * real * static_cast<double>(point.grid.size) * realisations +
              8.0 * static_cast<double>(point.members);
    field_count += 2.0;
  }
  const double fields = field_count * real * static_cast<double>(point.phase_space.cells());
  // A disorder point has two classical solvers (Boltzmann and free), each with its own spectra.
  const double classical_solvers = config.system.disorder ? 2.0 : 1.0;
  // fft_callbacks on: the split-step's callback transform has a work area of its own (about ψ).
  const double callback_work = config.fft_callbacks == "on" ? psi : 0.0;
  return 2.0 * psi + callback_work + tables + projector + fields +
         classical_solvers * fft_sweep_bytes(config, point, real);
}

// Cross-checks of one ħ point that need the derived grids.
void check_point(const StudyConfig& config, const PointPlan& plan, std::size_t index) {
  const std::string where = " (at hbar[" + std::to_string(index) + "] = " +
                            format_number(plan.hbar) + ")";
  const double p_max = plan.phase_space.p(plan.phase_space.momenta - 1);
  require(std::abs(plan.phase_space.p(0)) <= plan.grid.max_momentum(plan.hbar) * (1 + 1e-12) &&
              p_max <= plan.grid.max_momentum(plan.hbar) * (1 + 1e-12),
          "resolution", std::to_string(plan.grid.size) + " points" + where,
          "the grid carries momenta up to pi*hbar/dx = " +
              format_number(plan.grid.max_momentum(plan.hbar)) +
              ", less than phase_space.p_max; raise resolution");
  // The window must span more than a wavelength at the largest compared momentum, and less
  // than a quarter of the domain (else it is not a local envelope).
  const double span = config.window.shape == WindowShape::gaussian ? 2.0 * plan.window_width
                                                                   : plan.window_width;
  const double wavelength = 2.0 * 3.141592653589793 * plan.hbar / std::abs(p_max);
  require(span > wavelength, "window.width", format_number(plan.window_width) + where,
          "the window must span more than the wavelength 2*pi*hbar/p_max = " +
              format_number(wavelength));
  require(span < 0.25 * plan.grid.length, "window.width", format_number(plan.window_width) + where,
          "the window must be narrower than a quarter of the domain (" +
              format_number(0.25 * plan.grid.length) + ")");
  for (std::size_t i = 0; i < config.classical.collisions.size(); ++i) {
    // Back-scattering pairs p with -p: known here, not only at the first classical step.
    require(config.classical.collisions[i].kind != "backscattering" ||
                plan.phase_space.momentum_symmetric(),
            "phase_space.p_max", "unset",
            point_path("classical.collisions", i) +
                " (backscattering) needs a momentum-symmetric classical grid: set phase_space.p_max");
  }
  for (std::size_t i = 0; i < config.time.outputs.size(); ++i) {
    const double t = config.time.outputs[i];
    const double dt = config.classical.dt.value_or(config.time.dt);
    require(std::abs(t / dt - std::round(t / dt)) < 1e-6 * std::max(1.0, t / dt),
            point_path("time.outputs", i), format_number(t),
            "must be a whole number of classical.dt = " + format_number(dt));
  }
  if (plan.device_memory_bytes > 0.0) {
    const double free_bytes = cuda_free_memory_bytes();
    require(plan.device_memory_bytes < 0.9 * free_bytes, "resolution",
            format_bytes(plan.device_memory_bytes) + " of device memory needed" + where,
            "more than 90% of the device's free " + format_bytes(free_bytes) +
                "; lower resolution or members, or use backend cpu");
  }
  const double memory = physical_memory_bytes();
  require(memory == 0.0 || plan.memory_bytes < 0.8 * memory, "resolution",
          format_bytes(plan.memory_bytes) + " needed" + where,
          "more than 80% of this machine's " + format_bytes(memory) +
              "; lower resolution, members or outputs");
}

}  // namespace

std::string resolve_backend(const std::string& requested) {
  if (requested == "cpu") return "cpu";
  if (requested == "cuda") {
    if (!cuda_backend_compiled()) throw NotCompiled("backend cuda not compiled in");
    std::string reason;
    if (!cuda_device_present(&reason)) {
      throw InputError("backend = \"cuda\": no CUDA device is usable here (" + reason +
                       "); use \"cpu\" or \"auto\"");
    }
    return "cuda";
  }
  require(requested == "auto", "backend", "\"" + requested + "\"", "allowed auto, cpu, cuda");
  return cuda_backend_compiled() && cuda_device_present(nullptr) ? "cuda" : "cpu";
}

StudyPlan plan_study(const StudyConfig& config, const std::string& backend_override) {
  StudyPlan plan;
  plan.backend = resolve_backend(backend_override.empty() ? config.backend : backend_override);
  require(config.precision == "double" || plan.backend == "cuda", "precision",
          "\"" + config.precision + "\"",
          "\"float\" runs on backend cuda only; the CPU reference computes in double");
  require(config.fft_callbacks == "off" || plan.backend == "cuda", "fft_callbacks",
          "\"" + config.fft_callbacks + "\"",
          "\"on\" applies to backend cuda only (cuFFT callbacks); this run's backend is " +
              plan.backend);
  const double length = config.system.x_max - config.system.x_min;
  for (std::size_t i = 0; i < config.hbar.size(); ++i) {
    PointPlan point;
    point.hbar = config.hbar[i];
    const std::size_t size =
        config.resolution.points
            ? *config.resolution.points
            : grid_size_for_momentum(length, point.hbar, config.resolution.p_cut,
                                     config.resolution.oversampling);
    point.grid = make_grid(config.system.x_min, config.system.x_max, size);
    point.window_width = config.window.width_at(point.hbar);
    const Window window{config.window.shape, point.window_width};
    PhaseSpaceOptions options;
    options.centre_stride = config.phase_space.centre_stride;
    options.fft_length = config.phase_space.fft_length;
    options.p_max = config.phase_space.p_max;
    if (config.phase_space.p_max) {  // a grid too coarse: name resolution, not phase_space.p_max
      require(*config.phase_space.p_max <= point.grid.max_momentum(point.hbar) * (1 + 1e-12),
              "resolution",
              std::to_string(point.grid.size) + " points (at hbar[" + std::to_string(i) +
                  "] = " + format_number(point.hbar) + ")",
              "the grid carries momenta up to pi*hbar/dx = " +
                  format_number(point.grid.max_momentum(point.hbar)) +
                  ", less than phase_space.p_max = " + format_number(*config.phase_space.p_max) +
                  "; raise resolution");
    }
    point.phase_space = make_phase_space_grid(point.grid, point.hbar, window, options);
    point.members = make_initial_ensemble(config.initial_state, point.grid, point.hbar).members();
    point.quantum_steps = whole_steps(config.time.t_end, config.time.dt);
    point.classical_steps =
        whole_steps(config.time.t_end, config.classical.dt.value_or(config.time.dt));
    const double psi_bytes = 16.0 * static_cast<double>(point.members * point.grid.size);
    const double cell_bytes = 8.0 * static_cast<double>(point.phase_space.cells());
    const double outputs = static_cast<double>(config.time.outputs.size());
    point.memory_bytes = 2.0 * psi_bytes + 256e6 + cell_bytes * (6.0 + (config.output.fields ? 2.0 * outputs : 0.0));
    point.quantum_work = 5.0 * static_cast<double>(point.members * point.grid.size) *
                         std::log2(static_cast<double>(point.grid.size)) *
                         static_cast<double>(point.quantum_steps);
    point.classical_work = 20.0 * classical_cost_factor(config.classical) *
                           static_cast<double>(point.phase_space.cells()) *
                           static_cast<double>(point.classical_steps);
    if (config.system.disorder) plan_disorder_point(config, point, i);
    if (plan.backend == "cuda") point.device_memory_bytes = device_memory_estimate(config, point);
    check_point(config, point, i);
    plan.points.push_back(point);
  }
  check_study_inputs(config, plan);
  return plan;
}

std::vector<std::string> distance_metric_names() {
  return {"l1", "l1_weak", "l2_rel", "density_l1", "current_l1"};
}

// Shared with the MPI driver (study_engine.hpp).
json grid_json(const PointPlan& plan) {
  const PhaseSpaceGrid& ps = plan.phase_space;
  return {{"points", plan.grid.size},
          {"dx", plan.grid.dx()},
          {"members", plan.members},
          {"window_width", plan.window_width},
          {"centres", ps.centres},
          {"centre_stride", ps.centre_stride},
          {"dx0", ps.dx0},
          {"momenta", ps.momenta},
          {"dp", ps.dp},
          {"p_min", ps.p(0)},
          {"p_max", ps.p(ps.momenta - 1)},
          {"fft_length", ps.fft_length},
          {"quantum_steps", plan.quantum_steps},
          {"classical_steps", plan.classical_steps}};
}

json fit_all(const json& runs) {
  json fits = json::object();
  if (runs.empty()) return fits;
  const json& first = runs[0];
  for (const auto& [metric, values] : first["metrics"].items()) {
    json per_time = json::array();
    for (std::size_t k = 0; k < first["times"].size(); ++k) {
      std::vector<double> hbar, error;
      for (const auto& run : runs) {
        const json& value = run["metrics"][metric][k];
        if (!value.is_number()) continue;
        hbar.push_back(run["hbar"].get<double>());
        error.push_back(value.get<double>());
      }
      const RateFit fit = fit_rate(hbar, error);
      auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
      per_time.push_back({{"time", first["times"][k]},
                          {"rate", number(fit.rate)},
                          {"stderr", number(fit.stderr_rate)},
                          {"points", fit.points}});
    }
    fits[metric] = per_time;
  }
  // The Thomas–Fermi distance (runs[i].initial, many-body kinds) exists at t = 0 only, and not
  // for a Bose gas too near degeneracy at that ħ.
  if (any_thomas_fermi(runs)) {
    std::vector<double> hbar, error;
    for (const auto& run : runs) {
      if (!has_thomas_fermi(run)) continue;
      const json& value = run["initial"]["thomas_fermi_l1"];
      if (!value.is_number()) continue;
      hbar.push_back(run["hbar"].get<double>());
      error.push_back(value.get<double>());
    }
    const RateFit fit = fit_rate(hbar, error);
    auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    fits["thomas_fermi_l1"] = json::array({{{"time", 0.0},
                                            {"rate", number(fit.rate)},
                                            {"stderr", number(fit.stderr_rate)},
                                            {"points", fit.points}}});
  }
  return fits;
}

std::string config_hash(const StudyConfig& config) {
  // XXH3's 128-bit digest is fixed by its specification, the same on every platform and
  // library version (std::hash is not); the dump is canonical (objects with sorted keys).
  const std::string canonical = config.source.dump();
  const XXH128_hash_t digest = XXH3_128bits(canonical.data(), canonical.size());
  std::ostringstream out;
  out << std::hex << std::setfill('0') << std::setw(16) << digest.high64 << std::setw(16)
      << digest.low64;
  return out.str();
}

json run_study(const StudyConfig& config, const StudyOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const StudyPlan plan = plan_study(config, options.backend_override);
  const fs::path out = options.output_dir.empty() ? fs::path(config.output.dir)
                                                  : fs::path(options.output_dir);
  const std::string out_field = options.output_dir.empty() ? "output.dir" : "--out";
  const ResultsLock lock(out, out_field);
  create_results_folder(out, out_field, config.output.fields);
  const std::string hash = config_hash(config);
  const std::vector<json> resumed = prepare_results_folder(out, config, plan, options.resume, hash);

  double total_work = 0.0;
  for (const auto& point : plan.points) total_work += point.quantum_work + point.classical_work;
  double done_work = 0.0;

  json summary = {{"config", config.source},     {"version", PHASESPACE_VERSION},
                  {"backend", plan.backend},     {"device", backend_device_name(plan.backend)},
                  {"precision", config.precision}, {"fft_callbacks", config.fft_callbacks},
                  {"runs", json::array()}};
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const PointPlan& point = plan.points[i];
    const fs::path result_path = out / "points" / ("hbar_" + std::to_string(i) + ".json");
    const double point_work = point.quantum_work + point.classical_work;
    auto report = [&](double t, const std::string& stage, double fraction) {
      if (!options.progress) return;
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double done = done_work + fraction * point_work;
      const double eta = done > 0.0 ? elapsed * (total_work - done) / done : 0.0;
      options.progress({i, plan.points.size(), point.hbar, t, config.time.t_end, elapsed, eta, stage});
    };
    if (!resumed[i].is_null()) {
      summary["runs"].push_back(resumed[i]);
      done_work += point_work;
      report(config.time.t_end, "skipped (resumed)", 0.0);
      continue;
    }
    PointRunInput input{config, point, i, config.output.fields
                                              ? (out / "fields" / ("hbar_" + std::to_string(i) + ".h5")).string()
                                              : std::string(),
                        options.stop, report};
    json run = run_point(plan.backend, input);
    run["grid"] = grid_json(point);
    json stored = run;
    stored["config_hash"] = hash;
    write_text_atomically(result_path.string(), stored.dump(1) + "\n");
    summary["runs"].push_back(run);
    summary["fits"] = fit_all(summary["runs"]);
    write_text_atomically((out / "summary.json").string(), summary.dump(1) + "\n");
    done_work += point_work;
    report(config.time.t_end, "done", 0.0);
  }
  summary["fits"] = fit_all(summary["runs"]);
  write_text_atomically((out / "summary.json").string(), summary.dump(1) + "\n");
  if (config.output.figures) {
    if (options.stop != nullptr && options.stop->load()) {
      throw Interrupted("interrupted before drawing the figures; every point is kept");
    }
    summary["figures"] = draw_figures(out.string());
    write_text_atomically((out / "summary.json").string(), summary.dump(1) + "\n");
  }
  return summary;
}

std::string format_summary_table(const json& summary) {
  std::ostringstream table;
  // Disorder studies carry statistical errors (<metric>_stderr): shown as value+-error.
  bool errors = false;
  for (const auto& run : summary["runs"]) errors = errors || run["metrics"].contains("l1_stderr");
  const int width = errors ? 21 : 13;
  table << std::setw(10) << "hbar" << std::setw(9) << "t";
  for (const auto& name : distance_metric_names()) table << std::setw(width) << name;
  table << "\n";
  table << std::scientific << std::setprecision(3);
  for (const auto& run : summary["runs"]) {
    for (std::size_t k = 0; k < run["times"].size(); ++k) {
      table << std::setw(10) << run["hbar"].get<double>() << std::setw(9) << std::defaultfloat
            << run["times"][k].get<double>() << std::scientific;
      for (const auto& name : distance_metric_names()) {
        const json& value = run["metrics"][name][k];
        table << std::setw(width);
        const json& error = run["metrics"].contains(name + "_stderr")
                                ? run["metrics"][name + "_stderr"][k] : json();
        if (value.is_number() && error.is_number()) {
          std::ostringstream both;
          both << std::scientific << std::setprecision(3) << value.get<double>() << "+-"
               << std::setprecision(1) << error.get<double>();
          table << both.str();
        } else if (value.is_number()) {
          table << value.get<double>();
        } else {
          table << "-";
        }
      }
      table << "\n";
    }
  }
  if (!summary["runs"].empty() && summary["runs"][0].contains("disorder")) {
    table << format_disorder_table(summary);
  }
  if (summary.contains("fits") && summary["runs"].size() >= 2) {
    table << "\nfitted rates beta (err ~ hbar^beta) +- standard error\n";
    table << std::setw(19) << "t";
    for (const auto& name : distance_metric_names()) table << std::setw(20) << name;
    table << "\n" << std::fixed << std::setprecision(3);
    const json& fits = summary["fits"];
    for (std::size_t k = 0; k < fits["l1"].size(); ++k) {
      table << std::setw(19) << std::defaultfloat << fits["l1"][k]["time"].get<double>() << std::fixed;
      for (const auto& name : distance_metric_names()) {
        const json& fit = fits[name][k];
        std::ostringstream cell;
        cell << std::fixed << std::setprecision(3);
        if (fit["rate"].is_number()) {
          cell << fit["rate"].get<double>() << " +- "
               << (fit["stderr"].is_number() ? fit["stderr"].get<double>() : 0.0);
        } else {
          cell << "-";
        }
        table << std::setw(20) << cell.str();
      }
      table << "\n";
    }
  }
  // Many-body kinds: particles and the Thomas–Fermi distance at t = 0 per ħ, and its rate.
  if (any_thomas_fermi(summary["runs"])) {
    table << "\nat t = 0" << std::setw(14) << "particles" << std::setw(18) << "thomas_fermi_l1\n";
    for (const auto& run : summary["runs"]) {
      table << std::scientific << std::setprecision(3) << std::setw(8) << run["hbar"].get<double>()
            << std::defaultfloat << std::setw(14) << run["initial"]["particles"].get<double>();
      if (has_thomas_fermi(run)) {
        table << std::scientific << std::setw(17) << run["initial"]["thomas_fermi_l1"].get<double>();
      } else {
        table << std::setw(17) << "-";
      }
      table << "\n";
    }
    if (summary.contains("fits") && summary["fits"].contains("thomas_fermi_l1")) {
      const json& fit = summary["fits"]["thomas_fermi_l1"][0];
      if (fit["rate"].is_number()) {
        table << std::fixed << std::setprecision(3) << "thomas_fermi_l1 rate beta = "
              << fit["rate"].get<double>() << " +- "
              << (fit["stderr"].is_number() ? fit["stderr"].get<double>() : 0.0) << "\n";
      }
    }
  }
  return table.str();
}

}  // namespace phasespace
