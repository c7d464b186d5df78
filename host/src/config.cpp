#include "phasespace/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "phasespace/errors.hpp"

namespace phasespace {

namespace {

using nlohmann::json;

constexpr std::size_t shown_characters = 80;

// Appends value to text until text holds more than `budget` characters: containers element by
// element, so the work (and the recursion) ends once the budget is spent.
void append_bounded(std::string& text, const json& value, std::size_t budget) {
  if (value.is_array()) {
    text += '[';
    bool first = true;
    for (const auto& element : value) {
      if (text.size() > budget) return;
      if (!std::exchange(first, false)) text += ',';
      append_bounded(text, element, budget);
    }
    text += ']';
  } else if (value.is_object()) {
    text += '{';
    bool first = true;
    for (const auto& [key, element] : value.items()) {
      if (text.size() > budget) return;
      if (!std::exchange(first, false)) text += ',';
      text += json(key.substr(0, budget)).dump() + ':';
      append_bounded(text, element, budget);
    }
    text += '}';
  } else if (value.is_string()) {
    text += json(value.get_ref<const std::string&>().substr(0, budget)).dump();
  } else {
    text += value.dump();
  }
}

std::string show(const json& value) { return show_json(value); }

// Reads one JSON object at a path, remembering which keys were read, so that finish() can
// reject the ones nobody asked for (typos must not pass silently as defaults).
class ObjectReader {
 public:
  ObjectReader(const json& node, std::string path, std::vector<std::string> allowed)
      : node_(node), path_(std::move(path)), allowed_(std::move(allowed)) {
    if (!node_.is_object()) {
      throw InputError((path_.empty() ? std::string("the config (its top level)") : path_) + " = " +
                       show(node_) + ": must be a JSON object {\"name\": ..., \"system\": ..., ...}");
    }
    for (const auto& [key, value] : node_.items()) {
      if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end()) {
        std::string list;
        for (const auto& name : allowed_) list += (list.empty() ? "" : ", ") + name;
        throw InputError(child(key) + ": unknown key; allowed keys here: " + list);
      }
    }
  }

  std::string child(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  bool has(const std::string& key) const { return node_.contains(key); }
  const json& at(const std::string& key) const {
    if (!has(key)) throw InputError(child(key) + ": missing (required)");
    return node_.at(key);
  }

  double number(const std::string& key) const {
    const json& value = at(key);
    if (!value.is_number()) throw InputError(child(key) + " = " + show(value) + ": must be a number");
    const double result = value.get<double>();
    require(std::isfinite(result), child(key), show(value), "must be finite");
    return result;
  }
  double number(const std::string& key, double fallback) const {
    return has(key) ? number(key) : fallback;
  }
  double positive(const std::string& key) const {
    const double value = number(key);
    require(value > 0.0, child(key), format_number(value), "must be > 0");
    return value;
  }
  double positive(const std::string& key, double fallback) const {
    return has(key) ? positive(key) : fallback;
  }
  std::size_t count(const std::string& key) const {
    const json& value = at(key);
    if (!value.is_number_integer() || value.get<long long>() < 1) {
      throw InputError(child(key) + " = " + show(value) + ": must be an integer >= 1");
    }
    return value.get<std::size_t>();
  }
  std::string text(const std::string& key) const {
    const json& value = at(key);
    if (!value.is_string()) throw InputError(child(key) + " = " + show(value) + ": must be a string");
    return value.get<std::string>();
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    return has(key) ? text(key) : fallback;
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& value = at(key);
    if (!value.is_boolean()) throw InputError(child(key) + " = " + show(value) + ": must be true or false");
    return value.get<bool>();
  }
  std::array<double, 2> pair(const std::string& key) const {
    const json& value = at(key);
    if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number()) {
      throw InputError(child(key) + " = " + show(value) + ": must be an array of two numbers");
    }
    return {value[0].get<double>(), value[1].get<double>()};
  }
  std::vector<double> numbers(const std::string& key) const {
    const json& value = at(key);
    if (!value.is_array() || value.empty()) {
      throw InputError(child(key) + " = " + show(value) + ": must be a non-empty array of numbers");
    }
    std::vector<double> result;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_number()) {
        throw InputError(child(key) + "[" + std::to_string(i) + "] = " + show(value[i]) +
                         ": must be a number");
      }
      result.push_back(value[i].get<double>());
    }
    return result;
  }

 private:
  const json& node_;
  std::string path_;
  std::vector<std::string> allowed_;
};

