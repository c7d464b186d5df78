#pragma once
// The results folder of one run (run_study, run_study_mpi's rank 0): one writer at a time,
// nothing in it that does not belong to the run, and which points an earlier run finished.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "phasespace/study.hpp"

namespace phasespace {

// Creates <dir>/points (and <dir>/fields when `fields`); an InputError naming `field` (output.dir
// or --out) when that is not possible.
void create_results_folder(const std::filesystem::path& dir, const std::string& field, bool fields);

// Creates <dir> if needed and holds <dir>/.phasespace.lock (flock, with this process's pid and
// host in it) for its lifetime; nothing else is written before the lock is held.
// A second writer is refused at once with an InputError naming the holder; the kernel releases
// the lock when its holder ends in any way, so a crashed run never blocks the next one. `field`
// names where the folder came from (output.dir or --out).
class ResultsLock {
 public:
  ResultsLock(const std::filesystem::path& dir, const std::string& field);
  ~ResultsLock();
  ResultsLock(const ResultsLock&) = delete;
  ResultsLock& operator=(const ResultsLock&) = delete;

 private:
  std::filesystem::path path_;
  int descriptor_ = -1;
};

// Readies a locked results folder for a run of `plan` and returns, per point, the run an
// earlier run finished (null where the point must run). Removes orphaned temporary files
// (*.tmp-<pid>, *.tmp-<pid>.png: no live writer, the lock says), summary.json and figures/*.png
// (written again from this run's points), and every points/hbar_<i>.json and fields/hbar_<i>.h5
// that this run does not keep: all of them on a fresh run; with resume, those of points not in
// the plan and of points that must run again. A point is kept (resumed) when its points file
// has this config's hash, index and ħ, and, when the config writes fields, its fields file
// reads back whole with the plan's shapes. Only files with these names are touched.
std::vector<nlohmann::json> prepare_results_folder(const std::filesystem::path& dir,
                                                   const StudyConfig& config,
                                                   const StudyPlan& plan, bool resume,
                                                   const std::string& hash);

}  // namespace phasespace
