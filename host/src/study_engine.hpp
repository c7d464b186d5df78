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

#include "phasespace/output.hpp"
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

// Members [begin, end) of a point's ensemble: one rank's chunk when a point is shared over MPI
// ranks (parallel.hpp). Weights keep their values in the whole ensemble (not renormalised), so
// the chunks' projected densities and observables add up to those of the whole ensemble.
struct MemberRange {
  std::size_t begin = 0;
  std::size_t end = static_cast<std::size_t>(-1);  // clipped to the ensemble's size
};
Ensemble make_point_ensemble(const StudyConfig& config, const PointPlan& plan, MemberRange members);

std::unique_ptr<PointEngine> make_cpu_engine(const StudyConfig& config, const PointPlan& plan,
                                             MemberRange members = {});
std::unique_ptr<PointEngine> make_cuda_engine(const StudyConfig& config, const PointPlan& plan,
                                              MemberRange members = {});

// This process's part in a point shared over ranks (study_mpi.cpp); absent: the whole point.
struct PointPart {
  MemberRange members;
  bool owner = true;  // runs the classical solver and the metrics, and receives the sums
  // Sums the partial values (densities, n, j; a disorder point's per-batch values, each batch
  // from the one rank that holds it) of all chunks onto the owner, in place.
  std::function<void(std::span<double>)> reduce;
  // Takes the owner's fields record instead of writing it to PointRunInput::fields_path.
  std::function<void(const FieldsRecord&)> fields_sink;
};

struct PointRunInput {
  const StudyConfig& config;
  const PointPlan& plan;
  std::size_t index;
  std::string fields_path;  // empty: no fields
  const std::atomic<bool>* stop;
  std::function<void(double t, const std::string& stage, double fraction)> report;
  const PointPart* part = nullptr;  // set when the point is shared over MPI ranks
};

// Runs one point and returns runs[i] of summary.json (without "grid").
nlohmann::json run_point(const std::string& backend, const PointRunInput& input);

// The propagator's and the classical solver's options for one point, as the config sets them.
PropagatorOptions propagator_options(const StudyConfig& config, const PointPlan& plan);
LiouvilleOptions liouville_options(const StudyConfig& config);

// Builds the collision operators of the config for one point.
std::vector<std::shared_ptr<const CollisionOperator>> make_collisions(const StudyConfig& config,
                                                                      const PointPlan& plan);

// Pieces of run_study that the MPI driver (study_mpi.cpp) shares: the resume key, the grid
// block of runs[i], and the rate fits over the runs.
std::string config_hash(const StudyConfig& config);
nlohmann::json grid_json(const PointPlan& plan);
nlohmann::json fit_all(const nlohmann::json& runs);

// Draws figures/*.png with plot_study.py (figures.cpp says where it is found) and Debian's
// python3. Returns summary.json's "figures": {"drawn": true}, or {"drawn": false, "error":
// what failed, with the script's output}: a figure that cannot be drawn does not fail the run.
nlohmann::json draw_figures(const std::string& results_dir);

}  // namespace phasespace
