// Disorder (issue 7): impurity rates against closed forms, the numerical |r(p)|² against an
// independent transfer-matrix integration, homogeneous Boltzmann against its solution, the
// quantum disorder average against t-matrix Boltzmann at short times, reproducibility, per-member
// potentials, and the refusals of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "phasespace/disorder.hpp"
#include "phasespace/errors.hpp"
#include "phasespace/initial_state.hpp"
#include "phasespace/liouville.hpp"
#include "phasespace/metrics.hpp"
#include "phasespace/parallel.hpp"
#include "phasespace/propagator.hpp"
#include "phasespace/study.hpp"

namespace phasespace {
namespace {

using nlohmann::json;

ImpurityShape delta(double g) {
  ImpurityShape shape;
  shape.kind = ImpurityShape::Kind::delta;
  shape.strength = g;
  return shape;
}

ImpurityShape gaussian(double g, double a) {
  ImpurityShape shape;
  shape.kind = ImpurityShape::Kind::gaussian;
  shape.strength = g;
  shape.width = a;
  return shape;
}

TEST(DisorderRates, DeltaClosedForms) {
  const double mass = 1.3, hbar = 0.07, density = 2.5;
  for (double p : {0.4, -0.9, 2.0}) {
    for (double beta : {0.05, 0.5, 2.0}) {
      const double g = beta * hbar * std::fabs(p) / mass;
      const double v = std::fabs(p) / mass;
      EXPECT_NEAR(scattering_rate(ScatteringRate::born, delta(g), density, mass, hbar, p),
                  density * mass * g * g / (hbar * hbar * std::fabs(p)), 1e-12 * density * v);
      EXPECT_NEAR(scattering_rate(ScatteringRate::born, delta(g), density, mass, hbar, p),
                  density * v * beta * beta, 1e-12 * density * v);
      EXPECT_NEAR(scattering_rate(ScatteringRate::t_matrix, delta(g), density, mass, hbar, p),
                  density * v * beta * beta / (1.0 + beta * beta), 1e-12 * density * v);
    }
  }
}

// The numerical scattering (RK4 through a narrow Gaussian) tends to the δ closed form (the
// correction is of order β·p·a/ħ); in the weak limit (corrections of order β) it tends to the
// golden rule of the same Gaussian.
TEST(DisorderRates, NarrowGaussianTendsToDeltaAndWeakToBorn) {
  const double mass = 1.0, hbar = 0.05, p = 0.8;
  for (double beta : {0.3, 1.0, 3.0}) {
    const double g = beta * hbar * p / mass;
    const double exact = beta * beta / (1.0 + beta * beta);
    EXPECT_NEAR(reflection_probability(gaussian(g, 2e-4 * hbar / p), mass, hbar, p), exact,
                3e-4 * exact)
        << "beta = " << beta;
  }
  const ImpurityShape weak = gaussian(1e-4 * hbar * p / mass, 0.4 * hbar / p);
  const double born = scattering_rate(ScatteringRate::born, weak, 1.0, mass, hbar, p);
  const double t_matrix = scattering_rate(ScatteringRate::t_matrix, weak, 1.0, mass, hbar, p);
  EXPECT_NEAR(t_matrix / born, 1.0, 1e-3);
  EXPECT_LT(born, 0.6 * scattering_rate(ScatteringRate::born, delta(weak.strength), 1.0, mass, hbar, p));
}

// RK4 and piecewise-constant transfer matrices are independent integrations of the same
// scattering problem: above the barrier, near it and tunnelling through it.
TEST(DisorderRates, GaussianReflectionTwoIntegrationsAgree) {
  const double mass = 1.0, hbar = 0.1;
  for (double p : {0.3, 0.7, 1.5}) {
    for (double g : {0.02, 0.1, 0.3}) {
      const ImpurityShape shape = gaussian(g, 0.08);
      const double rk4 = reflection_probability(shape, mass, hbar, p);
      const double transfer = reflection_probability_transfer(shape, mass, hbar, p, 40000);
      ASSERT_GT(rk4, 1e-8);
      EXPECT_NEAR(rk4, transfer, 1e-5 * std::max(rk4, 1e-3)) << "p = " << p << ", g = " << g;
      EXPECT_LE(rk4, 1.0);
    }
  }
}

// A classical grid of `centres` from x0_first by dx0, and the odd number `momenta` of momenta
// symmetric about p = 0, dp apart.
PhaseSpaceGrid symmetric_grid(std::size_t centres, double x0_first, double dx0, std::size_t momenta,
                              double dp) {
  PhaseSpaceGrid grid;
  grid.centres = centres;
  grid.x0_first = x0_first;
  grid.dx0 = dx0;
  grid.momenta = momenta;
  grid.k_first = -static_cast<long>(momenta / 2);
  grid.dp = dp;
  return grid;
}

// The impurity back-scattering is back-scattering (collision_kind) at the chosen rate: the CUDA
// backend applies collision_factors, e^{-2W(p_j)τ} per pair (j, P-1-j), as apply() does.
TEST(DisorderBoltzmann, ImpurityScatteringDescribesItselfForTheDevice) {
  const PhaseSpaceGrid grid = symmetric_grid(3, -1.0, 1.0, 9, 0.2);
  const double mass = 1.0, hbar = 0.1, density = 1.5, tau = 0.3;
  const ImpurityShape shape = gaussian(0.05, 0.08);
  for (ScatteringRate rate : {ScatteringRate::t_matrix, ScatteringRate::born}) {
    const auto scattering = make_impurity_scattering(rate, shape, density, mass, hbar);
    ASSERT_EQ(collision_kind(*scattering), CollisionKind::backscattering);
    const std::vector<double> decay = collision_factors(*scattering, grid, tau);
    ASSERT_EQ(decay.size(), 4u);
    std::vector<double> f(grid.cells());
    for (std::size_t i = 0; i < f.size(); ++i) f[i] = 1.0 + 0.1 * static_cast<double>(i);
    const std::vector<double> before = f;
    scattering->apply(grid, tau, f);
    for (std::size_t j = 0; j < decay.size(); ++j) {
      const double w = scattering_rate(rate, shape, density, mass, hbar, grid.p(j));
      EXPECT_DOUBLE_EQ(decay[j], std::exp(-2.0 * w * tau)) << "j = " << j;
      for (std::size_t c = 0; c < grid.centres; ++c) {
        const double a = before[c * 9 + j], b = before[c * 9 + 8 - j];
        const double even = 0.5 * (a + b), odd = 0.5 * (a - b) * decay[j];
        EXPECT_NEAR(f[c * 9 + j], even + odd, 1e-14) << "c = " << c << ", j = " << j;
        EXPECT_NEAR(f[c * 9 + 8 - j], even - odd, 1e-14) << "c = " << c << ", j = " << j;
      }
    }
    EXPECT_EQ(f[4], before[4]);  // p = 0 is its own mirror
  }
}

// Homogeneous Boltzmann: all density in one momentum cell p0 > 0; then exactly
// P₊(t) = ½(1 + e^{−2γt}) and ⟨x⟩(t) − x0 = (v/2γ)(1 − e^{−2γt}), γ = W(p0).
TEST(DisorderBoltzmann, HomogeneousRelaxationOfARightMover) {
  const PhaseSpaceGrid grid = symmetric_grid(400, -20.0, 0.1, 101, 0.01);
  const std::size_t j0 = 100;  // p0 = 0.5
  const double p0 = grid.p(j0), mass = 1.0, hbar = 0.1, beta = 1.0, density = 1.0;
  const ImpurityShape shape = delta(beta * hbar * p0 / mass);
  const double v = p0 / mass;
  const double gamma = density * v * beta * beta / (1.0 + beta * beta);
  std::vector<double> f(grid.cells(), 0.0);
  for (std::size_t c = 0; c < grid.centres; ++c) {
    const double x = grid.x0(c) + 5.0;
    f[c * grid.momenta + j0] = std::exp(-x * x / (2.0 * 1.5 * 1.5));
  }
  LiouvilleOptions options;
  options.dt = 0.01;
  options.interpolation = parse_interpolation("lagrange7");
  LiouvilleSolver solver(grid, Potential("0"), options,
                         {make_impurity_scattering(ScatteringRate::t_matrix, shape, density, mass, hbar)});
  const std::vector<double> zero(grid.centres, 0.0);
  const double x0 = phase_space_moments(grid, f, mass, zero).mean_x;
  double t = 0.0;
  for (double t_out : {0.5, 2.0, 4.0}) {
    solver.advance(f, t, static_cast<std::size_t>(std::llround((t_out - t) / options.dt)));
    t = t_out;
    double plus = 0.0, total = 0.0;
    for (std::size_t c = 0; c < grid.centres; ++c) {
      for (std::size_t j = 0; j < grid.momenta; ++j) {
        total += f[c * grid.momenta + j];
        if (grid.p(j) > 0.0) plus += f[c * grid.momenta + j];
      }
    }
    EXPECT_NEAR(plus / total, 0.5 * (1.0 + std::exp(-2.0 * gamma * t)), 1e-12) << "t = " << t;
    const double mean_x = phase_space_moments(grid, f, mass, zero).mean_x;
    EXPECT_NEAR(mean_x - x0, v / (2.0 * gamma) * (1.0 - std::exp(-2.0 * gamma * t)), 2e-4)
        << "t = " << t;
  }
}

// A small disorder study: wide right-moving packet, Gaussian impurities with p·a/ħ = 0.2,
// t-matrix Boltzmann, times τ/2 and 3τ/4. (Much earlier, t ≲ ħ/E, the quantum back-scattering
// has not set in fully: at t = τ/4 and ħ = 0.05 it is 15% below the golden-rule onset; that
// transient shrinks with ħ.)
json disorder_config(const std::string& dir, std::uint64_t seed) {
  json config = json::parse(R"({
    "name": "disorder_test",
    "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-12.0, 12.0], "potential": "0",
      "disorder": {"impurity": {"shape": "gaussian", "width": {"coefficient": 0.2, "exponent": 1}},
                   "reference_momentum": 1.0, "scattering_time": 1.0, "born_parameter": 0.5,
                   "realisations": 32, "batches": 8, "rate": "t_matrix"}},
    "initial_state": {"kind": "gaussian", "x0": -3.0, "p0": 1.0, "sigma": 1.5},
    "hbar": [0.05],
    "resolution": {"points": 4096},
    "window": {"shape": "gaussian", "width": 0.4},
    "phase_space": {"p_max": 2.0},
    "time": {"t_end": 0.75, "dt": 0.0025, "outputs": [0.5, 0.75], "scheme": "strang"},
    "classical": {"interpolation": "lagrange5", "dt": 0.0125},
    "metrics": {"weak_width": [0.3, 0.1]}
  })");
  config["system"]["disorder"]["seed"] = seed;
  config["output"] = {{"dir", dir}, {"fields", false}, {"figures", false}};
  return config;
}

