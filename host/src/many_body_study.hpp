#pragma once
// The study's view of the many-body kinds: the particle number N by which the distances are
// divided (per particle, 0..2 as for one particle) and the Thomas–Fermi distance at t = 0.
#include <span>

#include <nlohmann/json.hpp>

#include "phasespace/study.hpp"

namespace phasespace {

bool is_many_body_kind(const std::string& kind);

struct InitialReference {
  double particles = 1.0;  // N = Σ n_k for the many-body kinds; 1 for the one-particle kinds
  nlohmann::json metrics = nlohmann::json::object();  // runs[i].initial of summary.json
};

// rho_q0: the projected quantum density at t = 0 (the whole ensemble's).
InitialReference initial_reference(const StudyConfig& config, const PointPlan& plan,
                                   std::span<const double> rho_q0);

}  // namespace phasespace
