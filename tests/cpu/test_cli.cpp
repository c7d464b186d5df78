// The command-line program end to end: outputs, --resume, SIGINT, and error messages.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// `run` keeps FFTW wisdom in the user's cache by default; these runs keep out of it (a test
// that wants a cache names one on its command line).
[[maybe_unused]] const int wisdom_off = setenv("PHASESPACE_FFTW_WISDOM", "off", 0);

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Result run_cli(const std::string& arguments) {
  const std::string command = std::string(PHASESPACE_CLI) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  Result result;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) result.output += buffer;
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

fs::path scratch(const std::string& name) {
  const fs::path path = fs::temp_directory_path() / ("phasespace_cli_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(path);
  fs::create_directories(path);
  return path;
}

// A small free-particle study; `hbar` sets the sweep (small values make slow points).
fs::path write_config(const fs::path& dir, const json& hbar, bool fields) {
  json config = json::parse(R"({
    "name": "cli_test", "backend": "cpu",
    "system": {"mass": 1.0, "domain": [-6.0, 6.0], "potential": "0.5*x^2"},
    "initial_state": {"kind": "gaussian", "x0": 1.0, "p0": 0.0, "sigma": 0.4},
    "resolution": {"p_cut": 3.0, "oversampling": 1.5},
    "window": {"shape": "gaussian", "width": {"coefficient": 1.0, "exponent": 0.5}},
    "phase_space": {"p_max": 2.5},
    "time": {"t_end": 1.0, "dt": 0.01, "outputs": [0.5, 1.0], "scheme": "strang"},
    "metrics": {"weak_width": [0.2, 0.2]}
  })");
  config["hbar"] = hbar;
  config["output"] = {{"dir", (dir / "results").string()}, {"fields", fields}, {"figures", fields}};
  const fs::path path = dir / "config.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

bool no_temporary_files(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return false;
  }
  return true;
}

TEST(Cli, RunWritesSummaryFieldsAndFigures) {
  const fs::path dir = scratch("run");
  const fs::path config = write_config(dir, {0.1, 0.05}, true);
  const Result result = run_cli("run " + config.string() + " --quiet");
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("l1_weak"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("fitted rates"), std::string::npos) << result.output;
  const fs::path results = dir / "results";
  std::ifstream summary_file(results / "summary.json");
  const json summary = json::parse(summary_file);
  EXPECT_EQ(summary["runs"].size(), 2u);
  EXPECT_EQ(summary["backend"], "cpu");
  EXPECT_TRUE(summary["fits"].contains("l1"));
  EXPECT_TRUE(fs::exists(results / "fields" / "hbar_0.h5"));
  EXPECT_TRUE(fs::exists(results / "fields" / "hbar_1.h5"));
  EXPECT_TRUE(fs::exists(results / "figures" / "convergence.png"));
  EXPECT_TRUE(fs::exists(results / "figures" / "rho_hbar_0.png"));
  EXPECT_TRUE(no_temporary_files(dir));
  fs::remove_all(dir);
}

TEST(Cli, ResumeSkipsFinishedPoints) {
  const fs::path dir = scratch("resume");
  const fs::path config = write_config(dir, {0.1, 0.05}, false);
  ASSERT_EQ(run_cli("run " + config.string() + " --quiet").status, 0);
  const auto written = fs::last_write_time(dir / "results" / "points" / "hbar_0.json");
  const Result again = run_cli("run " + config.string() + " --resume");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("skipped (resumed)"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(dir / "results" / "points" / "hbar_0.json"), written);
  fs::remove_all(dir);
}

TEST(Cli, InterruptKeepsFinishedPointsAndNoPartialFiles) {
  const fs::path dir = scratch("interrupt");
  // The first point is quick; the second (small ħ, large grid) takes many seconds.
  const fs::path config = write_config(dir, {0.1, 0.0005}, false);
  const std::string cli = PHASESPACE_CLI;
  const std::string config_path = config.string();
  char* argv[] = {const_cast<char*>(cli.c_str()), const_cast<char*>("run"),
                  const_cast<char*>(config_path.c_str()), const_cast<char*>("--quiet"), nullptr};
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, cli.c_str(), nullptr, nullptr, argv, environ), 0);
  const fs::path first = dir / "results" / "points" / "hbar_0.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(first) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(first)) << "the first point never finished";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::ifstream point(first);
  EXPECT_FALSE(json::parse(point, nullptr, false).is_discarded());
  EXPECT_FALSE(fs::exists(dir / "results" / "points" / "hbar_1.json"));
  EXPECT_TRUE(no_temporary_files(dir));
  fs::remove_all(dir);
}

