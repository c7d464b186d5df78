// One whole study on both backends: the CUDA study must reproduce the CPU reference's metrics
// (double: to round-off; float: within the float error, which is reported).
#include <cmath>
#include <filesystem>

#include "gpu_test_support.hpp"
#include "phasespace/study.hpp"

namespace phasespace {
namespace {

using nlohmann::json;

json study_config(const std::string& backend, const std::string& precision, const std::string& dir) {
  json config = json::parse(R"({
    "name": "gpu_study_test",
    "system": {"mass": 1.0, "domain": [-4.0, 4.0], "potential": "x^4/4 - x^2/2", "potential_derivative": "x^3 - x"},
    "initial_state": {"kind": "gaussian_mixed", "x0": -1.0, "p0": 0.45, "sigma_x": 0.3, "sigma_p": 0.3},
    "hbar": [0.08, 0.04],
    "resolution": {"p_cut": 3.0, "oversampling": 2.0},
    "window": {"shape": "gaussian", "width": {"coefficient": 0.5, "exponent": 0.5}},
    "phase_space": {"p_max": 2.5},
    "time": {"t_end": 2.0, "dt": 0.005, "outputs": [1.0, 2.0], "scheme": "yoshida4"},
    "classical": {"interpolation": "lagrange7", "scheme": "yoshida4", "momentum_boundary": "zero"},
    "metrics": {"weak_width": [0.2, 0.2], "regions": {"right": [0.0, 4.0]}}
  })");
  config["backend"] = backend;
  config["precision"] = precision;
  config["output"] = {{"dir", dir}, {"fields", false}, {"figures", false}};
  return config;
}

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("phasespace_gpu_study_" + name)).string();
}

// Largest |a - b| over all metrics, times and ħ points, and the metric where it occurs.
std::pair<double, std::string> largest_difference(const json& a, const json& b) {
  double largest = 0.0;
  std::string where;
  for (std::size_t i = 0; i < a["runs"].size(); ++i) {
    for (const auto& [name, values] : a["runs"][i]["metrics"].items()) {
      for (std::size_t k = 0; k < values.size(); ++k) {
        const double difference = std::abs(values[k].get<double>() -
                                           b["runs"][i]["metrics"][name][k].get<double>());
        if (difference > largest) {
          largest = difference;
          where = name + " at hbar[" + std::to_string(i) + "], time " + std::to_string(k);
        }
      }
    }
  }
  return {largest, where};
}

TEST(CudaStudy, DoubleStudyMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  const json cpu = run_study(parse_config(study_config("cpu", "double", scratch("cpu"))));
  const json gpu = run_study(parse_config(study_config("cuda", "double", scratch("cuda"))));
  EXPECT_EQ(gpu["backend"], "cuda");
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] study cuda double vs cpu: largest metric difference " << difference
            << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

TEST(CudaStudy, FloatStudyStaysCloseToTheDoubleOne) {
  PHASESPACE_REQUIRE_DEVICE();
  const json reference = run_study(parse_config(study_config("cuda", "double", scratch("double"))));
  const json single = run_study(parse_config(study_config("cuda", "float", scratch("float"))));
  const auto [difference, where] = largest_difference(reference, single);
  std::cout << "[ info ] study cuda float vs double: largest metric difference " << difference
            << " (" << where << ")\n";
  // Float rounding (~1e-7 relative per operation) over a few thousand steps: well below the
  // quantum-classical distances the study measures (~1e-2 here).
  EXPECT_LT(difference, 1e-3) << where;
}

// Spline interpolation (the device's FFT line shifts) on both backends, one ħ point.
TEST(CudaStudy, SplineStudyMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  auto with_spline = [](json config) {
    config["hbar"] = {0.08};
    config["classical"]["interpolation"] = "spline";
    return config;
  };
  const json cpu = run_study(parse_config(with_spline(study_config("cpu", "double", scratch("spline_cpu")))));
  const json gpu = run_study(parse_config(with_spline(study_config("cuda", "double", scratch("spline_cuda")))));
  EXPECT_EQ(gpu["backend"], "cuda");
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] spline study cuda double vs cpu: largest metric difference " << difference
            << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

// The config's collision kinds (classical.collisions) on both backends: the CUDA study applies
// them on the device and must still reproduce the CPU reference.
TEST(CudaStudy, DoubleStudyWithCollisionsMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  auto with_collisions = [](json config) {
    config["time"]["t_end"] = 1.0;
    config["time"]["outputs"] = {0.5, 1.0};
    config["classical"]["collisions"] = json::parse(R"json([
      {"kind": "relaxation", "relaxation_time": 0.8},
      {"kind": "backscattering", "density": 2.0,
       "impurity": {"shape": "gaussian", "strength": 0.05, "width": 0.02}},
      {"kind": "relaxation", "relaxation_time": 2.0, "equilibrium": "exp(-(p^2/2 + x^2/2))/(2*_pi)"}
    ])json");
    return config;
  };
  const json cpu =
      run_study(parse_config(with_collisions(study_config("cpu", "double", scratch("collisions_cpu")))));
  const json gpu =
      run_study(parse_config(with_collisions(study_config("cuda", "double", scratch("collisions_cuda")))));
  EXPECT_EQ(gpu["backend"], "cuda");
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] study with collisions, cuda double vs cpu: largest metric difference "
            << difference << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

