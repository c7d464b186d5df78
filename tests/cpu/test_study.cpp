// The study end to end: config validation naming paths, the whole chain on the exact harmonic
// Husimi case, and the per-point result files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numbers>

#include "phasespace/errors.hpp"
#include "phasespace/study.hpp"

namespace phasespace {
namespace {

using nlohmann::json;

// A small harmonic study: Gaussian window σ² = ħ/(mω), so the Husimi function is carried
// exactly by the classical flow (physics.md) and only discretisation error remains.
json harmonic_config(const std::string& dir) {
  const double period = 2.0 * std::numbers::pi;
  json config = json::parse(R"({
    "name": "harmonic_test",
    "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-6.0, 6.0], "potential": "0.5*x^2", "potential_derivative": "x"},
    "initial_state": {"kind": "gaussian", "x0": 1.2, "p0": 0.3, "sigma": 0.4},
    "hbar": [0.1, 0.05],
    "resolution": {"p_cut": 3.5, "oversampling": 1.5},
    "window": {"shape": "gaussian", "width": {"coefficient": 1.0, "exponent": 0.5}},
    "phase_space": {"p_max": 4.5},
    "classical": {"interpolation": "spectral", "scheme": "yoshida4", "momentum_boundary": "zero"},
    "metrics": {"weak_width": [0.2, 0.2]}
  })");
  config.update({{"time", {{"t_end", period}, {"dt", period / 400}, {"outputs", {period / 4, period}},
                         {"scheme", "yoshida4"}}},
               {"output", {{"dir", dir}, {"fields", false}, {"figures", false}}}});
  return config;
}

std::string scratch_dir(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("phasespace_" + name + "_" +
                                                              std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  return path.string();
}

TEST(Study, HarmonicHusimiChainAgreesToDiscretisation) {
  const std::string dir = scratch_dir("harmonic");
  const json summary = run_study(parse_config(harmonic_config(dir)));
  ASSERT_EQ(summary["runs"].size(), 2u);
  for (const auto& run : summary["runs"]) {
    const auto& l1 = run["metrics"]["l1"];
    ASSERT_EQ(l1.size(), 2u);
    EXPECT_LE(l1[1].get<double>(), 1e-6) << "hbar = " << run["hbar"];  // one period
    EXPECT_LE(l1[0].get<double>(), 1e-6) << "hbar = " << run["hbar"];  // a quarter period
    // The momentum grid holds the whole density: nothing leaves either side.
    EXPECT_NEAR(run["metrics"]["mass_q"][0].get<double>(), 1.0, 1e-9);
    EXPECT_NEAR(run["metrics"]["mass_c"][1].get<double>(), 1.0, 1e-9);
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/summary.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/points/hbar_0.json"));
  std::filesystem::remove_all(dir);
}

// Expects parse_config or plan_study to throw an InputError whose message contains `path`.
void expect_rejected(const json& config, const std::string& path) {
  try {
    const StudyConfig parsed = parse_config(config);
    plan_study(parsed);
    ADD_FAILURE() << "accepted a config with a bad " << path;
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos)
        << "message does not name " << path << ": " << error.what();
  }
}

TEST(StudyConfig, UnknownKeyIsNamed) {
  json config = harmonic_config("unused");
  config["window"]["widht"] = 0.3;
  expect_rejected(config, "window.widht");
  config = harmonic_config("unused");
  config["extra"] = 1;
  expect_rejected(config, "extra");
}

TEST(StudyConfig, WrongTypeIsNamed) {
  json config = harmonic_config("unused");
  config["system"]["mass"] = "heavy";
  expect_rejected(config, "system.mass");
  config = harmonic_config("unused");
  config["hbar"] = 0.1;
  expect_rejected(config, "hbar");
}

TEST(StudyConfig, OutOfRangeValuesAreNamed) {
  json config = harmonic_config("unused");
  config["hbar"] = {0.1, -0.05};
  expect_rejected(config, "hbar[1]");
  config = harmonic_config("unused");
  config["time"]["outputs"] = {std::numbers::pi, std::numbers::pi / 2};
  expect_rejected(config, "time.outputs[1]");
  config = harmonic_config("unused");
  config["classical"]["interpolation"] = "lagrange4";
  expect_rejected(config, "classical.interpolation");
  config = harmonic_config("unused");
  config["backend"] = "gpu";
  expect_rejected(config, "backend");
}

TEST(StudyConfig, InconsistentValuesAreNamed) {
  // A grid that cannot carry the compared momenta at that ħ.
  json config = harmonic_config("unused");
  config["resolution"] = {{"points", 64}};
  expect_rejected(config, "resolution");
  // A window narrower than the wavelength, and one wider than the domain allows.
  config = harmonic_config("unused");
  config["window"]["width"] = 0.005;
  expect_rejected(config, "window.width");
  config = harmonic_config("unused");
  config["window"]["width"] = 4.0;
  expect_rejected(config, "window.width");
  // A mixed state that violates the uncertainty relation at one ħ of the sweep.
  config = harmonic_config("unused");
  config["initial_state"] = {{"kind", "gaussian_mixed"}, {"x0", 0.0}, {"sigma_x", 0.2}, {"sigma_p", 0.2}};
  expect_rejected(config, "sigma_x*sigma_p");
  // An output time that is not a whole number of steps.
  config = harmonic_config("unused");
  config["time"]["outputs"] = {0.1234567};
  expect_rejected(config, "time.outputs[0]");
  // A bad expression names the field and quotes the text.
  config = harmonic_config("unused");
  config["system"]["potential"] = "0.5*x^^2";
  expect_rejected(config, "system.potential");
}

// The study's name is the default results folder: one plain folder name, never a path.
TEST(StudyConfig, NameIsAPlainFolderName) {
  for (const std::string name : {"../../escape", "a/b", "", ".hidden", "-rf", "tab\there", "bell\x07"}) {
    json config = harmonic_config("unused");
    config["name"] = name;
    expect_rejected(config, "name = " + json(name).dump());
  }
  json config = harmonic_config("unused");
  config["name"] = "double_well-2.v3";
  EXPECT_NO_THROW(parse_config(config));
}

// Messages name the key the user wrote: the config's phase_space.p_max (the API's p_cut once),
// the resolution when the window's FFT outgrows FFTW (not the phase_space.fft_length the user
// never gave), and the trap of a many-body state that is not finite (LAPACK failed on it).
TEST(StudyConfig, MessagesNameTheKeysTheUserWrote) {
  json config = harmonic_config("unused");
  config["phase_space"]["p_max"] = 1e-4;
  expect_rejected(config, "phase_space.p_max = 0.0001");
  config = harmonic_config("unused");
  config["resolution"] = {{"points", 10000000000LL}};
  expect_rejected(config, "resolution = 10000000000 points");
  config = harmonic_config("unused");
  config["initial_state"] = {{"kind", "fermions"}, {"trap", "log(x)"}, {"particles", 2}};
  expect_rejected(config, "initial_state.trap = \"log(x)\"");
  expect_rejected(json::array({harmonic_config("unused")}), "the config (its top level)");
}

// 70 000 levels of nesting crashed the message that showed the value (a recursive dump).
TEST(StudyConfig, DeepOrHugeValuesAreShownShort) {
  json deep = json::array();
  for (int level = 0; level < 100000; ++level) deep = json::array({std::move(deep)});
  json config = harmonic_config("unused");
  config["hbar"] = std::move(deep);
  try {
    parse_config(config);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("hbar[0] = [[[["), std::string::npos) << error.what();
    EXPECT_LT(std::string(error.what()).size(), 200u) << error.what();
  }
  EXPECT_EQ(show_json(json(std::vector<double>(1000000, 1.5))).size(), 80u);
}

// What JSON allows but a config must not have, refused while parsing with the JSON path.
TEST(StudyConfig, ConfigTextRefusesDuplicateKeysDeepNestingAndHugeNumbers) {
  auto message = [](const std::string& text) -> std::string {
    try {
      parse_config_text(text, "config file x.json");
    } catch (const InputError& error) {
      return error.what();
    }
    return "accepted";
  };
  EXPECT_EQ(message(R"({"a": 1, "a": 2})"),
            "config file x.json: a is given twice; each key may appear once in an object");
  EXPECT_NE(message(R"({"a": [0, {"b": {"c": 1}, "b": 2}]})").find("a[1].b is given twice"),
            std::string::npos);
  EXPECT_EQ(message(R"({"a": [{"b": 1}, {"b": 2}], "c": {"b": 3}})"), "accepted");
  const auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_EQ(message(nested(64)), "accepted");
  EXPECT_NE(message(nested(65)).find("deeper than 64 levels"), std::string::npos);
  EXPECT_NE(message(R"({"time": {"outputs": [1, -1e400]}})").find("time.outputs[1]: not a valid value"),
            std::string::npos)
      << message(R"({"time": {"outputs": [1, -1e400]}})");
  EXPECT_NE(message(R"({"a": )").find("not valid JSON"), std::string::npos);
}

TEST(StudyConfig, BackscatteringIsCheckedBeforeWork) {
  json config = harmonic_config("unused");
  config["classical"]["collisions"] = json::parse(R"json([{"kind": "backscattering", "density": 1.0,
      "impurity": {"shape": "expression", "expression": "0.1*exp(-x^2/0.02)", "width": 0.5}}])json");
  EXPECT_NO_THROW(plan_study(parse_config(config))) << "an expression impurity with its width";
  json without_width = config;
  without_width["classical"]["collisions"][0]["impurity"].erase("width");
  expect_rejected(without_width, "classical.collisions[0].impurity.width");
  // Back-scattering pairs p with -p: without p_max the classical grid need not be symmetric.
  json unsymmetric = config;
  unsymmetric["phase_space"].erase("p_max");
  // Either the plan refuses it, naming the field, or every point's grid is symmetric.
  try {
    for (const auto& point : plan_study(parse_config(unsymmetric)).points) {
      EXPECT_TRUE(point.phase_space.momentum_symmetric()) << "accepted, then refused at the first step";
    }
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("phase_space.p_max"), std::string::npos) << error.what();
  }
}

TEST(StudyConfig, FloatOnTheCpuBackendIsRefused) {
  json config = harmonic_config("unused");
  config["precision"] = "float";
  expect_rejected(config, "precision");
}

TEST(StudyConfig, FftCallbacksAreOffOrOnAndOnOnlyOnTheCudaBackend) {
  json config = harmonic_config("unused");
  EXPECT_EQ(parse_config(config).fft_callbacks, "off");
  config["fft_callbacks"] = "yes";
  expect_rejected(config, "fft_callbacks");
  config["fft_callbacks"] = "on";
  config["backend"] = "cpu";
  expect_rejected(config, "fft_callbacks");
}

TEST(StudyConfig, CudaBackendWithoutCudaSaysSo) {
  json config = harmonic_config("unused");
  config["backend"] = "cuda";
#if defined(PHASESPACE_HAS_CUDA)
  GTEST_SKIP() << "this build has the CUDA backend";
#else
  try {
    plan_study(parse_config(config));
    FAIL() << "backend cuda accepted without CUDA";
  } catch (const NotCompiled& error) {
    EXPECT_EQ(std::string(error.what()), "backend cuda not compiled in");
  }
#endif
}

}  // namespace
}  // namespace phasespace
