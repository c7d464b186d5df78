#pragma once
// The disorder study (system.disorder, physics.md "Collisions"): the quantum ensemble is
// (initial members) × (realisations), each realisation with its own Poisson set of impurities;
// the classical side runs Boltzmann with the impurity rate and, for contrast, collisionless
// Liouville. Realisations are split into batches; the spread of the per-batch metrics gives the
// statistical error (`<metric>_stderr`).
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/metrics.hpp"
#include "study_engine.hpp"

namespace phasespace {

// plan_study's part: members × realisations, memory and work, the checks (impurity resolved by
// the grid, born where the Born parameter is not small: a warning), and the derived values
// printed on stderr. Throws InputError naming system.disorder.*.
void plan_disorder_point(const StudyConfig& config, PointPlan& point, std::size_t index);

std::unique_ptr<PointEngine> make_disorder_engine(const StudyConfig& config, const PointPlan& plan,
                                                  MemberRange members);

// Under MPI (a point shared over ranks in whole batches): brings every batch's values of the
// output time just measured to the owner through `reduce` (PointPart::reduce); every rank of
// the group calls it, after quantum_density and quantum_observables.
void gather_disorder_batches(PointEngine& engine, const std::function<void(std::span<double>)>& reduce);

// Extra metrics of a disorder point at the output time just measured by `engine` (after
// quantum_density, classical_density and quantum_observables, and under MPI
// gather_disorder_batches): p_plus_{q,c,free},
// mean_x_free, l1_free, and <name>_stderr for the distances, p_plus_q and mean_x_q.
std::vector<std::pair<std::string, double>> disorder_metrics(PointEngine& engine,
                                                             const StudyConfig& config,
                                                             const PointPlan& plan,
                                                             const GaussianSmoother& smoother,
                                                             std::span<const double> classical);

// runs[i].disorder of summary.json: what was derived at this ħ.
nlohmann::json disorder_json(const StudyConfig& config, const PointPlan& plan);

// Per ħ and output time: P₊ and ⟨x⟩, quantum (± stderr), Boltzmann, free Liouville.
std::string format_disorder_table(const nlohmann::json& summary);

}  // namespace phasespace
