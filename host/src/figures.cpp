// figures/*.png of a results folder, drawn by scripts/plot_study.py (installed as
// share/phasespace/plot_study.py) with Debian's python3: spawned with an argument vector (no
// shell, so any character in a path is fine) and its output captured for the error message.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "phasespace/errors.hpp"
#include "study_engine.hpp"

extern char** environ;

namespace phasespace {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kept_output_characters = 4000;

// Where plot_study.py is, first found wins: PHASESPACE_PLOT_SCRIPT; next to the running
// program, <dir>/../share/phasespace (an installed bin/, or a build tree's tests/) and
// <dir>/share/phasespace (a build tree's programs; CMake copies the script there); the install
// prefix this library was built for (a program of the user's that links it).
std::vector<fs::path> plot_script_places() {
  if (const char* script = std::getenv("PHASESPACE_PLOT_SCRIPT")) return {fs::path(script)};
  std::vector<fs::path> places;
  std::error_code error;
  const fs::path program = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    places.push_back(program.parent_path().parent_path() / PHASESPACE_DATA_SUBDIR / "plot_study.py");
    places.push_back(program.parent_path() / PHASESPACE_DATA_SUBDIR / "plot_study.py");
  }
  places.push_back(fs::path(PHASESPACE_INSTALL_DATA_DIR) / "plot_study.py");
  return places;
}

struct Finished {
  std::string failure;  // empty: exit status 0
  std::string output;   // stdout and stderr together, the last kept_output_characters
};

std::string system_message(int code) { return std::strerror(code); }

Finished run_captured(const std::vector<std::string>& arguments) {
  std::array<int, 2> pipe_ends{};
  if (::pipe2(pipe_ends.data(), O_CLOEXEC) != 0) return {"pipe: " + system_message(errno), ""};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  pid_t child = 0;
  const int started =
      posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_ends[1]);
  if (started != 0) {
    ::close(pipe_ends[0]);
    return {"cannot start " + arguments[0] + ": " + system_message(started), ""};
  }
  Finished finished;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t count = ::read(pipe_ends[0], buffer.data(), buffer.size());
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    finished.output.append(buffer.data(), static_cast<std::size_t>(count));
    if (finished.output.size() > 2 * kept_output_characters) {
      finished.output.erase(0, finished.output.size() - kept_output_characters);
    }
  }
  ::close(pipe_ends[0]);
  if (finished.output.size() > kept_output_characters) {
    finished.output = "..." + finished.output.substr(finished.output.size() - kept_output_characters);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return {"waitpid: " + system_message(errno), finished.output};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    finished.failure = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    finished.failure = "ended by signal " + std::to_string(WTERMSIG(status));
  }
  return finished;
}

}  // namespace

json draw_figures(const std::string& results_dir) {
  const std::vector<fs::path> places = plot_script_places();
  fs::path script;
  std::error_code error;
  for (const auto& place : places) {
    if (fs::is_regular_file(place, error)) {
      script = place;
      break;
    }
  }
  if (script.empty()) {
    std::string looked;
    for (const auto& place : places) looked += (looked.empty() ? "" : ", ") + place.string();
    return {{"drawn", false},
            {"error", "plot_study.py not found (looked for " + looked +
                          "); set PHASESPACE_PLOT_SCRIPT to its path"}};
  }
  // Debian's python3 has matplotlib and h5py; a python3 first on PATH may be a bare one.
  const std::string python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  const Finished finished = run_captured({python, script.string(), results_dir});
  if (finished.failure.empty()) return {{"drawn", true}};
  return {{"drawn", false},
          {"error", python + " " + script.string() + " " + finished.failure +
                        (finished.output.empty() ? "" : ":\n" + finished.output)}};
}

}  // namespace phasespace