std::string scratch_dir(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("phasespace_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  return path.string();
}

class DisorderStudy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = scratch_dir("disorder");
    first_ = new json(run_study(parse_config(disorder_config(dir, 7))));
    again_ = new json(run_study(parse_config(disorder_config(dir, 7))));
    other_ = new json(run_study(parse_config(disorder_config(dir, 8))));
    std::filesystem::remove_all(dir);
  }
  static void TearDownTestSuite() {
    delete first_;
    delete again_;
    delete other_;
  }
  static const json& metrics(const json* summary) { return (*summary)["runs"][0]["metrics"]; }
  static json* first_;
  static json* again_;
  static json* other_;
};
json* DisorderStudy::first_ = nullptr;
json* DisorderStudy::again_ = nullptr;
json* DisorderStudy::other_ = nullptr;

TEST_F(DisorderStudy, BackscatteredFractionAgreesWithTMatrixBoltzmann) {
  const json& m = metrics(first_);
  for (std::size_t k = 0; k < 2; ++k) {
    const double quantum = 1.0 - m["p_plus_q"][k].get<double>();
    const double boltzmann = 1.0 - m["p_plus_c"][k].get<double>();
    const double error = m["p_plus_q_stderr"][k].get<double>();
    EXPECT_GT(error, 0.0);
    EXPECT_GT(boltzmann, 0.05);  // something was scattered
    EXPECT_NEAR(quantum, boltzmann, 3.0 * error)
        << "t = " << (*first_)["runs"][0]["times"][k] << ": quantum " << quantum
        << " +- " << error << ", Boltzmann " << boltzmann;
    // And the collisionless contrast scatters nothing.
    EXPECT_LT(1.0 - m["p_plus_free"][k].get<double>(), 1e-3);
  }
  EXPECT_TRUE((*first_)["runs"][0].contains("disorder"));
  // The console table shows the errors next to the distances and the P+ / <x> block.
  const std::string table = format_summary_table(*first_);
  EXPECT_NE(table.find("+-"), std::string::npos) << table;
  EXPECT_NE(table.find("P+ quantum"), std::string::npos) << table;
}

