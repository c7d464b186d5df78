#pragma once
// The study config: one JSON file, parsed at the edge into plain structs. Every key is
// documented in docs/config.md; unknown keys, wrong types and out-of-range or inconsistent
// values are rejected with an InputError naming the JSON path, the value and what is allowed.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/collisions.hpp"
#include "phasespace/disorder.hpp"
#include "phasespace/initial_state.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/many_body.hpp"
#include "phasespace/projection.hpp"
#include "phasespace/propagator.hpp"

namespace phasespace {

struct SystemConfig {
  double mass = 1.0;
  double x_min = 0.0;
  double x_max = 0.0;
  std::string potential;
  std::optional<std::string> potential_derivative;
  std::optional<AbsorbingLayer> absorbing;
  std::optional<DisorderConfig> disorder;  // random impurities added per realisation (disorder.hpp)
};

struct InitialStateConfig {
  // gaussian | wkb | superposition | ensemble | gaussian_mixed | coherent_ensemble |
  // fermions | fermi_dirac | bose_einstein | boltzmann (many_body.hpp: weights are occupations)
  std::string kind;
  GaussianPacket packet;                // gaussian
  std::string amplitude, phase;         // wkb
  std::vector<PacketTerm> terms;        // superposition
  std::vector<std::pair<double, InitialStateConfig>> members;  // ensemble: (weight, pure state)
  GaussianMixedState mixed;             // gaussian_mixed
  CoherentEnsemble coherent;            // coherent_ensemble
  ManyBodyState many_body;              // fermions | fermi_dirac | bose_einstein | boltzmann
};

struct ResolutionConfig {
  std::optional<std::size_t> points;  // fixed N, or
  double p_cut = 0.0;                 // N from the momentum cutoff at each ħ ...
  double oversampling = 2.0;          // ... and this oversampling factor
};

struct WindowConfig {
  WindowShape shape = WindowShape::gaussian;
  std::optional<double> width;  // fixed width, or the rule coefficient·ħ^exponent
  double coefficient = 1.0;
  double exponent = 0.5;
  double width_at(double hbar) const;
};

struct PhaseSpaceConfig {
  std::optional<std::size_t> centre_stride;
  std::optional<double> p_max;
  std::optional<std::size_t> fft_length;
};

struct TimeConfig {
  double t_end = 0.0;
  double dt = 0.0;
  std::vector<double> outputs;
  Scheme scheme = Scheme::yoshida4;
};

struct CollisionConfig {
  std::string kind;  // relaxation | backscattering
  double relaxation_time = 0.0;
  std::optional<std::string> equilibrium;
  ImpurityShape impurity;
  double density = 0.0;
};

struct ClassicalConfig {
  Interpolation interpolation;
  MomentumBoundary momentum_boundary = MomentumBoundary::zero;
  Scheme scheme = Scheme::strang;
  std::optional<double> dt;  // default: time.dt
  std::vector<CollisionConfig> collisions;
};

struct MetricsConfig {
  std::array<double, 2> weak_width = {0.0, 0.0};  // ε_x, ε_p (required)
  std::vector<std::pair<std::string, std::array<double, 2>>> regions;
};

struct OutputConfig {
  std::string dir;
  bool fields = false;
  bool figures = false;
};

struct StudyConfig {
  std::string name;
  std::string backend = "auto";      // auto | cpu | cuda
  std::string precision = "double";  // double | float
  // off | on: on backend cuda, the split-step's phases and the projection's gather and |A|²
  // inside cuFFT's transforms (LTO callbacks, cuda::FftCallbacks); off until verified on a GPU.
  std::string fft_callbacks = "off";
  SystemConfig system;
  InitialStateConfig initial_state;
  std::vector<double> hbar;
  ResolutionConfig resolution;
  WindowConfig window;
  PhaseSpaceConfig phase_space;
  TimeConfig time;
  ClassicalConfig classical;
  MetricsConfig metrics;
  OutputConfig output;
  nlohmann::json source;  // the JSON as given, echoed into summary.json
};

// Parses and checks each value; cross-checks that need the derived grids are in plan_study.
StudyConfig parse_config(const nlohmann::json& json);
// Reads a file; a JSON syntax error names the file, line and column.
StudyConfig load_config(const std::string& path);
// load_config's two steps. read_config_file refuses a folder, an unreadable file and one
// longer than 64 MB. parse_config_text refuses what JSON allows but a config must not have,
// naming the JSON path: a key given twice in one object, nesting deeper than 64 levels, a
// number out of range of double (1e400); `source` begins each message ("config file x.json").
std::string read_config_file(const std::string& path);
nlohmann::json parse_config_text(const std::string& text, const std::string& source);

// A JSON value as error messages show it: at most 80 characters, built element by element, so
// a huge or deeply nested value is never dumped whole.
std::string show_json(const nlohmann::json& value);

// The pure state (kinds gaussian, wkb, superposition) or ensemble the config describes.
Ensemble make_initial_ensemble(const InitialStateConfig& state, const Grid& grid, double hbar);

}  // namespace phasespace