SystemConfig parse_system(const json& node) {
  ObjectReader reader(node, "system", {"mass", "domain", "potential", "potential_derivative",
                                       "absorbing", "disorder"});
  SystemConfig system;
  system.mass = reader.positive("mass", 1.0);
  const auto domain = reader.pair("domain");
  require(domain[0] < domain[1], "system.domain", show(reader.at("domain")),
          "must be [x_min, x_max] with x_min < x_max");
  system.x_min = domain[0];
  system.x_max = domain[1];
  system.potential = reader.text("potential");
  Potential check(system.potential, std::nullopt, "system.potential");  // parses now
  if (reader.has("potential_derivative")) {
    system.potential_derivative = reader.text("potential_derivative");
    Potential with_derivative(system.potential, system.potential_derivative, "system.potential");
  }
  if (reader.has("absorbing")) {
    ObjectReader absorbing(reader.at("absorbing"), "system.absorbing", {"width", "strength"});
    system.absorbing = AbsorbingLayer{absorbing.positive("width"), absorbing.positive("strength")};
    require(system.absorbing->width < 0.5 * (domain[1] - domain[0]), "system.absorbing.width",
            format_number(system.absorbing->width), "must be less than half the domain");
  }
  if (reader.has("disorder")) system.disorder = parse_disorder(reader.at("disorder"), "system.disorder");
  return system;
}

GaussianPacket parse_packet(const ObjectReader& reader) {
  return {reader.number("x0"), reader.number("p0", 0.0), reader.positive("sigma")};
}

// Orbitals of initial_state.trap with occupations (many_body.hpp); system.mass is set later.
ManyBodyState parse_many_body(const json& node, const std::string& path, const std::string& kind) {
  ManyBodyState state;
  state.statistics = parse_statistics(kind);
  std::vector<std::string> keys = {"kind", "trap", "orbitals", "occupation_tolerance"};
  if (state.statistics == Statistics::fermions) {
    keys.insert(keys.end(), {"particles", "particles_times_hbar"});
  } else {
    keys.insert(keys.end(), {"temperature", "particles", "particles_times_hbar"});
    if (state.statistics != Statistics::boltzmann) keys.push_back("mu");
  }
  ObjectReader reader(node, path, keys);
  state.trap = reader.text("trap");
  Expression check(state.trap, {"x"}, {}, path + ".trap");
  if (reader.has("orbitals")) state.orbitals = reader.count("orbitals");
  state.occupation_tolerance = reader.positive("occupation_tolerance", 1e-10);
  require(state.occupation_tolerance < 1.0, path + ".occupation_tolerance",
          format_number(state.occupation_tolerance), "must be in (0, 1)");
  if (reader.has("particles") && reader.has("particles_times_hbar")) {
    throw InputError(path + ".particles_times_hbar = " + show(reader.at("particles_times_hbar")) +
                     ": give particles (N) or particles_times_hbar (N*hbar fixed over the sweep), not both");
  }
  if (reader.has("particles_times_hbar")) {
    state.particles_times_hbar = reader.positive("particles_times_hbar");
  }
  if (state.statistics == Statistics::fermions) {
    if (state.particles_times_hbar) return state;  // N per hbar: checked when solved
    const std::size_t particles = reader.count("particles");
    state.particles = static_cast<double>(particles);
    require(!state.orbitals || *state.orbitals >= particles, path + ".orbitals",
            std::to_string(state.orbitals.value_or(0)),
            "must be >= particles = " + format_number(*state.particles) + " (the filled orbitals)");
    return state;
  }
  state.temperature = reader.positive("temperature");
  if (state.statistics == Statistics::boltzmann) {
    if (!state.particles_times_hbar) state.particles = reader.positive("particles", 1.0);
    return state;
  }
  const bool given_n = reader.has("particles") || reader.has("particles_times_hbar");
  require(reader.has("mu") != given_n, path + ".mu",
          reader.has("mu") ? show(reader.at("mu")) : "missing",
          "give exactly one of mu (chemical potential) and particles (N)");
  if (reader.has("mu")) state.mu = reader.number("mu");
  if (reader.has("particles")) state.particles = reader.positive("particles");
  return state;
}

