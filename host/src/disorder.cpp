#include "phasespace/disorder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <numbers>
#include <sstream>

#include "phasespace/config.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/expression.hpp"

namespace phasespace {

namespace {

using nlohmann::json;
using cplx = std::complex<double>;

std::string show(const json& value) { return show_json(value); }

void reject_unknown(const json& node, const std::string& path, const std::vector<std::string>& allowed) {
  if (!node.is_object()) throw InputError(path + " = " + show(node) + ": must be a JSON object");
  for (const auto& [key, value] : node.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
      throw InputError(path + "." + key + ": unknown key; allowed keys here: " + list);
    }
  }
}

double number_at(const json& node, const std::string& key, const std::string& path) {
  if (!node.contains(key)) throw InputError(path + "." + key + ": missing (required)");
  const json& value = node.at(key);
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    throw InputError(path + "." + key + " = " + show(value) + ": must be a finite number");
  }
  return value.get<double>();
}

double positive_at(const json& node, const std::string& key, const std::string& path) {
  const double value = number_at(node, key, path);
  require(value > 0.0, path + "." + key, format_number(value), "must be > 0");
  return value;
}

std::size_t count_at(const json& node, const std::string& key, const std::string& path,
                     std::size_t minimum) {
  if (!node.contains(key)) throw InputError(path + "." + key + ": missing (required)");
  const json& value = node.at(key);
  if (!value.is_number_integer() || value.get<long long>() < static_cast<long long>(minimum)) {
    throw InputError(path + "." + key + " = " + show(value) + ": must be an integer >= " +
                     std::to_string(minimum));
  }
  return value.get<std::size_t>();
}

// The width at which an impurity's potential is negligible (Gaussian: e^{-32} of the peak).
constexpr double gaussian_range = 8.0;

// ψ'' = κ(x) ψ, κ = 2m(V − E)/ħ², integrated from the transmitted wave at x = +X back to −X;
// there ψ = A e^{ikx} + B e^{−ikx} and |r|² = |B/A|².
double reflection_from_left_state(cplx psi, cplx dpsi, double k, double x) {
  const cplx i(0.0, 1.0);
  const cplx a = 0.5 * (psi + dpsi / (i * k)) * std::exp(-i * k * x);
  const cplx b = 0.5 * (psi - dpsi / (i * k)) * std::exp(i * k * x);
  return std::norm(b) / std::norm(a);
}

double rk4_reflection(const ImpurityShape& shape, double mass, double hbar, double p) {
  const double k = std::fabs(p) / hbar;
  const double energy = p * p / (2.0 * mass);
  const double range = impurity_range(shape);
  const double scale = std::min(2.0 * std::numbers::pi / k, shape.width);
  const std::size_t steps =
      std::max<std::size_t>(2000, static_cast<std::size_t>(std::ceil(2.0 * range / (scale / 64.0))));
  const double h = -2.0 * range / static_cast<double>(steps);  // backwards
  const double factor = 2.0 * mass / (hbar * hbar);
  auto kappa = [&](double x) { return factor * (impurity_value(shape, x) - energy); };
  const cplx i(0.0, 1.0);
  double x = range;
  cplx psi = std::exp(i * k * x);
  cplx dpsi = i * k * psi;
  for (std::size_t s = 0; s < steps; ++s) {
    const double k_start = kappa(x), k_mid = kappa(x + 0.5 * h), k_end = kappa(x + h);
    const cplx a1 = dpsi, b1 = k_start * psi;
    const cplx a2 = dpsi + 0.5 * h * b1, b2 = k_mid * (psi + 0.5 * h * a1);
    const cplx a3 = dpsi + 0.5 * h * b2, b3 = k_mid * (psi + 0.5 * h * a2);
    const cplx a4 = dpsi + h * b3, b4 = k_end * (psi + h * a3);
    psi += h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4);
    dpsi += h / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4);
    x = range + static_cast<double>(s + 1) * h;
  }
  return reflection_from_left_state(psi, dpsi, k, -range);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