TEST_F(DisorderStudy, SameSeedSameResultOtherSeedWithinStatistics) {
  for (const std::string name : {"p_plus_q", "mean_x_q", "l1"}) {
    EXPECT_EQ(metrics(first_)[name], metrics(again_)[name]) << name;
  }
  for (std::size_t k = 0; k < 2; ++k) {
    const double a = metrics(first_)["p_plus_q"][k].get<double>();
    const double b = metrics(other_)["p_plus_q"][k].get<double>();
    const double ea = metrics(first_)["p_plus_q_stderr"][k].get<double>();
    const double eb = metrics(other_)["p_plus_q_stderr"][k].get<double>();
    EXPECT_NE(a, b);
    EXPECT_LT(std::fabs(a - b), 4.0 * std::hypot(ea, eb));
  }
}

TEST(DisorderRandom, PlacementIsReproducibleAndPoisson) {
  auto first = realisation_engine(42, 3);
  auto again = realisation_engine(42, 3);
  EXPECT_EQ(poisson_positions(first, 5.0, -10.0, 20.0), poisson_positions(again, 5.0, -10.0, 20.0));
  // Counts over many realisations: mean n·L and variance n·L (Poisson).
  double sum = 0.0, sum2 = 0.0;
  const int realisations = 4000;
  for (int r = 0; r < realisations; ++r) {
    auto engine = realisation_engine(1, static_cast<std::size_t>(r));
    const auto positions = poisson_positions(engine, 2.0, 0.0, 10.0);
    for (double x : positions) ASSERT_TRUE(x >= 0.0 && x < 10.0);
    sum += static_cast<double>(positions.size());
    sum2 += static_cast<double>(positions.size() * positions.size());
  }
  const double mean = sum / realisations, variance = sum2 / realisations - mean * mean;
  EXPECT_NEAR(mean, 20.0, 4.0 * std::sqrt(20.0 / realisations));
  EXPECT_NEAR(variance / 20.0, 1.0, 0.1);
}