InitialStateConfig parse_state(const json& node, const std::string& path, bool pure_only) {
  const std::vector<std::string> kinds_pure = {"gaussian", "wkb", "superposition"};
  if (!node.is_object() || !node.contains("kind") || !node["kind"].is_string()) {
    throw InputError(path + ".kind: missing; allowed: gaussian, wkb, superposition" +
                     std::string(pure_only ? "" : ", ensemble, gaussian_mixed, coherent_ensemble, fermions, fermi_dirac, bose_einstein, boltzmann"));
  }
  InitialStateConfig state;
  state.kind = node["kind"].get<std::string>();
  if (state.kind == "gaussian") {
    ObjectReader reader(node, path, {"kind", "x0", "p0", "sigma"});
    state.packet = parse_packet(reader);
  } else if (state.kind == "wkb") {
    ObjectReader reader(node, path, {"kind", "amplitude", "phase"});
    state.amplitude = reader.text("amplitude");
    state.phase = reader.text("phase");
    Expression check_a(state.amplitude, {"x"}, {}, path + ".amplitude");
    Expression check_s(state.phase, {"x"}, {}, path + ".phase");
  } else if (state.kind == "superposition") {
    ObjectReader reader(node, path, {"kind", "terms"});
    const json& terms = reader.at("terms");
    require(terms.is_array() && !terms.empty(), path + ".terms", show(terms),
            "must be a non-empty array of packets");
    for (std::size_t i = 0; i < terms.size(); ++i) {
      const std::string term_path = path + ".terms[" + std::to_string(i) + "]";
      ObjectReader term(terms[i], term_path, {"coefficient", "x0", "p0", "sigma"});
      const auto c = term.has("coefficient") ? term.pair("coefficient") : std::array<double, 2>{1.0, 0.0};
      state.terms.push_back({{c[0], c[1]}, parse_packet(term)});
    }
  } else if (!pure_only && state.kind == "ensemble") {
    ObjectReader reader(node, path, {"kind", "members"});
    const json& members = reader.at("members");
    require(members.is_array() && !members.empty(), path + ".members", show(members),
            "must be a non-empty array of {weight, state}");
    for (std::size_t i = 0; i < members.size(); ++i) {
      const std::string member_path = path + ".members[" + std::to_string(i) + "]";
      ObjectReader member(members[i], member_path, {"weight", "state"});
      const double weight = member.number("weight");
      require(weight >= 0.0, member_path + ".weight", format_number(weight), "must be >= 0");
      state.members.emplace_back(weight, parse_state(member.at("state"), member_path + ".state", true));
    }
  } else if (!pure_only && state.kind == "gaussian_mixed") {
    ObjectReader reader(node, path, {"kind", "x0", "p0", "sigma_x", "sigma_p", "weight_tolerance"});
    state.mixed = {reader.number("x0"), reader.number("p0", 0.0), reader.positive("sigma_x"),
                   reader.positive("sigma_p"), reader.positive("weight_tolerance", 1e-10)};
    require(state.mixed.weight_tolerance < 1.0, path + ".weight_tolerance",
            format_number(state.mixed.weight_tolerance), "must be in (0, 1)");
  } else if (!pure_only && state.kind == "coherent_ensemble") {
    ObjectReader reader(node, path, {"kind", "density", "aspect", "spacing", "x_range", "p_range"});
    state.coherent.density = reader.text("density");
    Expression check(state.coherent.density, {"x", "p"}, {}, path + ".density");
    state.coherent.aspect = reader.positive("aspect", 1.0);
    state.coherent.spacing = reader.positive("spacing", 1.0);
    if (reader.has("x_range")) {
      const auto range = reader.pair("x_range");
      state.coherent.x_range[0] = range[0];
      state.coherent.x_range[1] = range[1];
    }
    const auto p_range = reader.pair("p_range");
    state.coherent.p_range[0] = p_range[0];
    state.coherent.p_range[1] = p_range[1];
  } else if (!pure_only && (state.kind == "fermions" || state.kind == "fermi_dirac" ||
                            state.kind == "bose_einstein" || state.kind == "boltzmann")) {
    state.many_body = parse_many_body(node, path, state.kind);
  } else {
    throw InputError(path + ".kind = \"" + state.kind + "\": allowed gaussian, wkb, superposition" +
                     std::string(pure_only ? " (members of an ensemble are pure states)"
                                           : ", ensemble, gaussian_mixed, coherent_ensemble, fermions, fermi_dirac, bose_einstein, boltzmann"));
  }
  return state;
}