DisorderConfig parse_disorder(const json& node, const std::string& path) {
  reject_unknown(node, path, {"impurity", "density", "realisations", "seed", "batches", "rate",
                              "reference_momentum", "scattering_time", "born_parameter"});
  DisorderConfig config;
  if (!node.contains("impurity")) throw InputError(path + ".impurity: missing (required)");
  const json& impurity = node.at("impurity");
  const std::string ipath = path + ".impurity";
  reject_unknown(impurity, ipath, {"shape", "strength", "width", "expression"});
  const std::string shape = impurity.value("shape", std::string("delta"));
  if (shape == "delta") {
    config.impurity.kind = ImpurityShape::Kind::delta;
  } else if (shape == "gaussian") {
    config.impurity.kind = ImpurityShape::Kind::gaussian;
  } else if (shape == "expression") {
    config.impurity.kind = ImpurityShape::Kind::expression;
    if (!impurity.contains("expression") || !impurity["expression"].is_string()) {
      throw InputError(ipath + ".expression: missing (required for shape expression)");
    }
    config.impurity.expression = impurity["expression"].get<std::string>();
    Expression check(config.impurity.expression, {"x"}, {}, ipath + ".expression");
  } else {
    throw InputError(ipath + ".shape = \"" + shape + "\": allowed delta, gaussian, expression");
  }
  // The width: the Gaussian's a (for delta the resolved stand-in the quantum side uses), the
  // support half-width for an expression; a number or {coefficient, exponent}.
  if (!impurity.contains("width")) {
    throw InputError(ipath + ".width: missing (required: the impurity's width a; for delta the "
                     "width of the narrow Gaussian that stands for it on the quantum grid)");
  }
  const json& width = impurity.at("width");
  if (width.is_number()) {
    config.impurity.width = positive_at(impurity, "width", ipath);
  } else {
    reject_unknown(width, ipath + ".width", {"coefficient", "exponent"});
    config.width_coefficient = positive_at(width, "coefficient", ipath + ".width");
    config.width_exponent = width.contains("exponent") ? number_at(width, "exponent", ipath + ".width") : 1.0;
    require(config.width_exponent >= 0.0 && config.width_exponent <= 1.5, ipath + ".width.exponent",
            format_number(config.width_exponent), "must be in [0, 1.5] (1: a/ħ fixed)");
  }
  config.realisations = count_at(node, "realisations", path, 1);
  config.batches = node.contains("batches") ? count_at(node, "batches", path, 2) : 4;
  require(config.batches <= config.realisations, path + ".batches", std::to_string(config.batches),
          "must be <= realisations = " + std::to_string(config.realisations));
  if (node.contains("seed")) {
    const json& seed = node.at("seed");
    if (!seed.is_number_unsigned()) throw InputError(path + ".seed = " + show(seed) + ": must be an integer >= 0");
    config.seed = seed.get<std::uint64_t>();
  }
  const std::string rate = node.value("rate", std::string("t_matrix"));
  if (rate == "born") {
    config.rate = ScatteringRate::born;
  } else if (rate == "t_matrix") {
    config.rate = ScatteringRate::t_matrix;
  } else {
    throw InputError(path + ".rate = \"" + rate + "\": allowed born, t_matrix");
  }
  config.reference_momentum = positive_at(node, "reference_momentum", path);
  const bool physics = node.contains("scattering_time") || node.contains("born_parameter");
  if (physics) {
    // Built only when one of them is there: a const json's operator[] on a missing key is undefined.
    if (node.contains("density") || impurity.contains("strength")) {
      const bool density = node.contains("density");
      throw InputError((density ? path + ".density = " + show(node.at("density"))
                                : ipath + ".strength = " + show(impurity.at("strength"))) +
                       ": give either density and impurity.strength, or scattering_time and "
                       "born_parameter (then both are derived per hbar)");
    }
    require(config.impurity.kind != ImpurityShape::Kind::expression, ipath + ".shape", "\"expression\"",
            "scattering_time and born_parameter need shape delta or gaussian (g is derived)");
    config.scattering_time = positive_at(node, "scattering_time", path);
    config.born_parameter = positive_at(node, "born_parameter", path);
  } else {
    config.density = positive_at(node, "density", path);
    if (config.impurity.kind != ImpurityShape::Kind::expression) {
      config.impurity.strength = number_at(impurity, "strength", ipath);
    }
  }
  return config;
}

