// phasespace: validate or run an ħ → 0 convergence study described by one JSON config.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "phasespace/errors.hpp"
#include "phasespace/fftw_wisdom.hpp"
#include "phasespace/parallel.hpp"
#include "phasespace/study.hpp"

namespace {

const char* usage =
    "usage: phasespace validate CONFIG [--backend auto|cpu|cuda] [--ranks R]\n"
    "       phasespace run CONFIG [--backend auto|cpu|cuda] [--out DIR] [--quiet] [--resume]\n"
    "       phasespace --version\n"
    "environment: PHASESPACE_FFTW_WISDOM=PATH|off  where run keeps FFTW's measured plans\n"
    "             (default $XDG_CACHE_HOME or ~/.cache, phasespace/fftw-wisdom)\n";

// SIGINT (Ctrl-C) and SIGTERM (kill, a batch system's time limit) both stop the run between
// steps, keeping the finished points; the exit status is then 128 + the signal's number (130,
// 143), as a shell reports a process that signal ended, so the caller can tell which it was.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int signal_number) {
  stop_signal.store(signal_number);
  stop_requested.store(true);
  std::signal(signal_number, SIG_DFL);  // the same signal again ends the process at once
}

int stopped_status() { return 128 + (stop_signal.load() != 0 ? stop_signal.load() : SIGINT); }

struct Arguments {
  std::string command;
  std::string config;
  std::string backend;
  std::string out;
  bool quiet = false;
  bool resume = false;
  int ranks = 0;  // validate: show the division over this many ranks (0: the MPI world's size)
};

phasespace::MpiSession* session = nullptr;  // one rank of an MPI job, or the one process

Arguments parse_arguments(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) throw phasespace::InputError(std::string("no command given\n") + usage);
  Arguments arguments;
  arguments.command = words[0];
  if (arguments.command != "run" && arguments.command != "validate") {
    throw phasespace::InputError("unknown command \"" + arguments.command + "\"\n" + usage);
  }
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= words.size()) throw phasespace::InputError(word + " needs a value\n" + usage);
      return words[++i];
    };
    if (word == "--backend") {
      arguments.backend = value();
      phasespace::require(arguments.backend == "auto" || arguments.backend == "cpu" ||
                              arguments.backend == "cuda",
                          "--backend", arguments.backend, "allowed auto, cpu, cuda");
    } else if (word == "--out" && arguments.command == "run") {
      arguments.out = value();
    } else if (word == "--quiet" && arguments.command == "run") {
      arguments.quiet = true;
    } else if (word == "--ranks" && arguments.command == "validate") {
      const std::string text = value();
      arguments.ranks = std::atoi(text.c_str());
      phasespace::require(arguments.ranks >= 1 && std::to_string(arguments.ranks) == text, "--ranks",
                          text, "a whole number of ranks >= 1");
    } else if (word == "--resume" && arguments.command == "run") {
      arguments.resume = true;
    } else if (word.rfind("--", 0) != 0 && arguments.config.empty()) {
      arguments.config = word;
    } else {
      throw phasespace::InputError("unexpected argument \"" + word + "\"\n" + usage);
    }
  }
  if (arguments.config.empty()) throw phasespace::InputError(std::string("no CONFIG given\n") + usage);
  return arguments;
}

std::string format_duration(double seconds) {
  std::ostringstream out;
  if (seconds >= 3600) {
    out << static_cast<int>(seconds / 3600) << "h" << std::setw(2) << std::setfill('0')
        << static_cast<int>(seconds / 60) % 60 << "m";
  } else if (seconds >= 60) {
    out << static_cast<int>(seconds / 60) << "m" << std::setw(2) << std::setfill('0')
        << static_cast<int>(seconds) % 60 << "s";
  } else {
    out << std::fixed << std::setprecision(1) << seconds << "s";
  }
  return out.str();
}

void print_plan(const phasespace::StudyConfig& config, const phasespace::StudyPlan& plan) {
  std::cout << "study \"" << config.name << "\": " << plan.points.size() << " hbar points, backend "
            << plan.backend << ", precision " << config.precision
            << (config.fft_callbacks == "on" ? ", fft_callbacks on" : "") << "\n";
  std::printf("%10s %9s %8s %9s %8s %8s %9s %10s %10s %11s %11s %11s\n", "hbar", "N",
              "members", "window", "centres", "momenta", "dp", "q_steps", "c_steps", "memory_MB",
              "device_MB", "work_Gflop");
  for (const auto& point : plan.points) {
    std::printf("%10.4g %9zu %8zu %9.4g %8zu %8zu %9.3g %10zu %10zu %11.1f %11.1f %11.2f\n",
                point.hbar, point.grid.size, point.members, point.window_width,
                point.phase_space.centres, point.phase_space.momenta, point.phase_space.dp,
                point.quantum_steps, point.classical_steps, point.memory_bytes / 1e6,
                point.device_memory_bytes / 1e6,
                (point.quantum_work + point.classical_work) / 1e9);
  }
}

