#pragma once
// The disorder study's engine (disorder_study.hpp), one implementation for both backends.
// DisorderEngineBase is the host part: realisations and batches, the impurity potentials, the
// per-batch values and their MPI gathering, n, j and P₊ from a host copy of ψ. DisorderEngine
// adds the fields a backend holds, through a small traits struct: CpuDisorderBackend below, and
// CudaDisorderBackend<Real> (cuda/src/study_engine_cuda.cpp), where ψ and the densities stay on
// the device and a batch's ψ comes back only for n, j and P₊ (grid.size × members values, small
// against the phase-space fields).
#include <algorithm>
#include <complex>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "phasespace/disorder.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/projection.hpp"
#include "phasespace/propagator.hpp"
#include "study_engine.hpp"

namespace phasespace {

// One batch of realisations at the output time just measured: its own average's projected
// density, n, j and P₊ (the standard errors are over these), and its share R_b / R.
struct BatchValues {
  std::vector<double> density, n, j;
  double p_plus = 0.0;
  double weight = 0.0;  // R_b / R
};

// Realisations [first, end) of this process: the whole point, or under MPI a chunk of whole
// batches (PointPlan::block_boundaries; parallel.hpp). Each batch's values are computed by the
// one process that holds it; gather_batches brings them all to the point's owner.
class DisorderEngineBase : public PointEngine {
 public:
  ~DisorderEngineBase() override;
  DisorderEngineBase(const DisorderEngineBase&) = delete;
  DisorderEngineBase& operator=(const DisorderEngineBase&) = delete;

  std::vector<std::complex<double>> pure_state() override { return {}; }

  // Every batch's values (density, n, j, p_plus) of the last output time, each batch where its
  // process put it and zeros elsewhere, summed by `reduce` onto the owner: adding zeros is
  // exact, so the owner holds the very numbers one process computes.
  void gather_batches(const std::function<void(std::span<double>)>& reduce);
  const std::vector<BatchValues>& batches() const { return batches_; }
  // The collisionless Liouville density (the contrast to Boltzmann), on the host.
  virtual std::vector<double> free_density() = 0;

 protected:
  DisorderEngineBase(const StudyConfig& config, const PointPlan& plan, MemberRange members);

  // The members of this process (weights w_k / R) and one potential per realisation held here;
  // each may be taken once, by the backend's propagator.
  Ensemble take_start_ensemble();
  MemberPotentials take_member_potentials();
  // The config's collisions and the impurity back-scattering at this point's rate.
  std::vector<std::shared_ptr<const CollisionOperator>> with_impurities() const;

  // density = Σ_b (R_b/R)·ρ_b over this process's batches (under MPI the chunks' sums add up to
  // the whole average), where project(b, first, weights, ρ_b) projects members [first,
  // first + weights.size()) of this process's ensemble with the weights renormalised to batch b.
  using BatchProjection =
      std::function<void(std::size_t first, std::span<const double> weights, std::span<double>)>;
  void project_batches(std::span<double> density, const BatchProjection& project);
  // n, j and P₊ of each batch held here from ψ on the host (`host`: this process's ensemble),
  // and their weighted sums.
  void observe_batches(const Ensemble& host, std::vector<double>& density,
                       std::vector<double>& current);

  const StudyConfig& config_;
  PointPlan plan_;
  DisorderPoint disorder_;
  Potential potential_;

 private:
  Ensemble make_disorder_ensemble(MemberRange members);
  MemberPotentials make_member_potentials() const;
  // The members [first, last) of batch b within this process's ensemble.
  std::pair<std::size_t, std::size_t> batch_members(std::size_t b) const;
  std::vector<double> batch_weights(std::size_t b) const;
  double momentum_plus_fraction(const Ensemble& batch);

  Ensemble initial_;
  std::vector<BatchValues> batches_;
  std::size_t first_batch_ = 0, end_batch_ = 0;              // the batches held here
  std::size_t first_realisation_ = 0, end_realisation_ = 0;  // their realisations
  Ensemble start_;                      // until the backend takes it
  std::vector<double> member_weights_;  // of this process's members (w_k / R)
  MemberPotentials member_potentials_;
  struct MomentumTransform;  // the FFT behind P₊
  std::unique_ptr<MomentumTransform> transform_;
};

// The backend's side: ψ, the propagator with the member potentials, the projector, Boltzmann
// with the impurity scattering and the free Liouville solver, each of Backend's types.
template <class Backend>
class DisorderEngine final : public DisorderEngineBase {
 public:
  DisorderEngine(const StudyConfig& config, const PointPlan& plan, MemberRange members)
      : DisorderEngineBase(config, plan, members),
        ensemble_(Backend::ensemble(take_start_ensemble())),
        propagator_(Backend::propagator(config, plan, potential_, ensemble_.members(),
                                        take_member_potentials())),
        projector_(Backend::projector(config, plan)),
        batch_scratch_(Backend::batch_scratch(plan.phase_space.cells())) {}

