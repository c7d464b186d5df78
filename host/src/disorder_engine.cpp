#include "disorder_engine.hpp"

#include <fftw3.h>

#include <algorithm>
#include <random>
#include <string>

#include "fftw_setup.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {

// A forward FFT of one member (FFTW, planned once on its own buffer).
struct DisorderEngineBase::MomentumTransform {
  explicit MomentumTransform(std::size_t size) : buffer(size) {
    auto lock = detail::fftw_planner_lock();
    auto* data = reinterpret_cast<fftw_complex*>(buffer.data());
    plan = fftw_plan_dft_1d(static_cast<int>(size), data, data, FFTW_FORWARD, FFTW_ESTIMATE);
    if (plan == nullptr) throw Error("FFTW could not plan the momentum transform of P+");
  }
  ~MomentumTransform() { fftw_destroy_plan(plan); }
  MomentumTransform(const MomentumTransform&) = delete;
  MomentumTransform& operator=(const MomentumTransform&) = delete;

  fftw_plan plan = nullptr;
  AlignedVector<complex> buffer;
};

namespace {

// Members [first, first + weights.size()) of `all` as an ensemble of their own, with `weights`.
Ensemble member_range(const Ensemble& all, std::size_t first, std::span<const double> weights) {
  const std::size_t size = all.grid.size;
  Ensemble range(all.grid, 0);
  range.psi.assign(all.psi.begin() + static_cast<std::ptrdiff_t>(first * size),
                   all.psi.begin() + static_cast<std::ptrdiff_t>((first + weights.size()) * size));
  range.weights.assign(weights.begin(), weights.end());
  return range;
}

}  // namespace

DisorderEngineBase::DisorderEngineBase(const StudyConfig& config, const PointPlan& plan,
                                       MemberRange members)
    : config_(config),
      plan_(plan),
      disorder_(derive_disorder(*config.system.disorder, config.system.mass, plan.hbar)),
      potential_(config.system.potential, config.system.potential_derivative, "system.potential"),
      initial_(make_point_ensemble(config, plan, {})),
      start_(make_disorder_ensemble(members)),
      member_weights_(start_.weights),
      member_potentials_(make_member_potentials()) {}

DisorderEngineBase::~DisorderEngineBase() = default;

Ensemble DisorderEngineBase::take_start_ensemble() { return std::move(start_); }

MemberPotentials DisorderEngineBase::take_member_potentials() {
  return std::move(member_potentials_);
}

std::vector<std::shared_ptr<const CollisionOperator>> DisorderEngineBase::with_impurities() const {
  auto collisions = make_collisions(config_, plan_);
  collisions.push_back(make_impurity_scattering(disorder_.rate, disorder_.impurity,
                                                disorder_.density, config_.system.mass,
                                                plan_.hbar));
  return collisions;
}

// Member r·M0 + k of the point: initial member k in realisation r, weight w_k / R (batches
// contiguous). This process holds the members of batches [first_batch_, end_batch_).
Ensemble DisorderEngineBase::make_disorder_ensemble(MemberRange members) {
  const std::size_t realisations = config_.system.disorder->realisations;
  const std::size_t m0 = initial_.members();
  const std::vector<std::size_t>& bounds = plan_.block_boundaries;
  const std::size_t begin = members.begin, end = std::min(members.end, plan_.members);
  const auto first = std::find(bounds.begin(), bounds.end(), begin);
  const auto last = std::find(bounds.begin(), bounds.end(), end);
  std::string allowed;
  for (std::size_t bound : bounds) allowed += (allowed.empty() ? "" : ", ") + std::to_string(bound);
  require(first != bounds.end() && last != bounds.end() && first < last, "members",
          std::to_string(begin) + ".." + std::to_string(end),
          "a disorder point is shared over ranks in whole batches of realisations: a chunk "
          "begins and ends at one of " + allowed);
  first_batch_ = static_cast<std::size_t>(first - bounds.begin());
  end_batch_ = static_cast<std::size_t>(last - bounds.begin());
  first_realisation_ = begin / m0;
  end_realisation_ = end / m0;
  Ensemble ensemble(plan_.grid, 0);
  ensemble.psi.reserve((end - begin) * plan_.grid.size);
  for (std::size_t r = first_realisation_; r < end_realisation_; ++r) {
    for (std::size_t k = 0; k < m0; ++k) {
      ensemble.add(initial_.weights[k] / static_cast<double>(realisations), initial_.member(k));
    }
  }
  batches_.resize(bounds.size() - 1);
  for (std::size_t b = 0; b < batches_.size(); ++b) {
    const std::size_t batch_realisations = (bounds[b + 1] - bounds[b]) / m0;
    batches_[b].weight = static_cast<double>(batch_realisations) / static_cast<double>(realisations);
  }
  return ensemble;
}