// The FFTW wisdom cache: written by the first run, read by the second, which gives the same
// metrics to round-off (plans differ only in the order of the same arithmetic).
TEST(Cli, RunKeepsFftwWisdomBetweenRuns) {
  const fs::path dir = scratch("wisdom");
  const fs::path config = write_config(dir, {0.2, 0.1}, false);
  const fs::path wisdom = dir / "cache" / "fftw-wisdom";
  const std::string prefix = "PHASESPACE_FFTW_WISDOM=" + wisdom.string() + " ";
  const std::string command = std::string(PHASESPACE_CLI) + " run " + config.string() + " --quiet";
  auto run_with_cache = [&](const std::string& out) {
    const std::string line = prefix + command + " --out " + (dir / out).string() + " > /dev/null 2>&1";
    return std::system(line.c_str());
  };
  ASSERT_EQ(run_with_cache("first"), 0);
  ASSERT_TRUE(fs::is_regular_file(wisdom));
  std::ifstream stored(wisdom);
  std::string head(7, ' ');
  stored.read(head.data(), 7);
  EXPECT_EQ(head, "(fftw-3");
  ASSERT_EQ(run_with_cache("second"), 0);
  // A file that is not wisdom: a warning naming it, a run that plans afresh, wisdom in its place.
  const fs::path garbage = dir / "garbage";
  std::ofstream(garbage) << "not wisdom";
  const std::string line = "PHASESPACE_FFTW_WISDOM=" + garbage.string() + " " + command +
                           " --out " + (dir / "third").string() + " 2>&1";
  FILE* pipe = popen(line.c_str(), "r");
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  EXPECT_EQ(pclose(pipe), 0) << output;
  EXPECT_NE(output.find(garbage.string() + " is not FFTW wisdom"), std::string::npos) << output;
  std::ifstream replaced(garbage);
  std::string replaced_head(7, ' ');
  replaced.read(replaced_head.data(), 7);
  EXPECT_EQ(replaced_head, "(fftw-3");
  const json first = json::parse(std::ifstream(dir / "first" / "summary.json"));
  const json second = json::parse(std::ifstream(dir / "second" / "summary.json"));
  for (std::size_t i = 0; i < first["runs"].size(); ++i) {
    for (const auto& [name, values] : first["runs"][i]["metrics"].items()) {
      for (std::size_t k = 0; k < values.size(); ++k) {
        const double a = values[k].get<double>();
        const double b = second["runs"][i]["metrics"][name][k].get<double>();
        EXPECT_NEAR(a, b, 1e-12 * std::max(1.0, std::abs(a))) << name;
      }
    }
  }
  for (const auto& entry : fs::directory_iterator(wisdom.parent_path())) {
    EXPECT_EQ(entry.path().filename(), "fftw-wisdom") << "a temporary file was left behind";
  }
}

TEST(Cli, BadInputGivesOneClearError) {
  const fs::path dir = scratch("bad");
  const Result missing = run_cli("run " + (dir / "nope.json").string());
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("cannot be opened"), std::string::npos) << missing.output;
  std::ofstream(dir / "broken.json") << "{\"name\": ";
  const Result broken = run_cli("validate " + (dir / "broken.json").string());
  EXPECT_EQ(broken.status, 2);
  EXPECT_NE(broken.output.find("not valid JSON"), std::string::npos) << broken.output;
  const Result flag = run_cli("run x.json --speed fast");
  EXPECT_EQ(flag.status, 2);
  EXPECT_NE(flag.output.find("--speed"), std::string::npos) << flag.output;
  const fs::path config = write_config(dir, {0.1}, false);
  const Result validate = run_cli("validate " + config.string());
  EXPECT_EQ(validate.status, 0) << validate.output;
  EXPECT_NE(validate.output.find("config is valid"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
