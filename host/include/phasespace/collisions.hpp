#pragma once
// Collision operators (Boltzmann right-hand sides), each applied exactly over a step τ.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "phasespace/liouville.hpp"

namespace phasespace {

namespace kernels {
struct MaxwellianRowOutcome;
}

// BGK relaxation C f = -(f - f_eq)/τ_relax: f ← f_eq + (f - f_eq) e^{-τ/τ_relax}.
// f_eq is given as an expression of x and p, or (when empty) the local Maxwellian with the
// density, mean momentum and temperature of f at each x, matched so that those are conserved
// to round-off on the discrete grid.
std::shared_ptr<const CollisionOperator> make_relaxation(double relaxation_time, double mass,
                                                         std::optional<std::string> equilibrium);

// Impurity potential shape for golden-rule rates.
struct ImpurityShape {
  enum class Kind { delta, gaussian, expression } kind = Kind::delta;
  double strength = 1.0;  // g: for delta V = g δ(x); for gaussian V = g e^{-x²/2a²}/(√(2π) a)
  double width = 0.0;     // a (gaussian)
  std::string expression;  // V(x) (expression)
};
// Ṽ(q) = ∫ V(x) e^{-iqx/ħ} dx (real for even V; computed by quadrature for expressions).
double impurity_fourier(const ImpurityShape& shape, double q, double hbar);
// Golden-rule back-scattering rate W(p) = n_i m |Ṽ(2p)|² / (ħ² |p|).
double backscattering_rate(const ImpurityShape& shape, double density, double mass, double hbar,
                           double p);

// Elastic back-scattering p → -p at rate W(p): even part kept, odd part × e^{-2W(p)τ}.
// Needs a momentum-symmetric grid.
std::shared_ptr<const CollisionOperator> make_backscattering(const ImpurityShape& shape,
                                                             double density, double mass,
                                                             double hbar);
// The same at any rate W(p) >= 0 (the disorder study's born or t_matrix rate, disorder.hpp),
// cached per grid; `name` is the operator's name. The CUDA backend applies it as it applies the
// one above (collision_kind: backscattering).
std::shared_ptr<const CollisionOperator> make_backscattering(std::function<double(double)> rate,
                                                             std::string name);

// General rate matrix between momentum cells: df_k/dt = Σ_l (Q_lk f_l) - f_k Σ_l Q_kl, given as
// the generator G (P×P, G[k][l] = rate from l to k for k≠l, columns summing to zero); applied
// exactly as f ← exp(Gτ) f (matrix exponential cached per τ).
std::shared_ptr<const CollisionOperator> make_rate_matrix(std::vector<std::vector<double>> generator);
// Golden-rule generator with δ(E_k - E_l) broadened over one momentum cell.
std::vector<std::vector<double>> golden_rule_generator(const PhaseSpaceGrid& grid,
                                                       const ImpurityShape& shape, double density,
                                                       double mass);

// ---------------------------------------------------------------- for the CUDA backend
// A backend that applies the operators above itself takes from here what does not depend on f,
// computed in double by the code their CPU apply() runs (and from its caches), so both backends
// multiply by the same numbers.
enum class CollisionKind { given_relaxation, maxwellian_relaxation, backscattering, rate_matrix };
// Which operator of the make_* functions above `collision` is; nullopt for any other.
std::optional<CollisionKind> collision_kind(const CollisionOperator& collision);
// The factors C(τ) applies on `grid`, with τ and the grid checked as apply() checks them:
//   relaxation (either kind): {e^{-τ/τ_relax}};
//   backscattering: e^{-2W(p_j)τ} for j < momenta/2, the pair (j, momenta - 1 - j);
//   rate matrix: exp(Gτ), momenta × momenta row-major: f_k ← Σ_l factors[k·momenta + l]·f_l.
std::vector<double> collision_factors(const CollisionOperator& collision,
                                      const PhaseSpaceGrid& grid, double tau);
// Relaxation towards a given equilibrium: f_eq(x0_c, p_j) at [c·momenta + j].
std::vector<double> relaxation_equilibrium(const CollisionOperator& relaxation,
                                           const PhaseSpaceGrid& grid);
// The local-Maxwellian relaxation's verdict on one step, from what it did with each row (one per
// centre, kernels/collision.hpp): throws Error naming x0 when f is not finite in a row, when a fit
// did not match, or when rows without a Maxwellian hold more than maxwellian_unrelaxed_limit of
// Σ|f|. Both backends call it, so they stop alike.
void check_maxwellian_rows(const PhaseSpaceGrid& grid, const kernels::MaxwellianRowOutcome* rows);

}  // namespace phasespace