// FFTW's plans from earlier runs (phasespace/fftw_wisdom.hpp), stored again when the run ends,
// however it ends; rank 0 stores for an MPI job. A cache that cannot be stored costs only
// planning time next run: a warning, not an error.
class WisdomCache {
 public:
  explicit WisdomCache(bool store) : path_(phasespace::fftw_wisdom_path()), store_(store) {
    std::error_code error;
    if (!path_ || !std::filesystem::exists(*path_, error)) return;
    if (!phasespace::import_fftw_wisdom(*path_)) {
      std::cerr << "phasespace: warning: FFTW wisdom " << path_->string()
                << " is not FFTW wisdom; this run plans afresh and replaces it\n";
    }
  }
  ~WisdomCache() {
    if (!path_ || !store_) return;
    try {
      phasespace::export_fftw_wisdom(*path_);
    } catch (const std::exception& error) {
      std::cerr << "phasespace: warning: " << error.what()
                << " (the next run plans its transforms again)\n";
    }
  }
  WisdomCache(const WisdomCache&) = delete;
  WisdomCache& operator=(const WisdomCache&) = delete;

 private:
  std::optional<std::filesystem::path> path_;
  bool store_;
};

int run(const Arguments& arguments) {
  const phasespace::StudyConfig config = phasespace::load_config(arguments.config);
  if (arguments.command == "validate") {
    const auto plan = phasespace::plan_study(config, arguments.backend);
    if (session->rank() != 0) return 0;
    print_plan(config, plan);
    const int ranks = arguments.ranks > 0 ? arguments.ranks : session->size();
    if (ranks > 1) std::cout << phasespace::format_work_division(plan, phasespace::divide_work(plan, ranks));
    std::cout << "config is valid\n";
    return 0;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const WisdomCache wisdom(session->rank() == 0);
  phasespace::StudyOptions options;
  options.backend_override = arguments.backend;
  options.output_dir = arguments.out;
  options.resume = arguments.resume;
  options.stop = &stop_requested;
  if (!arguments.quiet && session->size() > 1) std::cerr << session->placement() + "\n";
  if (!arguments.quiet && session->rank() == 0) {
    // One status line, redrawn at most four times a second (and at each finished point).
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    options.progress = [last](const phasespace::Progress& p) mutable {
      const bool finished = p.stage == "done" || p.stage == "skipped (resumed)";
      const auto now = std::chrono::steady_clock::now();
      if (!finished && now - last < std::chrono::milliseconds(250)) return;
      last = now;
      std::fprintf(stderr, "\r[hbar %zu/%zu = %.4g] %-18s t = %-9.4g / %-9.4g elapsed %-8s ETA %-8s",
                   p.point + 1, p.points, p.hbar, p.stage.c_str(), p.t, p.t_end,
                   format_duration(p.elapsed).c_str(), format_duration(p.eta).c_str());
      if (finished) std::fprintf(stderr, "\n");
    };
  }
  const auto summary = session->size() > 1 ? phasespace::run_study_mpi(config, options)
                                           : phasespace::run_study(config, options);
  if (session->rank() != 0) return stop_requested.load() ? stopped_status() : 0;
  std::cout << phasespace::format_summary_table(summary);
  std::cout << "results in " << (arguments.out.empty() ? config.output.dir : arguments.out) << "\n";
  if (summary.contains("figures") && !summary["figures"]["drawn"].get<bool>()) {
    std::cerr << "phasespace: warning: figures not drawn (recorded in summary.json): "
              << summary["figures"]["error"].get<std::string>() << "\n";
  }
  if (stop_requested.load()) {  // after the last point: while the figures were drawn
    std::cerr << "phasespace: interrupted after the last point; every point is kept\n";
    return stopped_status();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--version")) {
    std::cout << "phasespace " << PHASESPACE_VERSION << "\n";
    return 0;
  }
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << usage;
    return 0;
  }
  phasespace::MpiSession mpi(&argc, &argv);
  session = &mpi;
  try {
    return run(parse_arguments(argc, argv));
  } catch (const phasespace::Interrupted& error) {
    if (mpi.rank() != 0) return stopped_status();  // every rank stops together; rank 0 says so
    std::cerr << "\nphasespace: " << error.what() << "\n";
    return stopped_status();
  } catch (const phasespace::InputError& error) {
    if (mpi.size() > 1) phasespace::abort_all_ranks(error.what(), 2);
    std::cerr << "phasespace: error: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    if (mpi.size() > 1) phasespace::abort_all_ranks(error.what(), 1);
    std::cerr << "phasespace: error: " << error.what() << "\n";
    return 1;
  }
}
