// The division of a study over ranks (plain C++, also in builds without MPI), the chunk of an
// ensemble one rank propagates, and the stand-ins for the MPI pieces when MPI is not built.
#include "phasespace/parallel.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <sstream>

#include "phasespace/errors.hpp"
#include "input_checks.hpp"
#include "study_engine.hpp"

namespace phasespace {

Ensemble make_point_ensemble(const StudyConfig& config, const PointPlan& plan, MemberRange members) {
  Ensemble whole = make_initial_ensemble(config.initial_state, plan.grid, plan.hbar);
  check_initial_ensemble(whole);
  const std::size_t end = std::min(members.end, whole.members());
  if (members.begin == 0 && end == whole.members()) return whole;
  require(members.begin < end, "members", std::to_string(members.begin) + ".." + std::to_string(end),
          "a chunk needs at least one member of the ensemble");
  Ensemble chunk(plan.grid, 0);
  for (std::size_t k = members.begin; k < end; ++k) chunk.add(whole.weights[k], whole.member(k));
  return chunk;
}

namespace {

// The blocks a point may be split into (PointPlan::block_boundaries): a member each, or the
// point's own blocks (a disorder point's batches).
std::size_t block_count(const PointPlan& point) {
  return point.block_boundaries.empty() ? point.members : point.block_boundaries.size() - 1;
}

// The first member of block `block` (block_count(point) gives members: the end).
std::size_t block_boundary(const PointPlan& point, std::size_t block) {
  return point.block_boundaries.empty() ? block : point.block_boundaries[block];
}

double point_cost(const PointPlan& point, std::size_t chunks) {
  return point.quantum_work / static_cast<double>(std::max<std::size_t>(chunks, 1)) +
         point.classical_work;
}

struct Candidate {
  std::vector<std::vector<std::size_t>> points;  // per group, in index order
  std::vector<int> sizes;                        // busy ranks per group
  std::vector<int> first_rank;
  double longest = 0.0;
};

Candidate place(const StudyPlan& plan, const std::vector<std::size_t>& todo, int ranks, int groups) {
  Candidate candidate;
  std::vector<int> size(static_cast<std::size_t>(groups), ranks / groups);
  for (int g = 0; g < ranks % groups; ++g) ++size[static_cast<std::size_t>(g)];
  std::vector<std::size_t> order = todo;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return point_cost(plan.points[a], 1) > point_cost(plan.points[b], 1);
  });
  std::vector<double> load(size.size(), 0.0);
  candidate.points.resize(size.size());
  for (std::size_t p : order) {
    std::size_t best = 0;
    double best_end = 0.0;
    for (std::size_t g = 0; g < size.size(); ++g) {
      const std::size_t chunks = std::min(block_count(plan.points[p]), static_cast<std::size_t>(size[g]));
      const double end = load[g] + point_cost(plan.points[p], chunks);
      if (g == 0 || end < best_end) {
        best = g;
        best_end = end;
      }
    }
    load[best] = best_end;
    candidate.points[best].push_back(p);
  }
  // A group uses as many ranks as its point with the fewest blocks has; the rest stay idle.
  int next = 0;
  for (std::size_t g = 0; g < size.size(); ++g) {
    auto& points = candidate.points[g];
    std::sort(points.begin(), points.end());
    std::size_t busy = points.empty() ? 0 : static_cast<std::size_t>(size[g]);
    for (std::size_t p : points) busy = std::min(busy, block_count(plan.points[p]));
    double work = 0.0;
    for (std::size_t p : points) work += point_cost(plan.points[p], busy);
    candidate.longest = std::max(candidate.longest, work);
    candidate.sizes.push_back(static_cast<int>(busy));
    candidate.first_rank.push_back(next);
    next += size[g];
  }
  return candidate;
}

}  // namespace

