// The study's CUDA engine: one ħ point with ψ, ρ_q and ρ_c resident on the device. Only the
// densities (and ψ for the exact observables) come back, at output times.
#include <variant>

#include "../../host/src/study_engine.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/cuda/projection.hpp"
#include "phasespace/cuda/propagator.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {

namespace {

template <class Real>
class CudaEngine : public PointEngine {
 public:
  CudaEngine(const StudyConfig& config, const PointPlan& plan, MemberRange members)
      : potential_(config.system.potential, config.system.potential_derivative, "system.potential"),
        ensemble_(make_point_ensemble(config, plan, members)),
        propagator_(plan.grid, potential_, propagator_options(config, plan), ensemble_.members()),
        projector_(plan.grid, Window{config.window.shape, plan.window_width}, plan.phase_space),
        liouville_(plan.phase_space, potential_, liouville_options(config),
                   make_collisions(config, plan)),
        quantum_(plan.phase_space.cells()),
        classical_(plan.phase_space.cells()),
        hbar_(plan.hbar),
        mass_(config.system.mass) {}

  void advance_quantum(double t_start, std::size_t steps) override {
    propagator_.advance(ensemble_, t_start, steps);
  }
  void advance_classical(double t_start, std::size_t steps) override {
    liouville_.advance(classical_, t_start, steps);
  }
  void quantum_density(std::span<double> density) override {
    projector_.project(ensemble_, quantum_);
    const auto values = quantum_.download();
    std::copy(values.begin(), values.end(), density.begin());
  }
  void start_classical(std::span<const double> density) override { classical_.upload(density); }
  void classical_density(std::span<double> density) override {
    const auto values = classical_.download();
    std::copy(values.begin(), values.end(), density.begin());
  }
  void quantum_observables(std::vector<double>& density, std::vector<double>& current) override {
    const Ensemble host = ensemble_.download();
    density = position_density(host);
    current = current_density(host, hbar_, mass_);
  }
  std::vector<std::complex<double>> pure_state() override {
    if (ensemble_.members() != 1) return {};
    const Ensemble host = ensemble_.download();
    return {host.psi.begin(), host.psi.end()};
  }

 private:
  Potential potential_;
  cuda::DeviceEnsemble<Real> ensemble_;
  cuda::SplitStepPropagator<Real> propagator_;
  cuda::Projector<Real> projector_;
  cuda::LiouvilleSolver<Real> liouville_;
  cuda::DeviceDensity<Real> quantum_;
  cuda::DeviceDensity<Real> classical_;
  double hbar_;
  double mass_;
};

}  // namespace

std::unique_ptr<PointEngine> make_cuda_engine(const StudyConfig& config, const PointPlan& plan,
                                              MemberRange members) {
  if (config.precision == "float") return std::make_unique<CudaEngine<float>>(config, plan, members);
  return std::make_unique<CudaEngine<double>>(config, plan, members);
}

}  // namespace phasespace
