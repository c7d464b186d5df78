#include "phasespace/initial_state.hpp"

#include <cmath>
#include <numbers>

#include "phasespace/errors.hpp"
#include "phasespace/expression.hpp"

namespace phasespace {

namespace {

// x - x0 taken to the nearest periodic image on the grid.
double periodic_offset(const Grid& grid, double x, double x0) {
  double offset = x - x0;
  offset -= grid.length * std::round(offset / grid.length);
  return offset;
}

void normalise(const Grid& grid, AlignedVector<complex>& psi, const std::string& field) {
  double sum = 0.0;
  for (const complex& value : psi) sum += std::norm(value);
  const double norm = sum * grid.dx();
  require(norm > 0.0 && std::isfinite(norm), field, "norm " + format_number(norm),
          "the state must have a finite, non-zero norm on the grid");
  const double scale = 1.0 / std::sqrt(norm);
  for (complex& value : psi) value *= scale;
}

void check_packet(const Grid& grid, const GaussianPacket& packet, const std::string& field) {
  require(packet.sigma > 0.0 && std::isfinite(packet.sigma), field + ".sigma",
          format_number(packet.sigma), "must be > 0");
  require(packet.sigma < grid.length / 8.0, field + ".sigma", format_number(packet.sigma),
          "must be < domain/8 so the periodic images do not overlap");
  require(packet.sigma > grid.dx(), field + ".sigma", format_number(packet.sigma),
          "must be > dx = " + format_number(grid.dx()) + " so the grid resolves it");
}

}  // namespace

AlignedVector<complex> gaussian_packet(const Grid& grid, double hbar, const GaussianPacket& packet) {
  check_packet(grid, packet, "initial_state");
  AlignedVector<complex> psi(grid.size);
  const double amplitude = std::pow(2.0 * std::numbers::pi * packet.sigma * packet.sigma, -0.25);
  for (std::size_t n = 0; n < grid.size; ++n) {
    const double u = periodic_offset(grid, grid.x(n), packet.x0);
    // The momentum phase uses the offset from x0 too, so it is periodic on the grid.
    const double envelope = amplitude * std::exp(-u * u / (4.0 * packet.sigma * packet.sigma));
    psi[n] = std::polar(envelope, packet.p0 * (u + packet.x0) / hbar);
  }
  return psi;
}

AlignedVector<complex> wkb_state(const Grid& grid, double hbar, const std::string& amplitude,
                                 const std::string& phase) {
  const Expression a(amplitude, {"x"}, {}, "initial_state.amplitude");
  const Expression s(phase, {"x"}, {}, "initial_state.phase");
  AlignedVector<complex> psi(grid.size);
  for (std::size_t n = 0; n < grid.size; ++n) {
    const double x = grid.x(n);
    const double value = a(x);
    const double action = s(x);
    require(std::isfinite(value), "initial_state.amplitude", "\"" + amplitude + "\"",
            "not finite at x = " + format_number(x) + " (" + format_number(value) + ")");
    require(std::isfinite(action), "initial_state.phase", "\"" + phase + "\"",
            "not finite at x = " + format_number(x) + " (" + format_number(action) + ")");
    psi[n] = value * std::polar(1.0, action / hbar);
  }
  normalise(grid, psi, "initial_state");
  return psi;
}

AlignedVector<complex> superposition(const Grid& grid, double hbar,
                                     const std::vector<PacketTerm>& terms) {
  require(!terms.empty(), "initial_state.terms", "[]", "needs at least one packet");
  AlignedVector<complex> psi(grid.size, complex(0.0, 0.0));
  for (const PacketTerm& term : terms) {
    const auto packet = gaussian_packet(grid, hbar, term.packet);
    for (std::size_t n = 0; n < grid.size; ++n) psi[n] += term.coefficient * packet[n];
  }
  normalise(grid, psi, "initial_state");
  return psi;
}

Ensemble pure_state(const Grid& grid, AlignedVector<complex> psi) {
  Ensemble ensemble(grid, 0);
  ensemble.add(1.0, psi);
  return ensemble;
}

namespace {

// Normalised Hermite functions φ_n(u) = H_n(u) e^{-u²/2} / sqrt(2^n n! √π), for n = 0..count-1,
// by the stable three-term recurrence.
void hermite_functions(double u, std::vector<double>& values) {
  const std::size_t count = values.size();
  values[0] = std::pow(std::numbers::pi, -0.25) * std::exp(-0.5 * u * u);
  if (count > 1) values[1] = std::sqrt(2.0) * u * values[0];
  for (std::size_t n = 2; n < count; ++n) {
    const double order = static_cast<double>(n);
    values[n] = std::sqrt(2.0 / order) * u * values[n - 1] -
                std::sqrt((order - 1.0) / order) * values[n - 2];
  }
}

}  // namespace

Ensemble gaussian_mixed_state(const Grid& grid, double hbar, const GaussianMixedState& state) {
  const std::string field = "initial_state";
  require(state.sigma_x > 0.0, field + ".sigma_x", format_number(state.sigma_x), "must be > 0");
  require(state.sigma_p > 0.0, field + ".sigma_p", format_number(state.sigma_p), "must be > 0");
  const double product = state.sigma_x * state.sigma_p;
  require(product >= 0.5 * hbar * (1.0 - 1e-12), field + ".sigma_x*sigma_p",
          format_number(product),
          "must be >= hbar/2 = " + format_number(0.5 * hbar) + " (else it is not a quantum state)");
  require(state.weight_tolerance > 0.0 && state.weight_tolerance < 1.0,
          field + ".weight_tolerance", format_number(state.weight_tolerance), "must be in (0, 1)");
  const double occupation = std::max(0.0, product / hbar - 0.5);  // n̄
  const double ratio = occupation / (occupation + 1.0);            // q
  // Members n = 0..M-1 with the left-out weight q^M < tolerance.
  std::size_t members = 1;
  if (ratio > 0.0) {
    members = static_cast<std::size_t>(
        std::ceil(std::log(state.weight_tolerance) / std::log(ratio)));
    members = std::max<std::size_t>(members, 1);
  }
  // Length scale b of the reference oscillator: var x of φ_n is (n + 1/2) b².
  const double scale = std::sqrt(state.sigma_x * hbar / state.sigma_p);
  // The highest member reaches its turning point at sqrt(2M+1)·b; 4b beyond it its density has
  // decayed below ~1e-12 (Airy tail). In momentum likewise with ħ/b. Both must fit the grid.
  const double turning = std::sqrt(2.0 * static_cast<double>(members) + 1.0);
  const double x_extent = (turning + 4.0) * scale;
  require(x_extent < 0.5 * grid.length, field,
          "a Gaussian mixed state of " + std::to_string(members) + " members (extent +-" +
              format_number(x_extent) + ")",
          "needs a domain longer than twice the extent of its highest member");
  const double p_extent = std::abs(state.p0) + (turning + 4.0) * hbar / scale;
  require(p_extent < grid.max_momentum(hbar), field,
          "a Gaussian mixed state reaching |p| = " + format_number(p_extent),
          "needs a grid resolving it (max momentum pi*hbar/dx = " +
              format_number(grid.max_momentum(hbar)) + "); raise the resolution");
  Ensemble ensemble(grid, members);
  std::vector<double> values(members);
  for (std::size_t n = 0; n < grid.size; ++n) {
    const double u = periodic_offset(grid, grid.x(n), state.x0);
    hermite_functions(u / scale, values);
    const complex carrier = std::polar(1.0 / std::sqrt(scale), state.p0 * (u + state.x0) / hbar);
    for (std::size_t k = 0; k < members; ++k) ensemble.psi[k * grid.size + n] = values[k] * carrier;
  }
  for (std::size_t k = 0; k < members; ++k) {
    ensemble.weights[k] = (1.0 - ratio) * std::pow(ratio, static_cast<double>(k));
  }
  ensemble.normalise_weights();
  return ensemble;
}

Ensemble coherent_ensemble(const Grid& grid, double hbar, const CoherentEnsemble& state) {
  const std::string field = "initial_state";
  require(state.aspect > 0.0, field + ".aspect", format_number(state.aspect), "must be > 0");
  require(state.spacing > 0.0, field + ".spacing", format_number(state.spacing), "must be > 0");
  double x_low = state.x_range[0], x_high = state.x_range[1];
  if (x_low == x_high) {
    x_low = grid.x_min;
    x_high = grid.x_max();
  }
  require(x_high > x_low, field + ".x_range", format_number(x_low) + ".." + format_number(x_high),
          "needs x_min < x_max");
  require(state.p_range[1] > state.p_range[0], field + ".p_range",
          format_number(state.p_range[0]) + ".." + format_number(state.p_range[1]),
          "needs p_min < p_max");
  const Expression density(state.density, {"x", "p"}, {}, field + ".density");
  const double root = std::sqrt(std::numbers::pi * hbar);
  const double step_x = root * state.aspect * state.spacing;
  const double step_p = root / state.aspect * state.spacing;
  const double sigma = std::sqrt(hbar / 2.0) * state.aspect;
  Ensemble ensemble(grid, 0);
  for (double x = x_low + 0.5 * step_x; x < x_high; x += step_x) {
    for (double p = state.p_range[0] + 0.5 * step_p; p < state.p_range[1]; p += step_p) {
      const double weight = density(x, p);
      require(std::isfinite(weight), field + ".density", "\"" + state.density + "\"",
              "not finite at x = " + format_number(x) + ", p = " + format_number(p) + " (" +
                  format_number(weight) + ")");
      if (!(weight > 0.0)) continue;
      ensemble.add(weight, gaussian_packet(grid, hbar, GaussianPacket{x, p, sigma}));
    }
  }
  require(ensemble.members() > 0, field + ".density", "\"" + state.density + "\"",
          "must be positive somewhere on the sampling lattice");
  ensemble.normalise_weights();
  return ensemble;
}

}  // namespace phasespace