// One potential per realisation this process holds; realisation r draws from its own seed,
// so a realisation's impurities do not depend on which process runs it.
MemberPotentials DisorderEngineBase::make_member_potentials() const {
  const DisorderConfig& config = *config_.system.disorder;
  MemberPotentials potentials;
  for (std::size_t r = first_realisation_; r < end_realisation_; ++r) {
    std::mt19937_64 engine = realisation_engine(config.seed, r);
    const auto positions = poisson_positions(engine, disorder_.density, plan_.grid.x_min,
                                             plan_.grid.length);
    potentials.extra.push_back(impurity_potential(plan_.grid, disorder_.impurity, positions));
    for (std::size_t k = 0; k < initial_.members(); ++k) {
      potentials.of_member.push_back(r - first_realisation_);
    }
  }
  return potentials;
}

std::pair<std::size_t, std::size_t> DisorderEngineBase::batch_members(std::size_t b) const {
  const std::size_t offset = plan_.block_boundaries[first_batch_];  // first member held here
  return {plan_.block_boundaries[b] - offset, plan_.block_boundaries[b + 1] - offset};
}

// The batch's weights renormalised to the whole trace.
std::vector<double> DisorderEngineBase::batch_weights(std::size_t b) const {
  const auto [first, last] = batch_members(b);
  std::vector<double> result;
  for (std::size_t m = first; m < last; ++m) {
    result.push_back(member_weights_[m] / batches_[b].weight);
  }
  return result;
}

void DisorderEngineBase::project_batches(std::span<double> density, const BatchProjection& project) {
  std::fill(density.begin(), density.end(), 0.0);
  for (std::size_t b = first_batch_; b < end_batch_; ++b) {
    BatchValues& values = batches_[b];
    values.density.resize(density.size());
    project(batch_members(b).first, batch_weights(b), values.density);
    for (std::size_t i = 0; i < density.size(); ++i) density[i] += values.weight * values.density[i];
  }
}

void DisorderEngineBase::observe_batches(const Ensemble& host, std::vector<double>& density,
                                         std::vector<double>& current) {
  density.assign(plan_.grid.size, 0.0);
  current.assign(plan_.grid.size, 0.0);
  for (std::size_t b = first_batch_; b < end_batch_; ++b) {
    const Ensemble batch = member_range(host, batch_members(b).first, batch_weights(b));
    BatchValues& values = batches_[b];
    values.n = position_density(batch);
    values.j = current_density(batch, plan_.hbar, config_.system.mass);
    values.p_plus = momentum_plus_fraction(batch);
    for (std::size_t i = 0; i < density.size(); ++i) {
      density[i] += values.weight * values.n[i];
      current[i] += values.weight * values.j[i];
    }
  }
}

// Σ_k w_k Σ_{p>0} |ψ̂_k(p)|² / Σ_k w_k ‖ψ_k‖² exactly from the FFT (p = 0 counts half).
double DisorderEngineBase::momentum_plus_fraction(const Ensemble& batch) {
  const std::size_t size = plan_.grid.size;
  if (!transform_) transform_ = std::make_unique<MomentumTransform>(size);
  AlignedVector<complex>& buffer = transform_->buffer;
  double plus = 0.0, total = 0.0;
  for (std::size_t k = 0; k < batch.members(); ++k) {
    const auto member = batch.member(k);
    std::copy(member.begin(), member.end(), buffer.begin());
    auto* data = reinterpret_cast<fftw_complex*>(buffer.data());
    fftw_execute_dft(transform_->plan, data, data);
    for (std::size_t i = 0; i < size; ++i) {
      const long index = plan_.grid.signed_index(i);
      const double value = batch.weights[k] * std::norm(buffer[i]);
      total += value;
      plus += index > 0 ? value : (index == 0 ? 0.5 * value : 0.0);
    }
  }
  return total > 0.0 ? plus / total : 0.0;
}

void DisorderEngineBase::gather_batches(const std::function<void(std::span<double>)>& reduce) {
  const std::size_t cells = plan_.phase_space.cells(), size = plan_.grid.size;
  const std::size_t stride = cells + 2 * size + 1;
  std::vector<double> all(batches_.size() * stride, 0.0);
  for (std::size_t b = first_batch_; b < end_batch_; ++b) {
    const BatchValues& values = batches_[b];
    double* slot = all.data() + b * stride;
    std::copy(values.density.begin(), values.density.end(), slot);
    std::copy(values.n.begin(), values.n.end(), slot + cells);
    std::copy(values.j.begin(), values.j.end(), slot + cells + size);
    slot[cells + 2 * size] = values.p_plus;
  }
  reduce(all);
  for (std::size_t b = 0; b < batches_.size(); ++b) {
    BatchValues& values = batches_[b];
    const double* slot = all.data() + b * stride;
    values.density.assign(slot, slot + cells);
    values.n.assign(slot + cells, slot + cells + size);
    values.j.assign(slot + cells + size, slot + cells + 2 * size);
    values.p_plus = slot[cells + 2 * size];
  }
}

void CpuDisorderBackend::project(Projector& projector, const Ensemble& ensemble, std::size_t first,
                                 std::span<const double> weights, Density&, std::span<double> out) {
  projector.project(member_range(ensemble, first, weights), out);
}

}  // namespace phasespace