ResolutionConfig parse_resolution(const json& node) {
  ObjectReader reader(node, "resolution", {"points", "p_cut", "oversampling"});
  ResolutionConfig resolution;
  if (reader.has("points")) {
    resolution.points = reader.count("points");
    require(*resolution.points >= 16, "resolution.points", std::to_string(*resolution.points),
            "must be >= 16");
    // (the value is shown only when present: at() of a missing key throws)
    if (reader.has("p_cut")) {
      throw InputError("resolution.p_cut = " + show(reader.at("p_cut")) +
                       ": give either resolution.points or resolution.p_cut, not both");
    }
  } else {
    resolution.p_cut = reader.positive("p_cut");
    resolution.oversampling = reader.positive("oversampling", 2.0);
    require(resolution.oversampling >= 1.0, "resolution.oversampling",
            format_number(resolution.oversampling), "must be >= 1");
  }
  return resolution;
}

WindowConfig parse_window(const json& node) {
  ObjectReader reader(node, "window", {"shape", "width"});
  WindowConfig window;
  window.shape = parse_window_shape(reader.text("shape", "gaussian"), "window.shape");
  const json& width = reader.at("width");
  if (width.is_number()) {
    window.width = reader.positive("width");
  } else {
    ObjectReader rule(width, "window.width", {"coefficient", "exponent"});
    window.coefficient = rule.positive("coefficient");
    window.exponent = rule.number("exponent", 0.5);
    require(window.exponent >= 0.0 && window.exponent <= 1.0, "window.width.exponent",
            format_number(window.exponent),
            "must be in [0, 1] (0: fixed width, 1: shrinks like the wavelength)");
  }
  return window;
}

PhaseSpaceConfig parse_phase_space(const json& node) {
  ObjectReader reader(node, "phase_space", {"centre_stride", "p_max", "fft_length"});
  PhaseSpaceConfig phase_space;
  if (reader.has("centre_stride")) phase_space.centre_stride = reader.count("centre_stride");
  if (reader.has("p_max")) phase_space.p_max = reader.positive("p_max");
  if (reader.has("fft_length")) phase_space.fft_length = reader.count("fft_length");
  return phase_space;
}

TimeConfig parse_time(const json& node) {
  ObjectReader reader(node, "time", {"t_end", "dt", "outputs", "scheme"});
  TimeConfig time;
  time.t_end = reader.positive("t_end");
  time.dt = reader.positive("dt");
  require(time.dt <= time.t_end, "time.dt", format_number(time.dt),
          "must be <= time.t_end = " + format_number(time.t_end));
  time.outputs = reader.has("outputs") ? reader.numbers("outputs") : std::vector<double>{time.t_end};
  for (std::size_t i = 0; i < time.outputs.size(); ++i) {
    const double t = time.outputs[i];
    const std::string path = "time.outputs[" + std::to_string(i) + "]";
    require(t >= 0.0 && t <= time.t_end * (1.0 + 1e-12), path, format_number(t),
            "must be in [0, t_end = " + format_number(time.t_end) + "]");
    const double steps = t / time.dt;
    require(std::abs(steps - std::round(steps)) < 1e-6 * std::max(1.0, steps), path,
            format_number(t), "must be a whole number of time.dt = " + format_number(time.dt));
    require(i == 0 || t > time.outputs[i - 1], path, format_number(t),
            "outputs must be increasing");
  }
  time.scheme = parse_scheme(reader.text("scheme", "yoshida4"), "time.scheme");
  return time;
}