// A small disorder study (tests/cpu/test_disorder.cpp's, shorter and coarser): 8 realisations
// of Gaussian impurities in 4 batches, t-matrix Boltzmann. On the device: ψ with one impurity
// potential per realisation, each batch projected in place, Boltzmann with the impurity
// back-scattering and the free Liouville solver.
json disorder_config(const std::string& backend, const std::string& precision,
                     const std::string& dir) {
  json config = json::parse(R"({
    "name": "gpu_disorder_test",
    "system": {"mass": 1.0, "domain": [-12.0, 12.0],
      "potential": "0.02*x^2", "potential_derivative": "0.04*x",
      "disorder": {"impurity": {"shape": "gaussian", "width": {"coefficient": 0.2, "exponent": 1}},
                   "reference_momentum": 1.0, "scattering_time": 1.0, "born_parameter": 0.5,
                   "realisations": 8, "batches": 4, "rate": "t_matrix", "seed": 3}},
    "initial_state": {"kind": "gaussian", "x0": -3.0, "p0": 1.0, "sigma": 1.5},
    "hbar": [0.1],
    "resolution": {"points": 2048},
    "window": {"shape": "gaussian", "width": 0.5},
    "phase_space": {"p_max": 2.0},
    "time": {"t_end": 0.5, "dt": 0.005, "outputs": [0.25, 0.5], "scheme": "yoshida4"},
    "classical": {"interpolation": "lagrange5", "dt": 0.0125},
    "metrics": {"weak_width": [0.3, 0.1]}
  })");
  config["backend"] = backend;
  config["precision"] = precision;
  config["output"] = {{"dir", dir}, {"fields", false}, {"figures", false}};
  return config;
}

// Every metric of the disorder point (the distances and their standard errors over batches,
// P₊ and ⟨x⟩ of the quantum average, Boltzmann and free Liouville) on both backends.
TEST(CudaStudy, DisorderStudyMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  const json cpu = run_study(parse_config(disorder_config("cpu", "double", scratch("disorder_cpu"))));
  const json gpu =
      run_study(parse_config(disorder_config("cuda", "double", scratch("disorder_cuda"))));
  EXPECT_EQ(gpu["backend"], "cuda");
  ASSERT_TRUE(gpu["runs"][0]["metrics"].contains("p_plus_q_stderr"));
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] disorder study cuda double vs cpu: largest metric difference "
            << difference << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

TEST(CudaStudy, DisorderFloatStudyStaysCloseToTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  const json cpu =
      run_study(parse_config(disorder_config("cpu", "double", scratch("disorder_float_cpu"))));
  const json single =
      run_study(parse_config(disorder_config("cuda", "float", scratch("disorder_float"))));
  const auto [difference, where] = largest_difference(cpu, single);
  std::cout << "[ info ] disorder study cuda float vs cpu double: largest metric difference "
            << difference << " (" << where << ")\n";
  // As FloatStudyStaysCloseToTheDoubleOne: float rounding over a few hundred steps, far below
  // the distances and standard errors measured (~1e-2).
  EXPECT_LT(difference, 1e-3) << where;
}

// fft_callbacks "on": the split-step's phases and the projection inside cuFFT's transforms; the
// same study and the same disorder study as above, to round-off of the CPU reference.
TEST(CudaStudy, FftCallbacksStudyMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  const json cpu = run_study(parse_config(study_config("cpu", "double", scratch("callbacks_cpu"))));
  json config = study_config("cuda", "double", scratch("callbacks_cuda"));
  config["fft_callbacks"] = "on";
  const json gpu = run_study(parse_config(config));
  EXPECT_EQ(gpu["fft_callbacks"], "on");
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] study cuda double with fft callbacks vs cpu: largest metric difference "
            << difference << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

TEST(CudaStudy, FftCallbacksDisorderStudyMatchesTheCpuReference) {
  PHASESPACE_REQUIRE_DEVICE();
  const json cpu =
      run_study(parse_config(disorder_config("cpu", "double", scratch("disorder_callbacks_cpu"))));
  json config = disorder_config("cuda", "double", scratch("disorder_callbacks_cuda"));
  config["fft_callbacks"] = "on";
  const json gpu = run_study(parse_config(config));
  const auto [difference, where] = largest_difference(cpu, gpu);
  std::cout << "[ info ] disorder study cuda double with fft callbacks vs cpu: largest metric "
               "difference "
            << difference << " (" << where << ")\n";
  EXPECT_LT(difference, 1e-9) << where;
}

}  // namespace
}  // namespace phasespace
