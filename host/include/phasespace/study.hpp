#pragma once
// The ħ → 0 convergence study: for every ħ, propagate the quantum ensemble, project it, evolve
// the projected initial density classically, and compare the two at the output times.
#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/config.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {

// What one ħ point will use, derived before any work (shown by `phasespace validate`).
struct PointPlan {
  double hbar = 0.0;
  Grid grid;
  std::size_t members = 0;
  double window_width = 0.0;
  PhaseSpaceGrid phase_space;
  std::size_t quantum_steps = 0;
  std::size_t classical_steps = 0;
  double memory_bytes = 0.0;      // peak host memory estimate
  double device_memory_bytes = 0.0;  // peak device memory estimate (backend cuda), else 0
  // Estimated work, both in about the flops of the CPU reference (one unit for progress, ETA,
  // `validate` and the MPI work division): 5 · members · N · log2 N · steps for the split-step's
  // transforms; 20 · cells · steps for a Lagrange Strang Liouville step, times the measured cost
  // of the config's interpolation and scheme relative to it (classical_cost_factor, study.cpp).
  double quantum_work = 0.0;
  double classical_work = 0.0;
  // The blocks of members that one MPI rank runs whole (parallel.hpp): block b is members
  // [block_boundaries[b], block_boundaries[b + 1]), from 0 to members. Empty: every member is a
  // block. A disorder point's blocks are its batches of realisations (the standard errors are
  // over batches, so each batch's values are computed in one piece).
  std::vector<std::size_t> block_boundaries;
};

struct StudyPlan {
  std::string backend;  // the backend that will run: cpu or cuda
  std::vector<PointPlan> points;
};

// Derives and cross-checks every ħ point (grid carries the momenta, window between the
// wavelength and the domain, phase-space grid consistent, memory within the machine).
// `backend_override` replaces config.backend when not empty. Throws InputError naming the path.
StudyPlan plan_study(const StudyConfig& config, const std::string& backend_override = "");

struct Progress {
  std::size_t point = 0;   // 0-based ħ index
  std::size_t points = 0;
  double hbar = 0.0;
  double t = 0.0;          // simulated time reached in this point
  double t_end = 0.0;
  double elapsed = 0.0;    // wall seconds since the study started
  double eta = 0.0;        // wall seconds left (estimate; 0 when unknown)
  std::string stage;       // "quantum", "classical", "metrics", "done", "skipped (resumed)"
};

struct StudyOptions {
  std::string backend_override;  // "", "auto", "cpu", "cuda"
  std::string output_dir;        // overrides config.output.dir when not empty
  bool resume = false;           // skip points whose result file exists and matches
  std::function<void(const Progress&)> progress;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop between steps
};

// Thrown when StudyOptions::stop was set; finished points are on disk.
struct Interrupted : Error {
  using Error::Error;
};

// Runs the study, writing results as it goes (points/hbar_<i>.json, fields/hbar_<i>.h5,
// summary.json, figures/) and returns the summary (the content of summary.json).
nlohmann::json run_study(const StudyConfig& config, const StudyOptions& options = {});

// The metric names of summary.json's runs[i].metrics, in table order.
std::vector<std::string> distance_metric_names();

// Human-readable table of the summary: per ħ and output time the distances, then the fits.
std::string format_summary_table(const nlohmann::json& summary);

}  // namespace phasespace