ImpurityShape parse_impurity(const ObjectReader& reader, const std::string& path) {
  ObjectReader impurity(reader.at("impurity"), path + ".impurity",
                        {"shape", "strength", "width", "expression"});
  ImpurityShape shape;
  const std::string kind = impurity.text("shape", "delta");
  if (kind == "delta") {
    shape.kind = ImpurityShape::Kind::delta;
  } else if (kind == "gaussian") {
    shape.kind = ImpurityShape::Kind::gaussian;
    shape.width = impurity.positive("width");
  } else if (kind == "expression") {
    shape.kind = ImpurityShape::Kind::expression;
    shape.expression = impurity.text("expression");
    Expression check(shape.expression, {"x"}, {}, path + ".impurity.expression");
    shape.width = impurity.positive("width");  // V(x) is integrated over |x| <= width
  } else {
    throw InputError(path + ".impurity.shape = \"" + kind + "\": allowed delta, gaussian, expression");
  }
  shape.strength = impurity.number("strength", 1.0);
  return shape;
}

ClassicalConfig parse_classical(const json& node) {
  ObjectReader reader(node, "classical",
                      {"interpolation", "momentum_boundary", "scheme", "dt", "collisions"});
  ClassicalConfig classical;
  classical.interpolation =
      parse_interpolation(reader.text("interpolation", "lagrange5"), "classical.interpolation");
  classical.momentum_boundary = parse_momentum_boundary(reader.text("momentum_boundary", "zero"),
                                                        "classical.momentum_boundary");
  classical.scheme = parse_scheme(reader.text("scheme", "strang"), "classical.scheme");
  if (reader.has("dt")) classical.dt = reader.positive("dt");
  if (reader.has("collisions")) {
    const json& list = reader.at("collisions");
    require(list.is_array(), "classical.collisions", show(list), "must be an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "classical.collisions[" + std::to_string(i) + "]";
      ObjectReader collision(list[i], path,
                             {"kind", "relaxation_time", "equilibrium", "impurity", "density"});
      CollisionConfig config;
      config.kind = collision.text("kind");
      if (config.kind == "relaxation") {
        config.relaxation_time = collision.positive("relaxation_time");
        if (collision.has("equilibrium")) {
          config.equilibrium = collision.text("equilibrium");
          Expression check(*config.equilibrium, {"x", "p"}, {}, path + ".equilibrium");
        }
      } else if (config.kind == "backscattering") {
        config.impurity = parse_impurity(collision, path);
        config.density = collision.positive("density");
      } else {
        throw InputError(path + ".kind = \"" + config.kind + "\": allowed relaxation, backscattering");
      }
      classical.collisions.push_back(config);
    }
  }
  return classical;
}

MetricsConfig parse_metrics(const json& node) {
  ObjectReader reader(node, "metrics", {"weak_width", "regions"});
  MetricsConfig metrics;
  metrics.weak_width = reader.pair("weak_width");
  require(metrics.weak_width[0] > 0.0 && metrics.weak_width[1] > 0.0, "metrics.weak_width",
          show(reader.at("weak_width")), "must be [eps_x, eps_p], both > 0");
  if (reader.has("regions")) {
    const json& regions = reader.at("regions");
    require(regions.is_object(), "metrics.regions", show(regions),
            "must be an object {name: [x_low, x_high]}");
    std::vector<std::string> names;
    for (const auto& [name, value] : regions.items()) names.push_back(name);
    ObjectReader region_reader(regions, "metrics.regions", names);
    for (const auto& name : names) {
      const auto range = region_reader.pair(name);
      require(range[0] < range[1], "metrics.regions." + name, show(regions[name]),
              "must be [x_low, x_high] with x_low < x_high");
      const bool valid_name = std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      require(valid_name && !name.empty(), "metrics.regions", "\"" + name + "\"",
              "region names use letters, digits and _ only");
      metrics.regions.emplace_back(name, range);
    }
  }
  return metrics;
}

