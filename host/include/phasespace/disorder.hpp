#pragma once
// Random impurities (physics.md, "Collisions"): the quantum side averages over realisations of
// a Poisson set of impurities added to U(x), the classical side runs Boltzmann with the
// back-scattering rate of one impurity, golden rule (`born`) or exact (`t_matrix`).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/collisions.hpp"
#include "phasespace/grid.hpp"

namespace phasespace {

enum class ScatteringRate { born, t_matrix };

// `system.disorder` as given. Either impurity.strength and density, or `physics` (a target
// back-scattering time at a reference momentum and a Born parameter) from which g and n_i are
// derived at each ħ.
struct DisorderConfig {
  ImpurityShape impurity;            // width: fixed, or the rule coefficient·ħ^exponent
  std::optional<double> width_coefficient;
  double width_exponent = 1.0;
  double density = 0.0;              // n_i (impurities per unit length)
  std::size_t realisations = 0;      // R
  std::uint64_t seed = 1;
  std::size_t batches = 4;           // for the statistical errors
  ScatteringRate rate = ScatteringRate::t_matrix;
  // physics: W(p_ref) = 1/scattering_time with β = m g/(ħ p_ref) (g then scales like ħ).
  std::optional<double> scattering_time;
  double reference_momentum = 0.0;
  double born_parameter = 0.0;
};

// Parses system.disorder (path "system.disorder"); throws InputError naming the path.
DisorderConfig parse_disorder(const nlohmann::json& node, const std::string& path = "system.disorder");

// What one ħ point uses: the impurity with its strength and width at that ħ, and the rates.
struct DisorderPoint {
  ImpurityShape impurity;   // strength g and width a at this ħ
  double density = 0.0;     // n_i
  ScatteringRate rate = ScatteringRate::t_matrix;
  double reference_momentum = 0.0;  // p_ref (physics), else 0
  double born_parameter = 0.0;      // m g/(ħ p_ref) (δ-equivalent), when p_ref is known
  double reflection = 0.0;          // |r(p_ref)|², exact single scatterer
  double scattering_rate = 0.0;     // W(p_ref) by the chosen rate
  double scattering_time = 0.0;     // 1/W(p_ref)
};
DisorderPoint derive_disorder(const DisorderConfig& config, double mass, double hbar);
nlohmann::json to_json(const DisorderPoint& point);
std::string describe(const DisorderPoint& point, double hbar, double length);

// |r(p)|² of one impurity at rest. delta: β²/(1+β²), β = m g/(ħ|p|) (closed form); gaussian and
// expression: RK4 integration of ψ'' = (2m/ħ²)(V − E)ψ through the impurity.
double reflection_probability(const ImpurityShape& shape, double mass, double hbar, double p);
// The same by an independent method: transfer matrices of a piecewise-constant potential
// (`slices` slices, midpoint values). For tests.
double reflection_probability_transfer(const ImpurityShape& shape, double mass, double hbar,
                                       double p, std::size_t slices);
// Exact single-scatterer back-scattering rate n_i (|p|/m) |r(p)|².
double t_matrix_rate(const ImpurityShape& shape, double density, double mass, double hbar, double p);
double scattering_rate(ScatteringRate rate, const ImpurityShape& shape, double density, double mass,
                       double hbar, double p);
// Back-scattering p → −p at the chosen rate (even part kept, odd part × e^{−2W(p)τ}).
std::shared_ptr<const CollisionOperator> make_impurity_scattering(ScatteringRate rate,
                                                                  const ImpurityShape& shape,
                                                                  double density, double mass,
                                                                  double hbar);

// Reproducible randomness: mt19937_64 (its output sequence is fixed by the standard) seeded per
// realisation with splitmix64(seed, r), and our own uniform and exponential draws (std's
// distributions differ between library versions).
std::mt19937_64 realisation_engine(std::uint64_t seed, std::size_t realisation);
double uniform01(std::mt19937_64& engine);  // [0, 1), 53 random bits
// Poisson process of density n on [x_min, x_min + length): exponential gaps from x_min.
std::vector<double> poisson_positions(std::mt19937_64& engine, double density, double x_min,
                                      double length);
// V(x) of one impurity at the origin: the normalised Gaussian g e^{−x²/2a²}/(√(2π) a) for gaussian
// and for delta (its resolved stand-in on the grid), the expression for expression.
double impurity_value(const ImpurityShape& shape, double x);
// Half-width beyond which an impurity's potential is taken as zero.
double impurity_range(const ImpurityShape& shape);
// Σ_j V(x_n − x_j) on the periodic grid (nearest image of each impurity).
std::vector<double> impurity_potential(const Grid& grid, const ImpurityShape& shape,
                                       const std::vector<double>& positions);

}  // namespace phasespace