  void advance_quantum(double t_start, std::size_t steps) override {
    propagator_->advance(ensemble_, t_start, steps);
  }
  void advance_classical(double t_start, std::size_t steps) override {
    Classical& classical = owned_classical();
    classical.boltzmann.advance(classical.density, t_start, steps);
    classical.free.advance(classical.free_density, t_start, steps);
  }
  void quantum_density(std::span<double> density) override {
    project_batches(density, [&](std::size_t first, std::span<const double> weights,
                                 std::span<double> batch) {
      Backend::project(*projector_, ensemble_, first, weights, batch_scratch_, batch);
    });
  }
  // Only the point's owner runs the classical side (study_engine.cpp): the solvers and their
  // fields are made here, so the other ranks of a shared point never hold them.
  void start_classical(std::span<const double> density) override {
    const PhaseSpaceGrid& grid = plan_.phase_space;
    const LiouvilleOptions options = liouville_options(config_);
    classical_.reset(new Classical{
        typename Backend::Solver(grid, potential_, options, with_impurities()),
        typename Backend::Solver(grid, potential_, options, make_collisions(config_, plan_)),
        Backend::density(grid.cells()), Backend::density(grid.cells())});
    Backend::write(classical_->density, density);
    Backend::write(classical_->free_density, density);
  }
  void classical_density(std::span<double> density) override {
    Backend::read(owned_classical().density, density);
  }
  void quantum_observables(std::vector<double>& density, std::vector<double>& current) override {
    const auto& host = Backend::host(ensemble_);  // a reference, or a download kept alive here
    observe_batches(host, density, current);
  }
  std::vector<double> free_density() override {
    std::vector<double> values(plan_.phase_space.cells());
    Backend::read(owned_classical().free_density, values);
    return values;
  }

 private:
  typename Backend::Ensemble ensemble_;
  // Made by the backend, which knows its own options (e.g. the device's fft_callbacks).
  std::unique_ptr<typename Backend::Propagator> propagator_;
  std::unique_ptr<typename Backend::Projector> projector_;
  // Boltzmann with the impurity scattering and the collisionless Liouville contrast.
  struct Classical {
    typename Backend::Solver boltzmann;
    typename Backend::Solver free;
    typename Backend::Density density;
    typename Backend::Density free_density;
  };
  Classical& owned_classical() {
    if (!classical_) {
      throw Error("disorder engine: the classical side runs on the point's owner, after "
                  "start_classical");
    }
    return *classical_;
  }

  std::unique_ptr<Classical> classical_;     // the owner's, from start_classical
  typename Backend::Density batch_scratch_;  // one batch's ρ where the backend needs it
};

// The CPU reference: everything in host memory; a batch is projected from a copy of its
// members (the reference stays plain).
struct CpuDisorderBackend {
  using Ensemble = phasespace::Ensemble;
  using Density = std::vector<double>;
  using Propagator = SplitStepPropagator;
  using Projector = phasespace::Projector;
  using Solver = LiouvilleSolver;

  static Ensemble ensemble(Ensemble start) { return start; }
  static std::unique_ptr<Propagator> propagator(const StudyConfig& config, const PointPlan& plan,
                                                const Potential& potential, std::size_t members,
                                                MemberPotentials potentials) {
    return std::make_unique<Propagator>(plan.grid, potential, propagator_options(config, plan),
                                        members, std::move(potentials));
  }
  static std::unique_ptr<Projector> projector(const StudyConfig& config, const PointPlan& plan) {
    return std::make_unique<Projector>(plan.grid, Window{config.window.shape, plan.window_width},
                                       plan.phase_space);
  }
  static Density density(std::size_t cells) { return Density(cells); }
  static Density batch_scratch(std::size_t) { return {}; }
  static void write(Density& field, std::span<const double> values) {
    field.assign(values.begin(), values.end());
  }
  static void read(const Density& field, std::span<double> values) {
    std::copy(field.begin(), field.end(), values.begin());
  }
  static const Ensemble& host(const Ensemble& ensemble) { return ensemble; }
  static void project(Projector& projector, const Ensemble& ensemble, std::size_t first,
                      std::span<const double> weights, Density&, std::span<double> out);
};

}  // namespace phasespace