// A name that is one folder inside results/: no separators, no "..", no control characters,
// nothing a shell or a listing would show differently.
bool is_plain_folder_name(const std::string& name) {
  if (name.empty() || name.size() > 100 || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

OutputConfig parse_output(const json& node, const std::string& name) {
  ObjectReader reader(node, "output", {"dir", "fields", "figures"});
  OutputConfig output;
  output.dir = reader.text("dir", "results/" + name);
  output.fields = reader.flag("fields", true);
  output.figures = reader.flag("figures", true);
  require(!(output.figures && !output.fields), "output.figures", "true",
          "figures are drawn from the fields: needs output.fields = true");
  return output;
}

// Deeper than any study config needs (about 6 levels), far below what would overflow the stack
// of a recursive dump (70 000 levels did).
constexpr std::size_t max_config_depth = 64;
// A study config is a few kB; the limit stops /dev/zero or a mistaken data file early.
constexpr std::size_t max_config_bytes = 64u << 20;

// Follows the parser (nlohmann's callback sees each event, not the path): the JSON path of the
// current position, the keys of each open object (a duplicate key is an error, not "last one
// wins"), and the nesting depth.
class ParseWatcher {
 public:
  explicit ParseWatcher(std::string source) : source_(std::move(source)) {}

  bool on_event(json::parse_event_t event, const json& parsed) {
    using Event = json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        step_into_element();
        if (frames_.size() >= max_config_depth) {
          throw InputError(source_ + ": " + describe(path()) + " nests deeper than " +
                           std::to_string(max_config_depth) +
                           " levels of arrays and objects; a study config needs a few");
        }
        frames_.push_back({event == Event::object_start, {}, {}, -1});
        break;
      case Event::key: {
        Frame& object = frames_.back();
        object.key = parsed.get<std::string>();
        if (!object.keys.insert(object.key).second) {
          throw InputError(source_ + ": " + describe(path()) +
                           " is given twice; each key may appear once in an object");
        }
        break;
      }
      case Event::value:
        step_into_element();
        break;
      case Event::object_end:
      case Event::array_end:
        frames_.pop_back();
        break;
    }
    return true;
  }

  // Where the parser is: the key just read, or the next element of the array.
  std::string position() const {
    if (frames_.empty() || frames_.back().object) return path();
    return path(frames_.size() - 1) + "[" + std::to_string(frames_.back().index + 1) + "]";
  }

  static std::string describe(const std::string& path) {
    return path.empty() ? std::string("the top level") : path;
  }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;  // objects: the key of the member being read
    long index;       // arrays: the element being read
  };

  void step_into_element() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  // The path of the current element of each of the first `count` open containers.
  std::string path(std::size_t count = static_cast<std::size_t>(-1)) const {
    std::string text;
    for (std::size_t i = 0; i < std::min(count, frames_.size()); ++i) {
      const Frame& frame = frames_[i];
      if (frame.object) {
        if (!frame.keys.empty()) text += (text.empty() ? "" : ".") + frame.key;
      } else if (frame.index >= 0) {
        text += "[" + std::to_string(frame.index) + "]";
      }
    }
    return text;
  }

  std::string source_;
  std::vector<Frame> frames_;
};

}  // namespace

std::string show_json(const json& value) {
  std::string text;
  append_bounded(text, value, shown_characters);
  return text.size() > shown_characters ? text.substr(0, shown_characters - 3) + "..." : text;
}

std::string read_config_file(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw InputError("config file " + path + ": is a folder; give the path of a JSON file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw InputError("config file " + path + ": cannot be opened");
  std::string text;
  std::array<char, 65536> buffer{};
  while (file.read(buffer.data(), buffer.size()) || file.gcount() > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(file.gcount()));
    if (text.size() > max_config_bytes) {
      throw InputError("config file " + path + ": longer than " +
                       std::to_string(max_config_bytes >> 20) + " MB; a study config is a few kB");
    }
  }
  if (file.bad()) throw InputError("config file " + path + ": cannot be read");
  return text;
}

json parse_config_text(const std::string& text, const std::string& source) {
  ParseWatcher watcher(source);
  try {
    return json::parse(text, [&watcher](int, json::parse_event_t event, json& parsed) {
      return watcher.on_event(event, parsed);
    });
  } catch (const json::parse_error& error) {
    throw InputError(source + ": not valid JSON: " + error.what());
  } catch (const json::exception& error) {  // e.g. 1e400: out of range of a double
    throw InputError(source + ": " + ParseWatcher::describe(watcher.position()) +
                     ": not a valid value: " + error.what() +
                     " (numbers must be finite doubles, |x| < 1.8e308)");
  }
}

