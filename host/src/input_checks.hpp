#pragma once
// Numbers a user can trust. Before any work, every number a run starts from must be finite and
// meaningful (check_study_inputs, called by plan_study, so `phasespace validate` refuses what
// `run` would); during a run, a number that is not finite stops the point with an error saying
// what, where and when (the require_finite_* guards) instead of ending as a null in the results.
// docs/config.md lists what is refused and why.
#include <span>
#include <string>

#include "phasespace/config.hpp"
#include "phasespace/ensemble.hpp"
#include "phasespace/study.hpp"

namespace phasespace {

// Refuses, with an InputError naming the JSON field, the value and the first bad x, (x, p) or t:
// U and U' not finite on a point's grids at 0, the output times and 33 times evenly over
// [0, t_end] (one time when U does not depend on t); a step whose kinetic or potential phase, or
// whose classical shift, is beyond max_phase_per_step rad (cells); a relaxation equilibrium not
// finite on a point's phase-space grid; time.t_end not a whole number of the steps; ħ values
// closer than min_hbar_separation; a state centred outside system.domain.
void check_study_inputs(const StudyConfig& config, const StudyPlan& plan);

// Refuses an initial ensemble whose weights or mass (trace) are not finite and positive.
void check_initial_ensemble(const Ensemble& ensemble);

// A step's phase (rad) or shift (cells) beyond this has lost every digit that matters (the
// angle's round-off alone is 1e-4 rad there): no step of a meaningful run comes near it.
constexpr double max_phase_per_step = 1e12;
// ħ values whose relative separation is below this give no slope in err ~ ħ^β.
constexpr double min_hbar_separation = 1e-6;

// During a run, at output time t of the point at ħ: Error naming `what`, ħ, t and the first cell
// (x0, p) or grid point x whose value is not finite.
void require_finite_density(std::span<const double> density, const PhaseSpaceGrid& grid,
                            const std::string& what, double hbar, double t);
void require_finite_line(std::span<const double> values, const Grid& grid, const std::string& what,
                         double hbar, double t);
// A metric written to the results: Error naming it, ħ and t when it is not finite.
void require_finite_metric(const std::string& name, double value, double hbar, double t);

}  // namespace phasespace
