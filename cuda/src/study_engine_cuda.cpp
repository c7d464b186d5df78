// The study's CUDA engine: one ħ point with ψ, ρ_q and ρ_c resident on the device. Only the
// densities (and ψ for the exact observables) come back, at output times. A disorder point runs
// the host's DisorderEngine with the device's fields (CudaDisorderBackend).
#include <algorithm>
#include <span>

#include "../../host/src/disorder_engine.hpp"
#include "../../host/src/study_engine.hpp"
#include "phasespace/cuda/liouville.hpp"
#include "phasespace/cuda/projection.hpp"
#include "phasespace/cuda/propagator.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {

namespace {

// The config's choice (plan_study allows "on" on backend cuda only).
cuda::FftCallbacks fft_callbacks(const StudyConfig& config) {
  return config.fft_callbacks == "on" ? cuda::FftCallbacks::on : cuda::FftCallbacks::off;
}

template <class Real>
class CudaEngine : public PointEngine {
 public:
  CudaEngine(const StudyConfig& config, const PointPlan& plan, MemberRange members)
      : potential_(config.system.potential, config.system.potential_derivative, "system.potential"),
        ensemble_(make_point_ensemble(config, plan, members)),
        propagator_(plan.grid, potential_, propagator_options(config, plan), ensemble_.members(),
                    fft_callbacks(config)),
        projector_(plan.grid, Window{config.window.shape, plan.window_width}, plan.phase_space,
                   cuda::default_projection_memory_budget, fft_callbacks(config)),
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

// DisorderEngine's fields on the device: ψ with one impurity potential per realisation, each
// batch projected in place (cuda::Projector over a member range), Boltzmann with the impurity
// back-scattering applied by cuda::Collisions. n, j and P₊ come from a download of ψ
// (grid.size × members values, small against the phase-space fields) by the CPU's functions.
template <class Real>
struct CudaDisorderBackend {
  using Ensemble = cuda::DeviceEnsemble<Real>;
  using Density = cuda::DeviceDensity<Real>;
  using Propagator = cuda::SplitStepPropagator<Real>;
  using Projector = cuda::Projector<Real>;
  using Solver = cuda::LiouvilleSolver<Real>;

  static Ensemble ensemble(const phasespace::Ensemble& start) { return Ensemble(start); }
  static std::unique_ptr<Propagator> propagator(const StudyConfig& config, const PointPlan& plan,
                                                const Potential& potential, std::size_t members,
                                                MemberPotentials potentials) {
    return std::make_unique<Propagator>(plan.grid, potential, propagator_options(config, plan),
                                        members, std::move(potentials), fft_callbacks(config));
  }
  static std::unique_ptr<Projector> projector(const StudyConfig& config, const PointPlan& plan) {
    return std::make_unique<Projector>(plan.grid, Window{config.window.shape, plan.window_width},
                                       plan.phase_space, cuda::default_projection_memory_budget,
                                       fft_callbacks(config));
  }
  static Density density(std::size_t cells) { return Density(cells); }
  static Density batch_scratch(std::size_t cells) { return Density(cells); }
  static void write(Density& field, std::span<const double> values) { field.upload(values); }
  static void read(const Density& field, std::span<double> values) {
    const auto downloaded = field.download();
    std::copy(downloaded.begin(), downloaded.end(), values.begin());
  }
  static phasespace::Ensemble host(const Ensemble& ensemble) { return ensemble.download(); }
  static void project(Projector& projector, const Ensemble& ensemble, std::size_t first,
                      std::span<const double> weights, Density& scratch, std::span<double> out) {
    projector.project(ensemble, first, weights, scratch);
    read(scratch, out);
  }
};

template <class Real>
std::unique_ptr<PointEngine> make_engine(const StudyConfig& config, const PointPlan& plan,
                                         MemberRange members) {
  if (config.system.disorder) {
    return std::make_unique<DisorderEngine<CudaDisorderBackend<Real>>>(config, plan, members);
  }
  return std::make_unique<CudaEngine<Real>>(config, plan, members);
}

}  // namespace

std::unique_ptr<PointEngine> make_cuda_engine(const StudyConfig& config, const PointPlan& plan,
                                              MemberRange members) {
  if (config.precision == "float") return make_engine<float>(config, plan, members);
  return make_engine<double>(config, plan, members);
}

}  // namespace phasespace