double WindowConfig::width_at(double hbar) const {
  return width ? *width : window_width_rule(coefficient, exponent, hbar);
}

StudyConfig parse_config(const json& json_config) {
  ObjectReader reader(json_config, "",
                      {"name", "backend", "precision", "fft_callbacks", "system", "initial_state",
                       "hbar", "resolution", "window", "phase_space", "time", "classical",
                       "metrics", "output"});
  StudyConfig config;
  config.source = json_config;
  config.name = reader.text("name");
  require(is_plain_folder_name(config.name), "name", show(reader.at("name")),
          "the default output folder is results/<name>: use 1 to 100 letters, digits, '_', '-' "
          "and '.', not starting with '.' or '-'");
  config.backend = reader.text("backend", "auto");
  require(config.backend == "auto" || config.backend == "cpu" || config.backend == "cuda",
          "backend", "\"" + config.backend + "\"", "allowed \"auto\", \"cpu\", \"cuda\"");
  config.precision = reader.text("precision", "double");
  require(config.precision == "double" || config.precision == "float", "precision",
          "\"" + config.precision + "\"", "allowed \"double\", \"float\"");
  config.fft_callbacks = reader.text("fft_callbacks", "off");
  require(config.fft_callbacks == "off" || config.fft_callbacks == "on", "fft_callbacks",
          "\"" + config.fft_callbacks + "\"", "allowed \"off\", \"on\"");
  config.system = parse_system(reader.at("system"));
  config.initial_state = parse_state(reader.at("initial_state"), "initial_state", false);
  config.initial_state.many_body.mass = config.system.mass;  // the orbitals' mass
  config.hbar = reader.numbers("hbar");
  for (std::size_t i = 0; i < config.hbar.size(); ++i) {
    require(config.hbar[i] > 0.0, "hbar[" + std::to_string(i) + "]", format_number(config.hbar[i]),
            "must be > 0");
    for (std::size_t j = 0; j < i; ++j) {
      require(config.hbar[j] != config.hbar[i], "hbar[" + std::to_string(i) + "]",
              format_number(config.hbar[i]), "values must be distinct");
    }
  }
  config.resolution = parse_resolution(reader.at("resolution"));
  config.window = parse_window(reader.at("window"));
  config.phase_space = reader.has("phase_space") ? parse_phase_space(reader.at("phase_space"))
                                                 : PhaseSpaceConfig{};
  config.time = parse_time(reader.at("time"));
  config.classical = reader.has("classical") ? parse_classical(reader.at("classical"))
                                             : parse_classical(json::object());
  config.metrics = parse_metrics(reader.at("metrics"));
  config.output = parse_output(reader.has("output") ? reader.at("output") : json::object(),
                               config.name);
  return config;
}

StudyConfig load_config(const std::string& path) {
  return parse_config(parse_config_text(read_config_file(path), "config file " + path));
}

Ensemble make_initial_ensemble(const InitialStateConfig& state, const Grid& grid, double hbar) {
  if (state.kind == "gaussian") return pure_state(grid, gaussian_packet(grid, hbar, state.packet));
  if (state.kind == "wkb") return pure_state(grid, wkb_state(grid, hbar, state.amplitude, state.phase));
  if (state.kind == "superposition") return pure_state(grid, superposition(grid, hbar, state.terms));
  if (state.kind == "gaussian_mixed") return gaussian_mixed_state(grid, hbar, state.mixed);
  if (state.kind == "coherent_ensemble") return coherent_ensemble(grid, hbar, state.coherent);
  if (state.kind == "fermions" || state.kind == "fermi_dirac" || state.kind == "bose_einstein" ||
      state.kind == "boltzmann") {
    return many_body_ensemble(state.many_body, grid, hbar);  // weights: occupations, trace N
  }
  if (state.kind == "ensemble") {
    Ensemble ensemble(grid, 0);
    for (const auto& [weight, member] : state.members) {
      const Ensemble pure = make_initial_ensemble(member, grid, hbar);
      ensemble.add(weight, pure.member(0));
    }
    ensemble.normalise_weights();
    return ensemble;
  }
  throw InputError("initial_state.kind = \"" + state.kind + "\": not a known state kind");
}

}  // namespace phasespace
