// The study over MPI ranks (compiled only with PHASESPACE_ENABLE_MPI). See parallel.hpp for the
// division; here: the session (device and threads per rank), the run, and rank 0's writing.
#include <mpi.h>
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <list>
#include <optional>
#include <sstream>
#include <thread>

#include "phasespace/errors.hpp"
#include "phasespace/output.hpp"
#include "phasespace/parallel.hpp"
#include "../results_folder.hpp"
#include "../study_engine.hpp"

namespace phasespace {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int result_tag = 1;  // a finished point: CBOR of {index, run, fields}
constexpr int done_tag = 2;    // a rank has no more results: int, 1 when it was interrupted

int as_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT32_MAX)) throw Error("MPI message of " + std::to_string(n) + " values: too long");
  return static_cast<int>(n);
}

std::vector<std::string> cuda_devices() {
  std::vector<std::string> devices;
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::string list = visible, item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
      if (!item.empty()) devices.push_back(item);
    }
    return devices;
  }
  std::error_code error;
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator("/proc/driver/nvidia/gpus", error)) {
    (void)entry;
    ++count;
  }
  for (std::size_t d = 0; d < count; ++d) devices.push_back(std::to_string(d));
  return devices;
}

json::binary_t bytes_of(const void* data, std::size_t size) {
  const auto* begin = static_cast<const std::uint8_t*>(data);
  return json::binary_t(std::vector<std::uint8_t>(begin, begin + size));
}

template <class T>
std::vector<T> values_of(const json& binary) {
  const auto& bytes = binary.get_binary();
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

json fields_to_json(const FieldsRecord& f) {
  auto doubles = [](const std::vector<double>& v) { return bytes_of(v.data(), v.size() * sizeof(double)); };
  return {{"hbar", f.hbar},
          {"x", doubles(f.x)},
          {"x0", doubles(f.x0)},
          {"p", doubles(f.p)},
          {"times", doubles(f.times)},
          {"rho_quantum", doubles(f.rho_quantum)},
          {"rho_classical", doubles(f.rho_classical)},
          {"psi", bytes_of(f.psi.data(), f.psi.size() * sizeof(std::complex<double>))}};
}

FieldsRecord fields_from_json(const json& j) {
  FieldsRecord f;
  f.hbar = j["hbar"].get<double>();
  f.x = values_of<double>(j["x"]);
  f.x0 = values_of<double>(j["x0"]);
  f.p = values_of<double>(j["p"]);
  f.times = values_of<double>(j["times"]);
  f.rho_quantum = values_of<double>(j["rho_quantum"]);
  f.rho_classical = values_of<double>(j["rho_classical"]);
  f.psi = values_of<std::complex<double>>(j["psi"]);
  return f;
}

// Waits for a request without spinning a core that another rank may need.
void wait_gently(MPI_Request& request) {
  int finished = 0;
  MPI_Test(&request, &finished, MPI_STATUS_IGNORE);
  while (!finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    MPI_Test(&request, &finished, MPI_STATUS_IGNORE);
  }
}

}  // namespace

bool mpi_compiled() { return true; }

MpiSession::MpiSession(int* argc, char*** argv) {
  if (!launched_by_mpi_launcher()) {
    placement_ = "one process";
    return;
  }
  // The device is chosen before any CUDA call: only this rank's GPU stays visible.
  MPI_Init(argc, argv);
  active_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  std::ostringstream placement;
  placement << "rank " << rank_ << "/" << size_ << " (on this node " << local_rank_ << "/"
            << local_size_ << ")";
  const auto devices = cuda_devices();
  if (devices.size() > 1) {
    const std::string device = devices[static_cast<std::size_t>(local_rank_) % devices.size()];
    setenv("CUDA_VISIBLE_DEVICES", device.c_str(), 1);
    placement << ": GPU " << device;
  } else if (devices.size() == 1) {
    placement << ": GPU " << devices.front();
  }
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::max(1, std::min(omp_get_num_procs(), cores / std::max(1, local_size_)));
    omp_set_num_threads(threads);
  }
  placement << (devices.empty() ? ": " : ", ") << omp_get_max_threads() << " OpenMP thread"
            << (omp_get_max_threads() == 1 ? "" : "s");
  placement_ = placement.str();
}