WorkDivision divide_work(const StudyPlan& plan, int ranks, const std::vector<bool>& done) {
  require(ranks >= 1, "--ranks", std::to_string(ranks), "needs at least 1 rank");
  WorkDivision division;
  division.ranks = ranks;
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    if (i < done.size() && done[i]) continue;
    todo.push_back(i);
    division.serial_work += point_cost(plan.points[i], 1);
  }
  if (todo.empty()) {
    for (int r = 0; r < ranks; ++r) division.idle.push_back(r);
    return division;
  }
  // Fewer groups share points more finely (communication each output time); more groups run
  // points side by side. Take the shortest estimate; on a tie, the most groups.
  const int max_groups = std::min<int>(ranks, static_cast<int>(todo.size()));
  Candidate best = place(plan, todo, ranks, max_groups);
  for (int groups = max_groups - 1; groups >= 1; --groups) {
    Candidate candidate = place(plan, todo, ranks, groups);
    if (candidate.longest < best.longest * (1.0 - 1e-9)) best = std::move(candidate);
  }
  division.longest_rank_work = best.longest;
  std::vector<bool> busy(static_cast<std::size_t>(ranks), false);
  for (std::size_t g = 0; g < best.points.size(); ++g) {
    if (best.sizes[g] == 0) continue;
    std::vector<int> members_of_group;
    for (int r = 0; r < best.sizes[g]; ++r) {
      members_of_group.push_back(best.first_rank[g] + r);
      busy[static_cast<std::size_t>(best.first_rank[g] + r)] = true;
    }
    const int group = static_cast<int>(division.groups.size());
    division.groups.push_back(members_of_group);
    for (std::size_t p : best.points[g]) {
      PointShare share;
      share.point = p;
      share.group = group;
      share.owner = members_of_group.front();
      // Chunk c takes blocks [B·c/chunks, B·(c+1)/chunks): whole blocks, as even as they go.
      const PointPlan& point = plan.points[p];
      const std::size_t blocks = block_count(point);
      const std::size_t chunks = members_of_group.size();
      for (std::size_t c = 0; c < chunks; ++c) {
        share.chunks.push_back({members_of_group[c], block_boundary(point, blocks * c / chunks),
                                block_boundary(point, blocks * (c + 1) / chunks)});
      }
      division.points.push_back(share);
    }
  }
  std::sort(division.points.begin(), division.points.end(),
            [](const PointShare& a, const PointShare& b) { return a.point < b.point; });
  for (int r = 0; r < ranks; ++r) {
    if (!busy[static_cast<std::size_t>(r)]) division.idle.push_back(r);
  }
  return division;
}

std::string format_work_division(const StudyPlan& plan, const WorkDivision& division) {
  std::ostringstream out;
  out << "work division over " << division.ranks << " rank" << (division.ranks == 1 ? "" : "s")
      << ": " << division.groups.size() << " group" << (division.groups.size() == 1 ? "" : "s")
      << ", " << division.points.size() << " points to run\n";
  char line[160];
  // Blocks: the pieces a point may be split into, whole (a member; a disorder point's batch).
  std::snprintf(line, sizeof line, "%6s %10s %8s %7s %6s %6s  %s\n", "point", "hbar", "members",
                "blocks", "group", "owner", "chunks (rank: members)");
  out << line;
  for (const auto& share : division.points) {
    std::ostringstream chunks;
    for (const auto& chunk : share.chunks) {
      chunks << " " << chunk.rank << ": " << chunk.member_begin << ".." << chunk.member_end;
      if (&chunk != &share.chunks.back()) chunks << ",";
    }
    const PointPlan& point = plan.points[share.point];
    std::snprintf(line, sizeof line, "%6zu %10.4g %8zu %7zu %6d %6d ", share.point, point.hbar,
                  point.members, block_count(point), share.group, share.owner);
    out << line << chunks.str() << "\n";
  }
  if (division.idle.empty()) {
    out << "idle ranks: none\n";
  } else {
    out << "idle ranks (" << division.idle.size() << "):";
    for (int r : division.idle) out << " " << r;
    out << "\n";
  }
  if (division.longest_rank_work > 0.0) {
    std::snprintf(line, sizeof line, "estimated speed-up over 1 rank: %.2f (work %.3g Gflop, busiest group %.3g Gflop)\n",
                  division.serial_work / division.longest_rank_work, division.serial_work / 1e9,
                  division.longest_rank_work / 1e9);
    out << line;
  }
  return out.str();
}

bool launched_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

#if !defined(PHASESPACE_HAS_MPI)
bool mpi_compiled() { return false; }

MpiSession::MpiSession(int*, char***) { placement_ = "one process"; }
MpiSession::~MpiSession() = default;

nlohmann::json run_study_mpi(const StudyConfig& config, const StudyOptions& options) {
  return run_study(config, options);
}

void abort_all_ranks(const std::string& message, int code) {
  std::cerr << "phasespace: error: " << message << "\n";
  std::exit(code);
}
#endif

}  // namespace phasespace
