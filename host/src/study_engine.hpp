#pragma once
// The study's inner pieces: one ħ point run by a backend engine, metrics on the host.
#include <atomic>
#include <complex>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/study.hpp"

namespace phasespace {

bool cuda_backend_compiled();
bool cuda_device_present(std::string* reason);
std::string backend_device_name(const std::string& backend);
// Free memory on the CUDA device (0 when the backend is not compiled in or has no device).
double cuda_free_memory_bytes();
std::string resolve_backend(const std::string& requested);

// What a backend does for one ħ point; the fields it holds stay on its side (the device for
// CUDA) and only densities and observables at output times come back.
class PointEngine {
 public:
  virtual ~PointEngine() = default;
  virtual void advance_quantum(double t_start, std::size_t steps) = 0;
  virtual void advance_classical(double t_start, std::size_t steps) = 0;
  // The projected quantum density now (also copied into the classical field at t = 0).
  virtual void quantum_density(std::span<double> density) = 0;
  virtual void start_classical(std::span<const double> density) = 0;
  virtual void classical_density(std::span<double> density) = 0;
  // |ψ|² and the current (weighted over the ensemble) on the quantum grid.
  virtual void quantum_observables(std::vector<double>& density, std::vector<double>& current) = 0;
  // ψ of a pure state (empty for a mixed one), for the fields file.
  virtual std::vector<std::complex<double>> pure_state() = 0;
};

std::unique_ptr<PointEngine> make_cpu_engine(const StudyConfig& config, const PointPlan& plan);
std::unique_ptr<PointEngine> make_cuda_engine(const StudyConfig& config, const PointPlan& plan);

struct PointRunInput {
  const StudyConfig& config;
  const PointPlan& plan;
  std::size_t index;
  std::string fields_path;  // empty: no fields
  const std::atomic<bool>* stop;
  std::function<void(double t, const std::string& stage, double fraction)> report;
};

// Runs one point and returns runs[i] of summary.json (without "grid").
nlohmann::json run_point(const std::string& backend, const PointRunInput& input);

// Builds the collision operators of the config for one point.
std::vector<std::shared_ptr<const CollisionOperator>> make_collisions(const StudyConfig& config,
                                                                      const PointPlan& plan);

// Calls scripts/plot_study.py with Debian's python3; throws Error with its output on failure.
void draw_figures(const std::string& results_dir);

}  // namespace phasespace