MpiSession::~MpiSession() {
  if (active_) MPI_Finalize();
}

void abort_all_ranks(const std::string& message, int code) {
  int initialised = 0, rank = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::cerr << "phasespace: error on rank " << rank << ": " << message << std::endl;
  if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

json run_study_mpi(const StudyConfig& config, const StudyOptions& options) {
  int initialised = 0, rank = 0, size = 1;
  MPI_Initialized(&initialised);
  if (initialised) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  if (size == 1) return run_study(config, options);

  const auto started = std::chrono::steady_clock::now();
  const StudyPlan plan = plan_study(config, options.backend_override);
  const std::size_t points = plan.points.size();
  const fs::path out = options.output_dir.empty() ? fs::path(config.output.dir) : fs::path(options.output_dir);
  const std::string hash = config_hash(config);

  // Rank 0, the only writer, locks the folder, decides which points are done (--resume) and
  // tells the others.
  std::vector<json> runs(points);
  std::vector<char> done(points, 0);
  std::optional<ResultsLock> lock;
  if (rank == 0) {
    const std::string out_field = options.output_dir.empty() ? "output.dir" : "--out";
    lock.emplace(out, out_field);
    create_results_folder(out, out_field, config.output.fields);
    runs = prepare_results_folder(out, config, plan, options.resume, hash);
    for (std::size_t i = 0; i < points; ++i) done[i] = runs[i].is_null() ? 0 : 1;
  }
  MPI_Bcast(done.data(), as_count(points), MPI_CHAR, 0, MPI_COMM_WORLD);
  const WorkDivision division = divide_work(plan, size, std::vector<bool>(done.begin(), done.end()));
  if (rank == 0 && options.progress) std::cerr << format_work_division(plan, division);

  int my_group = MPI_UNDEFINED;
  for (std::size_t g = 0; g < division.groups.size(); ++g) {
    for (int r : division.groups[g]) {
      if (r == rank) my_group = static_cast<int>(g);
    }
  }
  MPI_Comm group_comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, my_group, rank, &group_comm);
  int group_size = 1;
  if (group_comm != MPI_COMM_NULL) MPI_Comm_size(group_comm, &group_size);

  // Rank 0's summary, rewritten whenever a point arrives (as run_study does after each point).
  json summary = {{"config", config.source},
                  {"version", PHASESPACE_VERSION},
                  {"backend", plan.backend},
                  {"device", backend_device_name(plan.backend) + ", " + std::to_string(size) + " MPI ranks"},
                  {"precision", config.precision},
                  {"fft_callbacks", config.fft_callbacks},
                  {"runs", json::array()}};
  auto write_summary = [&] {
    summary["runs"] = json::array();
    for (const auto& run : runs) {
      if (!run.is_null()) summary["runs"].push_back(run);
    }
    summary["fits"] = fit_all(summary["runs"]);
    write_text_atomically((out / "summary.json").string(), summary.dump(1) + "\n");
  };
  auto report_point = [&](std::size_t i, const std::string& stage) {
    if (!options.progress) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    options.progress({i, points, plan.points[i].hbar, config.time.t_end, config.time.t_end, elapsed, 0.0, stage});
  };
  auto accept = [&](std::size_t i, json run, const FieldsRecord* fields) {
    if (fields != nullptr) {
      write_fields_hdf5((out / "fields" / ("hbar_" + std::to_string(i) + ".h5")).string(), *fields);
    }
    run["grid"] = grid_json(plan.points[i]);
    json stored = run;
    stored["config_hash"] = hash;
    write_text_atomically((out / "points" / ("hbar_" + std::to_string(i) + ".json")).string(),
                          stored.dump(1) + "\n");
    runs[i] = std::move(run);
    write_summary();
    report_point(i, "done");
  };
  int ranks_done = 0;
  int interrupted_anywhere = 0;
  auto receive = [&](bool block) {  // rank 0: results and end messages of the other ranks
    while (ranks_done < size - 1) {
      int waiting = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &waiting, &status);
      if (!waiting) {
        if (!block) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      std::vector<std::uint8_t> message(static_cast<std::size_t>(count));
      MPI_Recv(message.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      if (status.MPI_TAG == done_tag) {
        int flag = 0;
        std::memcpy(&flag, message.data(), sizeof flag);
        interrupted_anywhere |= flag;
        ++ranks_done;
      } else {
        const json result = json::from_cbor(message);
        const FieldsRecord fields = result.contains("fields") ? fields_from_json(result["fields"]) : FieldsRecord{};
        accept(result["index"].get<std::size_t>(), result["run"], result.contains("fields") ? &fields : nullptr);
      }
    }
  };
  if (rank == 0) {
    for (std::size_t i = 0; i < points; ++i) {
      if (done[i]) report_point(i, "skipped (resumed)");
    }
  }

  // This rank's points, in index order with the rest of its group.
  std::list<std::vector<std::uint8_t>> outgoing;
  std::vector<MPI_Request> sends;
  int interrupted = 0;
  try {
    for (const PointShare& share : division.points) {
      if (share.group != my_group) continue;
      const std::size_t i = share.point;
      PointPart part;
      for (const Chunk& chunk : share.chunks) {
        if (chunk.rank == rank) part.members = {chunk.member_begin, chunk.member_end};
      }
      part.owner = share.owner == rank;  // the group's first rank: rank 0 of group_comm
      part.reduce = [&](std::span<double> values) {
        if (group_size == 1) return;
        if (part.owner) {
          MPI_Reduce(MPI_IN_PLACE, values.data(), as_count(values.size()), MPI_DOUBLE, MPI_SUM, 0, group_comm);
        } else {
          MPI_Reduce(values.data(), nullptr, as_count(values.size()), MPI_DOUBLE, MPI_SUM, 0, group_comm);
        }
      };
      std::optional<FieldsRecord> fields;
      part.fields_sink = [&](const FieldsRecord& record) { fields = record; };
      // A stop request ends the group's ranks at the same quantum step: they agree each chunk.
      auto report = [&](double t, const std::string& stage, double) {
        if (rank == 0) receive(false);
        if (stage == "quantum") {
          int stop = options.stop != nullptr && options.stop->load() ? 1 : 0;
          if (group_size > 1) MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, group_comm);
          if (stop) throw Interrupted("interrupted; finished points are kept");
        }
        if (rank == 0 && options.progress) {
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          options.progress({i, points, plan.points[i].hbar, t, config.time.t_end, elapsed, 0.0, stage});
        }
      };
      const std::string fields_path =
          config.output.fields ? (out / "fields" / ("hbar_" + std::to_string(i) + ".h5")).string() : std::string();
      PointRunInput input{config, plan.points[i], i, fields_path, nullptr, report, &part};
      json run = run_point(plan.backend, input);
      if (!part.owner) continue;
      if (rank == 0) {
        accept(i, run, fields ? &*fields : nullptr);
        continue;
      }
      json result = {{"index", i}, {"run", run}};
      if (fields) result["fields"] = fields_to_json(*fields);
      outgoing.push_back(json::to_cbor(result));
      sends.emplace_back();
      MPI_Isend(outgoing.back().data(), as_count(outgoing.back().size()), MPI_BYTE, 0, result_tag,
                MPI_COMM_WORLD, &sends.back());
    }
  } catch (const Interrupted&) {
    interrupted = 1;
  }
  for (auto& request : sends) wait_gently(request);
  if (group_comm != MPI_COMM_NULL) MPI_Comm_free(&group_comm);

  int outcome = interrupted;
  if (rank == 0) {
    receive(true);
    interrupted_anywhere |= interrupted;
    write_summary();
    if (config.output.figures && !interrupted_anywhere) {
      summary["figures"] = draw_figures(out.string());
      write_text_atomically((out / "summary.json").string(), summary.dump(1) + "\n");
    }
    outcome = interrupted_anywhere;
  } else {
    MPI_Send(&interrupted, static_cast<int>(sizeof interrupted), MPI_BYTE, 0, done_tag, MPI_COMM_WORLD);
  }
  MPI_Request request;
  MPI_Ibcast(&outcome, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_gently(request);
  if (outcome) throw Interrupted("interrupted; finished points are kept");
  return rank == 0 ? summary : json::object();
}

}  // namespace phasespace
