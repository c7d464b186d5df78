// Propagates a coherent state for half a harmonic period through the installed library and
// prints ⟨x⟩, which must be -x0 (checked by run_consumer.cmake).
#include <cstdio>
#include <numbers>

#include "phasespace/initial_state.hpp"
#include "phasespace/propagator.hpp"

int main() {
  using namespace phasespace;
  const Grid grid = make_grid(-8.0, 8.0, 256);
  const double hbar = 0.1;
  Ensemble ensemble = pure_state(grid, gaussian_packet(grid, hbar, {1.5, 0.0, std::sqrt(hbar / 2)}));
  const std::size_t steps = 1000;
  SplitStepPropagator propagator(grid, Potential("0.5*x^2"),
                                 {1.0, hbar, std::numbers::pi / steps, Scheme::yoshida4, {}}, 1);
  propagator.advance(ensemble, 0.0, steps);
  double mean_x = 0.0;
  for (std::size_t n = 0; n < grid.size; ++n) mean_x += std::norm(ensemble.psi[n]) * grid.x(n) * grid.dx();
  std::printf("mean_x %.9f\n", mean_x);
  return 0;
}