// Members with their own potentials, propagated together, equal each member propagated alone
// in U + its extra potential given as an expression (U static, and U depending on t).
class PerMemberPotentials : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Base, PerMemberPotentials,
                         ::testing::Values("0.05*x^2", "0.05*x^2*(1+0.5*sin(3*t))"));

TEST_P(PerMemberPotentials, BatchedEqualsOneByOne) {
  const Grid grid = make_grid(-8.0, 8.0, 256);
  const std::vector<std::string> extras = {"0.3*cos(x)", "0.1*x^2/(1+x^2)", "0"};
  const std::string base = GetParam();
  PropagatorOptions options;
  options.hbar = 0.2;
  options.dt = 0.01;
  options.scheme = Scheme::yoshida4;
  MemberPotentials potentials;
  Ensemble together(grid, 0);
  for (std::size_t k = 0; k < extras.size(); ++k) {
    Potential extra(extras[k]);
    potentials.extra.emplace_back(grid.size);
    extra.sample(grid, 0.0, potentials.extra.back());
    const auto psi = gaussian_packet(grid, options.hbar, {-1.0 + static_cast<double>(k), 0.5, 0.7});
    together.add(1.0, psi);
  }
  // Two members share the first potential.
  potentials.of_member = {0, 1, 2, 0};
  together.add(1.0, gaussian_packet(grid, options.hbar, {2.0, -0.4, 0.6}));
  SplitStepPropagator batched(grid, Potential(base), options, together.members(), potentials);
  batched.advance(together, 0.0, 20);
  for (std::size_t k = 0; k < together.members(); ++k) {
    const std::size_t index = potentials.of_member[k];
    Ensemble alone(grid, 0);
    alone.add(1.0, k < 3 ? gaussian_packet(grid, options.hbar, {-1.0 + static_cast<double>(k), 0.5, 0.7})
                         : gaussian_packet(grid, options.hbar, {2.0, -0.4, 0.6}));
    SplitStepPropagator single(grid, Potential(base + "+" + extras[index]), options, 1);
    single.advance(alone, 0.0, 20);
    double worst = 0.0;
    for (std::size_t n = 0; n < grid.size; ++n) {
      worst = std::max(worst, std::abs(alone.psi[n] - together.member(k)[n]));
    }
    EXPECT_LT(worst, 1e-12) << "member " << k;
  }
}

