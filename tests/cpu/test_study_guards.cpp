// Numbers a user can trust (issue 14): what used to end as silent nulls with a success exit
// either runs to finite numbers or stops with an error naming the field, the place and the time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "phasespace/ensemble.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/metrics.hpp"
#include "phasespace/study.hpp"

namespace phasespace {
namespace {

using nlohmann::json;

std::string scratch_dir(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("phasespace_guards_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  return path.string();
}

// Every value of every metric of every run is a finite number.
void expect_all_finite(const json& summary) {
  for (const auto& run : summary["runs"]) {
    for (const auto& [name, values] : run["metrics"].items()) {
      for (std::size_t k = 0; k < values.size(); ++k) {
        EXPECT_TRUE(values[k].is_number() && std::isfinite(values[k].get<double>()))
            << name << " at t = " << run["times"][k] << " (hbar " << run["hbar"] << ") is " << values[k];
      }
    }
  }
}

// Issue 14, defect 1: the local-Maxwellian relaxation turned ρ_c into NaN from t = 0.1 on.
json relaxation_repro(const std::string& dir) {
  json config = json::parse(R"({
    "name": "relaxation_repro",
    "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-6.0, 6.0], "potential": "x^2/2"},
    "initial_state": {"kind": "gaussian", "x0": 1.0, "sigma": 0.5},
    "hbar": [0.2],
    "resolution": {"p_cut": 3.0},
    "window": {"shape": "gaussian", "width": {"coefficient": 0.5, "exponent": 0.5}},
    "phase_space": {"p_max": 3.0},
    "time": {"t_end": 0.2, "dt": 0.01, "outputs": [0.05, 0.1, 0.2]},
    "classical": {"collisions": [{"kind": "relaxation", "relaxation_time": 1.0}]},
    "metrics": {"weak_width": [0.2, 0.2]}
  })");
  config["output"] = {{"dir", dir}, {"fields", false}, {"figures", false}};
  return config;
}

TEST(StudyGuards, LocalMaxwellianRelaxationRunsToFiniteNumbers) {
  const std::string dir = scratch_dir("relaxation");
  const json summary = run_study(parse_config(relaxation_repro(dir)));
  expect_all_finite(summary);
  // Relaxation conserves the mass: only the zero momentum boundary at |p| = 3 takes a little.
  const json& metrics = summary["runs"][0]["metrics"];
  for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(metrics["mass_c"][k].get<double>(), 1.0, 1e-4);
  std::filesystem::remove_all(dir);
}

// A small harmonic study without collisions, the base of the refusals below.
json harmonic(const std::string& dir = "unused") {
  json config = relaxation_repro(dir);
  config["name"] = "guards";
  config.erase("classical");
  config["time"] = {{"t_end", 0.2}, {"dt", 0.01}, {"outputs", {0.1, 0.2}}};
  return config;
}

// parse_config + plan_study (what `phasespace validate` runs) refuse the config with an
// InputError whose message contains every one of `parts`.
void expect_refused(const json& config, const std::vector<std::string>& parts) {
  try {
    plan_study(parse_config(config));
    ADD_FAILURE() << "accepted; expected a refusal naming " << parts.front();
  } catch (const InputError& error) {
    const std::string message = error.what();
    for (const auto& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "no \"" << part << "\" in: " << message;
    }
  }
}

TEST(StudyGuards, PotentialsThatAreNotFiniteOnTheGridAreRefusedBeforeWork) {
  for (const std::string potential : {"log(x)", "sqrt(-1)", "exp(1000*x)"}) {
    json config = harmonic();
    config["system"]["potential"] = potential;
    expect_refused(config, {"system.potential", potential, "not finite at x = ", "t = 0"});
  }
  json config = harmonic();
  config["system"]["potential"] = "1/x";  // x = 0 is a grid point of [-6, 6)
  expect_refused(config, {"system.potential", "not finite at x = 0,"});
  // Finite at t = 0, infinite at t = 0.5 (a time on the sampling grid over [0, t_end]).
  config = harmonic();
  config["system"]["potential"] = "0.5*x^2+1/(0.5-t)";
  config["time"] = {{"t_end", 1.0}, {"dt", 0.01}, {"outputs", {1.0}}};
  expect_refused(config, {"system.potential", "t = 0.5"});
  config = harmonic();
  config["system"]["potential_derivative"] = "1/0";
  expect_refused(config, {"system.potential_derivative", "not finite at x = "});
}

TEST(StudyGuards, MeaninglessStepsAreRefusedNamingMassAndDt) {
  json config = harmonic();
  config["system"]["mass"] = 1e-300;
  expect_refused(config, {"system.mass = 1e-300", "kinetic phase"});
  config = harmonic();
  config["time"] = {{"t_end", 1e20}, {"dt", 1e19}, {"outputs", {1e20}}};
  expect_refused(config, {"time.dt = 1e+19", "kinetic phase"});
  // A potential so large that a step's kick phase |U| dt/hbar means nothing.
  config = harmonic();
  config["system"]["potential"] = "1e300*x^2";
  expect_refused(config, {"system.potential", "kick phase"});
}

TEST(StudyGuards, AnEquilibriumThatIsNotFiniteIsRefusedNamingXAndP) {
  json config = harmonic();
  config["classical"] = {{"collisions", {{{"kind", "relaxation"}, {"relaxation_time", 1.0},
                                          {"equilibrium", "log(p)"}}}}};
  expect_refused(config, {"classical.collisions[0].equilibrium", "log(p)", "x = ", "p = "});
}

TEST(StudyGuards, TimesHbarsAndCentresOutsideTheirRangeAreRefused) {
  json config = harmonic();
  config["time"] = {{"t_end", 0.25}, {"dt", 0.1}, {"outputs", {0.2}}};
  expect_refused(config, {"time.t_end = 0.25", "time.dt = 0.1"});
  config = harmonic();
  config["hbar"] = {0.2, 0.2 * (1.0 + 1e-15), 0.1};
  expect_refused(config, {"hbar[1]", "hbar[0]"});
  config["hbar"] = {0.2, 0.2 * (1.0 + 1e-5)};
  EXPECT_NO_THROW(plan_study(parse_config(config))) << "1e-5 apart is a usable sweep";

  config = harmonic();
  config["initial_state"]["x0"] = 10.0;
  expect_refused(config, {"initial_state.x0 = 10", "system.domain [-6, 6]"});
  config = harmonic();
  config["initial_state"] = {{"kind", "superposition"},
                             {"terms", {{{"x0", 1.0}, {"sigma", 0.5}}, {{"x0", -7.0}, {"sigma", 0.5}}}}};
  expect_refused(config, {"initial_state.terms[1].x0 = -7"});
  config = harmonic();
  config["initial_state"] = {
      {"kind", "ensemble"},
      {"members", {{{"weight", 1.0}, {"state", {{"kind", "gaussian"}, {"x0", 6.5}, {"sigma", 0.5}}}}}}};
  expect_refused(config, {"initial_state.members[0].state.x0 = 6.5"});
  config = harmonic();
  config["initial_state"] = {{"kind", "gaussian_mixed"}, {"x0", -8.0}, {"sigma_x", 0.5}, {"sigma_p", 0.5}};
  expect_refused(config, {"initial_state.x0 = -8"});
  config = harmonic();
  config["initial_state"] = {{"kind", "coherent_ensemble"}, {"density", "exp(-x^2-p^2)"},
                             {"x_range", {-2.0, 9.0}}, {"p_range", {-2.0, 2.0}}};
  expect_refused(config, {"initial_state.x_range[1] = 9"});
}

// Issue 14, defect 3: 1e308 + 1e308 overflowed the normalisation (mass 0, l1 = 0 "agreement").
TEST(StudyGuards, HugeEnsembleWeightsNormaliseWithoutOverflow) {
  const std::string dir = scratch_dir("weights");
  json config = harmonic(dir);
  const json member = {{"kind", "gaussian"}, {"x0", 1.0}, {"sigma", 0.5}};
  config["initial_state"] = {{"kind", "ensemble"},
                             {"members", {{{"weight", 1e308}, {"state", member}},
                                          {{"weight", 1e308}, {"state", member}}}}};
  const json summary = run_study(parse_config(config));
  expect_all_finite(summary);
  const json& metrics = summary["runs"][0]["metrics"];
  EXPECT_NEAR(metrics["mass_q"][0].get<double>(), 1.0, 1e-4);  // |p| <= 3 holds nearly all
  EXPECT_GT(metrics["l1"][1].get<double>(), 1e-3) << "a pure state moving in a trap: not zero";
  std::filesystem::remove_all(dir);

  Ensemble ensemble(make_grid(-1.0, 1.0, 16), 0);
  std::vector<complex> psi(16, complex(1.0, 0.0));
  ensemble.add(1e308, psi);
  ensemble.add(1e308, psi);
  ensemble.add(0.0, psi);
  ensemble.normalise_weights();
  EXPECT_DOUBLE_EQ(ensemble.weights[0], 0.5);
  EXPECT_DOUBLE_EQ(ensemble.weights[1], 0.5);
  EXPECT_EQ(ensemble.weights[2], 0.0);
}

// A boltzmann state at T = 1e-100 is the ground state (its occupations were 0 or inf); the
// semiclassical reference cannot resolve it and is left out with a warning, not written as NaN.
TEST(StudyGuards, AColdBoltzmannStateIsItsGroundState) {
  const std::string dir = scratch_dir("boltzmann");
  json config = harmonic(dir);
  config["initial_state"] = {{"kind", "boltzmann"}, {"trap", "x^2/2"}, {"temperature", 1e-100}};
  const json summary = run_study(parse_config(config));
  expect_all_finite(summary);
  const json& initial = summary["runs"][0]["initial"];
  EXPECT_DOUBLE_EQ(initial["particles"].get<double>(), 1.0);
  EXPECT_NEAR(initial["mu"].get<double>(), 0.1, 1e-6) << "the ground state energy hbar/2";
  EXPECT_FALSE(initial.contains("thomas_fermi_l1"));
  std::filesystem::remove_all(dir);
}

// Finite at every time sampled before the run, NaN at kick times in (0.051, 0.056): the run
// stops there naming the potential, x and t, instead of writing nulls.
TEST(StudyGuards, APotentialThatTurnsNaNDuringTheRunStopsThePoint) {
  const std::string dir = scratch_dir("nan_in_time");
  json config = harmonic(dir);
  config["system"]["potential"] = "(t > 0.051 && t < 0.056) ? sqrt(-1) : 0.5*x^2";
  const StudyConfig parsed = parse_config(config);
  EXPECT_NO_THROW(plan_study(parsed));
  try {
    run_study(parsed);
    ADD_FAILURE() << "ran to the end with a NaN potential";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("system.potential"), std::string::npos) << message;
    EXPECT_NE(message.find("t = 0.05"), std::string::npos) << message;
  }
  std::filesystem::remove_all(dir);
}

// A classical density pushed off its momentum grid in one step (zero boundary: a kick of 51
// cells on 31) has no mean position: the metric is not a number, and the point stops naming it
// instead of writing null.
TEST(StudyGuards, AMetricThatIsNotANumberStopsThePoint) {
  const std::string dir = scratch_dir("metric");
  json config = harmonic(dir);
  config["system"]["potential"] = "-1000*x";
  config["time"] = {{"t_end", 0.02}, {"dt", 0.01}, {"outputs", {0.02}}};
  try {
    run_study(parse_config(config));
    ADD_FAILURE() << "a metric of an empty classical density was written";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("mean_x_c"), std::string::npos) << message;
    EXPECT_NE(message.find("t = 0.02"), std::string::npos) << message;
    EXPECT_NE(message.find("hbar = 0.2"), std::string::npos) << message;
  }
  std::filesystem::remove_all(dir);
}

// Issue 14: two ħ 1e-15 apart gave a fitted β of -170308.
TEST(StudyGuards, ARateOverDegenerateHbarsIsUndefined) {
  const std::vector<double> hbar = {0.2, 0.2 * (1.0 + 1e-15), 0.2};
  const std::vector<double> error = {0.1, 0.1 * (1.0 + 2e-13), 0.1};
  const RateFit fit = fit_rate(hbar, error);
  EXPECT_TRUE(std::isnan(fit.rate)) << fit.rate;
  const RateFit usable = fit_rate(std::vector<double>{0.1, 0.05}, std::vector<double>{0.2, 0.1});
  EXPECT_NEAR(usable.rate, 1.0, 1e-12);
}

}  // namespace
}  // namespace phasespace