DisorderPoint derive_disorder(const DisorderConfig& config, double mass, double hbar) {
  DisorderPoint point;
  point.impurity = config.impurity;
  if (config.width_coefficient) {
    point.impurity.width = *config.width_coefficient * std::pow(hbar, config.width_exponent);
  }
  point.rate = config.rate;
  point.reference_momentum = config.reference_momentum;
  const double p = config.reference_momentum;
  if (config.scattering_time) {
    point.impurity.strength = config.born_parameter * hbar * p / mass;
    const double unit_rate = scattering_rate(config.rate, point.impurity, 1.0, mass, hbar, p);
    point.density = 1.0 / (*config.scattering_time * unit_rate);
  } else {
    point.density = config.density;
  }
  point.born_parameter = mass * std::fabs(point.impurity.strength) / (hbar * p);
  point.reflection = reflection_probability(point.impurity, mass, hbar, p);
  point.scattering_rate = scattering_rate(config.rate, point.impurity, point.density, mass, hbar, p);
  point.scattering_time = 1.0 / point.scattering_rate;
  return point;
}

json to_json(const DisorderPoint& point) {
  const char* shapes[] = {"delta", "gaussian", "expression"};
  return {{"shape", shapes[static_cast<int>(point.impurity.kind)]},
          {"strength", point.impurity.strength},
          {"width", point.impurity.width},
          {"density", point.density},
          {"rate", point.rate == ScatteringRate::born ? "born" : "t_matrix"},
          {"reference_momentum", point.reference_momentum},
          {"born_parameter", point.born_parameter},
          {"reflection", point.reflection},
          {"scattering_rate", point.scattering_rate},
          {"scattering_time", point.scattering_time}};
}

std::string describe(const DisorderPoint& point, double hbar, double length) {
  std::ostringstream out;
  out << "disorder at hbar = " << hbar << ": g = " << point.impurity.strength
      << ", a = " << point.impurity.width << ", n_i = " << point.density << " (about "
      << std::llround(point.density * length) << " impurities per realisation), beta = m g/(hbar p_ref) = "
      << point.born_parameter << ", |r(p_ref)|^2 = " << point.reflection << ", "
      << (point.rate == ScatteringRate::born ? "born" : "t_matrix")
      << " back-scattering time 1/W(p_ref) = " << point.scattering_time;
  return out.str();
}

double impurity_value(const ImpurityShape& shape, double x) {
  if (shape.kind == ImpurityShape::Kind::expression) {
    thread_local std::string text;
    thread_local std::unique_ptr<Expression> expression;
    if (!expression || text != shape.expression) {
      expression = std::make_unique<Expression>(shape.expression, std::vector<std::string>{"x"});
      text = shape.expression;
    }
    return std::fabs(x) <= shape.width ? (*expression)(x) : 0.0;
  }
  const double u = x / shape.width;
  return shape.strength * std::exp(-0.5 * u * u) / (std::sqrt(2.0 * std::numbers::pi) * shape.width);
}

double impurity_range(const ImpurityShape& shape) {
  return shape.kind == ImpurityShape::Kind::expression ? shape.width : gaussian_range * shape.width;
}

double reflection_probability(const ImpurityShape& shape, double mass, double hbar, double p) {
  require(p != 0.0 && std::isfinite(p), "reflection momentum", format_number(p), "must be nonzero");
  if (shape.kind == ImpurityShape::Kind::delta) {
    const double beta = mass * shape.strength / (hbar * std::fabs(p));
    return beta * beta / (1.0 + beta * beta);
  }
  require(shape.width > 0.0, "impurity.width", format_number(shape.width), "must be > 0");
  return rk4_reflection(shape, mass, hbar, p);
}