void expect_rejected(const json& config, const std::string& path) {
  try {
    plan_study(parse_config(config));
    ADD_FAILURE() << "accepted a config with a bad " << path;
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos)
        << "message does not name " << path << ": " << error.what();
  }
}

TEST(DisorderConfig, BadInputIsRefusedWithThePath) {
  json config = disorder_config("unused", 1);
  config["system"]["disorder"]["realisations"] = 0;
  expect_rejected(config, "system.disorder.realisations");
  config = disorder_config("unused", 1);
  config["system"]["disorder"].erase("scattering_time");
  config["system"]["disorder"].erase("born_parameter");
  config["system"]["disorder"]["impurity"]["strength"] = 0.01;
  config["system"]["disorder"]["density"] = 0.0;
  expect_rejected(config, "system.disorder.density");
  config["system"]["disorder"]["density"] = -1.0;
  expect_rejected(config, "system.disorder.density");
  config = disorder_config("unused", 1);
  config["system"]["disorder"]["impurity"]["width"] = 0.002;  // below 1.5 dx at this ħ
  expect_rejected(config, "system.disorder.impurity.width");
  config = disorder_config("unused", 1);
  config["system"]["disorder"]["impurity"]["shape"] = "square";
  expect_rejected(config, "system.disorder.impurity.shape");
  config = disorder_config("unused", 1);
  config["system"]["disorder"]["rate"] = "born";
  config["system"]["disorder"]["born_parameter"] = 2.0;
  ::testing::internal::CaptureStderr();
  plan_study(parse_config(config));
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(warning.find("system.disorder.rate"), std::string::npos) << warning;
  EXPECT_NE(warning.find("t_matrix"), std::string::npos) << warning;
}

// Under MPI a disorder point is shared in whole batches (the standard errors are over batches):
// 30 realisations in 8 batches of 3 or 4 over 12 ranks: 8 chunks at batch boundaries, 4 idle.
TEST(DisorderWorkDivision, SplitsOnlyAtBatchBoundaries) {
  json config = disorder_config("unused", 1);
  config["system"]["disorder"]["realisations"] = 30;
  config["system"]["disorder"]["batches"] = 8;
  const StudyPlan plan = plan_study(parse_config(config));
  const PointPlan& point = plan.points[0];
  const std::vector<std::size_t> batches = {0, 3, 7, 11, 15, 18, 22, 26, 30};  // b·30/8
  std::vector<std::size_t> expected;
  for (std::size_t r : batches) expected.push_back(r * point.members / 30);
  EXPECT_EQ(point.block_boundaries, expected);
  const WorkDivision division = divide_work(plan, 12);
  ASSERT_EQ(division.points.size(), 1u);
  const auto& chunks = division.points[0].chunks;
  ASSERT_EQ(chunks.size(), 8u);
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    EXPECT_EQ(chunks[c].member_begin, expected[c]) << "chunk " << c;
    EXPECT_EQ(chunks[c].member_end, expected[c + 1]) << "chunk " << c;
  }
  EXPECT_EQ(division.idle.size(), 4u);
  const std::string table = format_work_division(plan, division);
  EXPECT_NE(table.find("blocks"), std::string::npos) << table;
  // Fewer ranks than batches: each chunk is a run of whole batches.
  const WorkDivision three = divide_work(plan, 3);
  ASSERT_EQ(three.points[0].chunks.size(), 3u);
  for (const Chunk& chunk : three.points[0].chunks) {
    EXPECT_NE(std::find(expected.begin(), expected.end(), chunk.member_begin), expected.end());
    EXPECT_NE(std::find(expected.begin(), expected.end(), chunk.member_end), expected.end());
  }
}

}  // namespace
}  // namespace phasespace
