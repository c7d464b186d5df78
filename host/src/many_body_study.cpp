#include "many_body_study.hpp"

#include <iostream>
#include <vector>

#include "phasespace/errors.hpp"
#include "phasespace/many_body.hpp"
#include "phasespace/metrics.hpp"

namespace phasespace {

bool is_many_body_kind(const std::string& kind) {
  return kind == "fermions" || kind == "fermi_dirac" || kind == "bose_einstein" ||
         kind == "boltzmann";
}

InitialReference initial_reference(const StudyConfig& config, const PointPlan& plan,
                                   std::span<const double> rho_q0) {
  InitialReference reference;
  const InitialStateConfig& state = config.initial_state;
  if (!is_many_body_kind(state.kind)) return reference;
  const auto solution = solve_many_body(state.many_body, plan.grid, plan.hbar);  // cached
  reference.particles = solution->occupations.particles;
  reference.metrics["particles"] = reference.particles;
  reference.metrics["mu"] = solution->occupations.mu;
  // The semiclassical state with the same N (and T): μ from the classical phase-space volume,
  // except for fermi_dirac given μ, which keeps the user's μ. For bosons near degeneracy there is
  // none worth comparing with, nor for a thermal state too cold for the reference's grid: the
  // metric is left out, and said so.
  const Statistics statistics = state.many_body.statistics;
  ThomasFermi tf{state.many_body.trap, config.system.mass, plan.hbar, 0.0,
                 state.many_body.temperature, statistics};
  std::vector<double> density;
  try {
    tf.mu = statistics == Statistics::fermi_dirac && state.many_body.mu
                ? *state.many_body.mu
                : thomas_fermi_mu(plan.grid, tf, reference.particles);
    const Window window{config.window.shape, plan.window_width};
    density = thomas_fermi_density(plan.grid, window, plan.phase_space, tf);
  } catch (const InputError& error) {
    std::cerr << "warning: no thomas_fermi_l1 at hbar = " << plan.hbar << ": " << error.what() << "\n";
    return reference;
  }
  reference.metrics["thomas_fermi_mu"] = tf.mu;
  reference.metrics["thomas_fermi_l1"] =
      l1_distance(plan.phase_space, rho_q0, density) / reference.particles;
  return reference;
}

}  // namespace phasespace