double reflection_probability_transfer(const ImpurityShape& shape, double mass, double hbar,
                                       double p, std::size_t slices) {
  const double k = std::fabs(p) / hbar;
  const double energy = p * p / (2.0 * mass);
  const double range = impurity_range(shape);
  const double h = 2.0 * range / static_cast<double>(slices);
  const cplx i(0.0, 1.0);
  cplx psi = std::exp(i * k * range);
  cplx dpsi = i * k * psi;
  // Backwards through each slice of constant V: the inverse of the slice's transfer matrix.
  for (std::size_t s = slices; s-- > 0;) {
    const double x_mid = -range + (static_cast<double>(s) + 0.5) * h;
    const cplx q = std::sqrt(cplx(2.0 * mass * (energy - impurity_value(shape, x_mid)), 0.0)) / hbar;
    const cplx c = std::cos(q * h);
    const cplx sinc_h = std::abs(q) * h < 1e-8 ? cplx(h) : std::sin(q * h) / q;
    const cplx qs = q * std::sin(q * h);
    const cplx next_psi = c * psi - sinc_h * dpsi;
    const cplx next_dpsi = qs * psi + c * dpsi;
    psi = next_psi;
    dpsi = next_dpsi;
  }
  return reflection_from_left_state(psi, dpsi, k, -range);
}

double t_matrix_rate(const ImpurityShape& shape, double density, double mass, double hbar, double p) {
  return density * std::fabs(p) / mass * reflection_probability(shape, mass, hbar, p);
}

double scattering_rate(ScatteringRate rate, const ImpurityShape& shape, double density, double mass,
                       double hbar, double p) {
  if (rate == ScatteringRate::t_matrix) return t_matrix_rate(shape, density, mass, hbar, p);
  return backscattering_rate(shape, density, mass, hbar, p);
}

std::shared_ptr<const CollisionOperator> make_impurity_scattering(ScatteringRate rate,
                                                                  const ImpurityShape& shape,
                                                                  double density, double mass,
                                                                  double hbar) {
  // Back-scattering at this rate, cached per grid: the CUDA backend applies it on the device.
  return make_backscattering(
      [rate, shape, density, mass, hbar](double p) {
        return scattering_rate(rate, shape, density, mass, hbar, p);
      },
      rate == ScatteringRate::born ? "impurities (born)" : "impurities (t_matrix)");
}

std::mt19937_64 realisation_engine(std::uint64_t seed, std::size_t realisation) {
  return std::mt19937_64(splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(realisation)));
}

double uniform01(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

std::vector<double> poisson_positions(std::mt19937_64& engine, double density, double x_min,
                                      double length) {
  std::vector<double> positions;
  double x = x_min;
  while (true) {
    x += -std::log1p(-uniform01(engine)) / density;
    if (x >= x_min + length) break;
    positions.push_back(x);
  }
  return positions;
}

std::vector<double> impurity_potential(const Grid& grid, const ImpurityShape& shape,
                                       const std::vector<double>& positions) {
  std::vector<double> potential(grid.size, 0.0);
  const double range = std::min(impurity_range(shape), 0.5 * grid.length);
  const double dx = grid.dx();
  const long size = static_cast<long>(grid.size);
  for (double centre : positions) {
    const long first = static_cast<long>(std::ceil((centre - range - grid.x_min) / dx));
    const long last = std::min(static_cast<long>(std::floor((centre + range - grid.x_min) / dx)),
                               first + size - 1);
    for (long i = first; i <= last; ++i) {
      const double distance = grid.x_min + static_cast<double>(i) * dx - centre;
      potential[static_cast<std::size_t>(((i % size) + size) % size)] += impurity_value(shape, distance);
    }
  }
  return potential;
}

}  // namespace phasespace
