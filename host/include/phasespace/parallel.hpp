#pragma once
// A study on several processes (MPI ranks): how the work is divided, and the run itself.
// This header never includes MPI; the MPI pieces exist when the build has PHASESPACE_ENABLE_MPI
// (mpi_compiled()), and the work division is plain C++ (`phasespace validate --ranks R`).
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/study.hpp"

namespace phasespace {

// One rank's chunk of one ħ point: members [member_begin, member_end) of its ensemble, whole
// blocks (PointPlan::block_boundaries: a member, or a disorder point's batch of realisations).
struct Chunk {
  int rank = 0;
  std::size_t member_begin = 0;
  std::size_t member_end = 0;
};

// One ħ point and how it is shared: every chunk is propagated and projected on its rank, the
// partial densities are summed (MPI_Reduce) onto the owner, which runs the classical solver
// and the metrics; rank 0 writes the result.
struct PointShare {
  std::size_t point = 0;  // index into StudyPlan::points
  int group = 0;
  int owner = 0;
  std::vector<Chunk> chunks;
};

// Ranks form groups of consecutive ranks; a group runs its points one after another in index
// order, each point's blocks split over the group's ranks. The number of groups is the one with
// the shortest estimated run (work as in `validate`: 5·quantum/chunks + 20·classical per point,
// points placed largest first on the group that finishes first). Ranks a group cannot use (a
// point with fewer blocks than ranks) and groups without points are idle.
struct WorkDivision {
  int ranks = 1;
  std::vector<std::vector<int>> groups;  // the busy ranks of each group
  std::vector<PointShare> points;        // the points to run, in index order
  std::vector<int> idle;                 // ranks with no work
  double serial_work = 0.0;              // estimated work of the points on one rank
  double longest_rank_work = 0.0;        // estimated work of the busiest group's points
};

// `done[i]` true: point i is finished already (--resume) and is not divided.
WorkDivision divide_work(const StudyPlan& plan, int ranks, const std::vector<bool>& done = {});

// The division as a table, one line per point (with its blocks), then the idle ranks.
std::string format_work_division(const StudyPlan& plan, const WorkDivision& division);

// Whether this build has MPI (PHASESPACE_ENABLE_MPI).
bool mpi_compiled();

// Whether an MPI launcher (mpirun, mpiexec, srun) started this process: its environment names a
// rank. A plain `phasespace run` in an MPI build stays a single process without MPI_Init.
bool launched_by_mpi_launcher();

// MPI_Init on construction, MPI_Finalize on destruction (MPI builds; otherwise one rank). Picks
// this rank's GPU before any CUDA call: CUDA_VISIBLE_DEVICES is narrowed to the local rank's
// device (local rank modulo the devices listed or found), and sets OpenMP threads per rank to
// cores / local ranks (at least 1, at most the cores this rank is bound to) unless
// OMP_NUM_THREADS is set.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& placement() const { return placement_; }  // "threads 1, device 0"

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool active_ = false;
  std::string placement_;
};

// Runs the study over the ranks of MPI_COMM_WORLD; every rank calls it. Rank 0 decides which
// points are done (--resume) and tells the others, and writes every file as run_study does;
// it returns the summary on rank 0 and an empty object on the others. A stop request (SIGINT on
// any rank of a group) stops that group at the same step on all its ranks. Throws Interrupted
// on every rank when any group stopped.
nlohmann::json run_study_mpi(const StudyConfig& config, const StudyOptions& options);

// Prints "phasespace: error on rank R: message" to stderr and ends all ranks (MPI_Abort).
[[noreturn]] void abort_all_ranks(const std::string& message, int code);

}  // namespace phasespace
