// The command-line program end to end: outputs, --resume, SIGINT and SIGTERM, the results
// folder's lock, and error messages.
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
#include <optional>
#include <thread>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "phasespace/output.hpp"

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

// A small free-particle study; `hbar` sets the sweep (small values make slow points). Figures
// are drawn when fields are written unless `figures` says otherwise.
fs::path write_config(const fs::path& dir, const json& hbar, bool fields,
                      std::optional<bool> figures = std::nullopt) {
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
  config["output"] = {{"dir", (dir / "results").string()},
                      {"fields", fields},
                      {"figures", figures.value_or(fields)}};
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

// Starts `phasespace run CONFIG --quiet` in the background.
pid_t spawn_run(const fs::path& config) {
  const std::string cli = PHASESPACE_CLI;
  const std::string config_path = config.string();
  char* argv[] = {const_cast<char*>(cli.c_str()), const_cast<char*>("run"),
                  const_cast<char*>(config_path.c_str()), const_cast<char*>("--quiet"), nullptr};
  pid_t child = 0;
  if (posix_spawn(&child, cli.c_str(), nullptr, nullptr, argv, environ) != 0) return -1;
  return child;
}

bool wait_for_file(const fs::path& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(path) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fs::exists(path);
}

// A run stopped by `signal_number` while its second (slow) point runs: it exits with
// 128 + the signal's number, keeps the first point, and leaves no partial file.
void expect_stopped_cleanly(const std::string& name, int signal_number) {
  const fs::path dir = scratch(name);
  // The first point is quick; the second (small ħ, large grid) takes many seconds.
  const fs::path config = write_config(dir, {0.1, 0.0005}, false);
  const pid_t child = spawn_run(config);
  ASSERT_GT(child, 0);
  const fs::path first = dir / "results" / "points" / "hbar_0.json";
  ASSERT_TRUE(wait_for_file(first)) << "the first point never finished";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child, signal_number);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 128 + signal_number);
  std::ifstream point(first);
  EXPECT_FALSE(json::parse(point, nullptr, false).is_discarded());
  EXPECT_FALSE(fs::exists(dir / "results" / "points" / "hbar_1.json"));
  EXPECT_TRUE(no_temporary_files(dir));
  fs::remove_all(dir);
}

TEST(Cli, InterruptKeepsFinishedPointsAndNoPartialFiles) {
  expect_stopped_cleanly("interrupt", SIGINT);
}

TEST(Cli, TerminateIsHandledLikeInterrupt) { expect_stopped_cleanly("terminate", SIGTERM); }

// Defect 8 of issue 14: a second run into a folder another run is writing mixed the two runs'
// results. It is refused at once, naming the holder; the lock goes with its holder however it
// ends (here SIGKILL), so the next run is not blocked.
TEST(Cli, SecondRunIntoABusyResultsFolderIsRefused) {
  const fs::path dir = scratch("lock");
  const pid_t first = spawn_run(write_config(dir, {0.1, 0.0005}, false));
  ASSERT_GT(first, 0);
  ASSERT_TRUE(wait_for_file(dir / "results" / "points" / "hbar_0.json"));
  const fs::path other = dir / "other";
  fs::create_directories(other);
  const fs::path quick = write_config(other, {0.2}, false);
  json config = json::parse(std::ifstream(quick));
  config["output"]["dir"] = (dir / "results").string();
  std::ofstream(quick) << config.dump();
  const Result refused = run_cli("run " + quick.string() + " --quiet");
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("in use by another phasespace run (pid " + std::to_string(first)),
            std::string::npos)
      << refused.output;
  const Result out_flag = run_cli("run " + quick.string() + " --quiet --out " + (dir / "results").string());
  EXPECT_EQ(out_flag.status, 2) << out_flag.output;
  EXPECT_NE(out_flag.output.find("--out = "), std::string::npos) << out_flag.output;
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  const Result after = run_cli("run " + quick.string() + " --quiet");
  EXPECT_EQ(after.status, 0) << after.output;
  fs::remove_all(dir);
}

std::size_t count_of(const std::string& text, const std::string& word) {
  std::size_t count = 0;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++count;
  return count;
}

// Defect 7 of issue 14: --resume trusted missing or truncated fields files. A point is done
// only when its fields file reads back whole; orphaned temporary files of a dead run go, and
// files that are not ours stay.
TEST(Cli, ResumeRunsAgainPointsWhoseFieldsAreMissingOrTruncated) {
  const fs::path dir = scratch("resume_fields");
  const fs::path config = write_config(dir, {0.2, 0.1, 0.05}, true, false);
  ASSERT_EQ(run_cli("run " + config.string() + " --quiet").status, 0);
  const fs::path fields = dir / "results" / "fields";
  fs::resize_file(fields / "hbar_0.h5", fs::file_size(fields / "hbar_0.h5") / 2);
  fs::remove(fields / "hbar_1.h5");
  const auto kept = fs::last_write_time(fields / "hbar_2.h5");
  std::ofstream(dir / "results" / "points" / "hbar_0.json.tmp-999999") << "{";
  std::ofstream(fields / "hbar_2.h5.tmp-999999") << "partial";
  std::ofstream(fields / "notes.txt") << "mine";
  const Result again = run_cli("run " + config.string() + " --resume");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(count_of(again.output, "skipped (resumed)"), 1u) << again.output;
  for (const char* name : {"hbar_0.h5", "hbar_1.h5", "hbar_2.h5"}) {
    EXPECT_EQ(phasespace::read_fields_hdf5((fields / name).string()).times.size(), 2u) << name;
  }
  EXPECT_EQ(fs::last_write_time(fields / "hbar_2.h5"), kept);
  EXPECT_TRUE(no_temporary_files(dir));
  EXPECT_TRUE(fs::exists(fields / "notes.txt"));
  fs::remove_all(dir);
}

// Files of ħ points no longer in the config go: on --resume those past the sweep (a changed
// sweep is a changed config: its points run again), on a fresh run every point file of ours
// (each is written again); other files stay.
TEST(Cli, NoStaleResultsOfAnEarlierSweepStay) {
  const fs::path dir = scratch("stale");
  const fs::path points = dir / "results" / "points";
  const fs::path fields = dir / "results" / "fields";
  ASSERT_EQ(run_cli("run " + write_config(dir, {0.2, 0.1, 0.05}, true, false).string() + " --quiet").status, 0);
  ASSERT_TRUE(fs::exists(fields / "hbar_2.h5"));
  std::ofstream(points / "notes.txt") << "mine";
  const Result resumed = run_cli("run " + write_config(dir, {0.2, 0.1}, true, false).string() + " --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(count_of(resumed.output, "] done"), 2u) << resumed.output;
  EXPECT_FALSE(fs::exists(points / "hbar_2.json"));
  EXPECT_FALSE(fs::exists(fields / "hbar_2.h5"));
  const Result fresh = run_cli("run " + write_config(dir, {0.2}, false).string() + " --quiet");
  ASSERT_EQ(fresh.status, 0) << fresh.output;
  EXPECT_TRUE(fs::exists(points / "hbar_0.json"));
  EXPECT_FALSE(fs::exists(points / "hbar_1.json"));
  EXPECT_FALSE(fs::exists(fields / "hbar_0.h5")) << "this run writes no fields";
  EXPECT_FALSE(fs::exists(fields / "hbar_1.h5"));
  EXPECT_TRUE(fs::exists(points / "notes.txt"));
  const json summary = json::parse(std::ifstream(dir / "results" / "summary.json"));
  EXPECT_EQ(summary["runs"].size(), 1u);
  fs::remove_all(dir);
}

// The resume key is XXH3's 128-bit digest of the config with sorted keys (nlohmann's dump): the
// same on every platform and standard library, and blind to key order and spacing.
TEST(Cli, ResumeKeyIsADigestOfTheCanonicalConfig) {
  const fs::path dir = scratch("digest");
  const fs::path config = write_config(dir, {0.2}, false);
  ASSERT_EQ(run_cli("run " + config.string() + " --quiet").status, 0);
  const json stored = json::parse(std::ifstream(dir / "results" / "points" / "hbar_0.json"));
  const json summary = json::parse(std::ifstream(dir / "results" / "summary.json"));
  const std::string canonical = summary["config"].dump();
  const XXH128_hash_t digest = XXH3_128bits(canonical.data(), canonical.size());
  char expected[33];
  std::snprintf(expected, sizeof expected, "%016llx%016llx",
                static_cast<unsigned long long>(digest.high64),
                static_cast<unsigned long long>(digest.low64));
  EXPECT_EQ(stored["config_hash"], expected);
  // The same config written with its keys in another order and other spacing.
  const json parsed = json::parse(std::ifstream(config));
  std::vector<std::string> members;
  for (const auto& [key, value] : parsed.items()) members.push_back("\"" + key + "\" :  " + value.dump(3));
  std::string reordered = "{\n";
  for (auto member = members.rbegin(); member != members.rend(); ++member) {
    reordered += *member + (member + 1 == members.rend() ? "\n" : ",\n");
  }
  std::ofstream(dir / "reordered.json") << reordered << "}";
  const Result again = run_cli("run " + (dir / "reordered.json").string() + " --resume");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(count_of(again.output, "skipped (resumed)"), 1u) << again.output;
  fs::remove_all(dir);
}

// Figures are drawn without a shell (a quote and a space in the path are fine), by the script
// found next to the program; a figure that cannot be drawn is a warning recorded in
// summary.json, and the run's results stand.
TEST(Cli, FiguresDrawIntoAnyPathAndTheirFailureIsAWarning) {
  const fs::path dir = scratch("figures");
  const fs::path config = write_config(dir, {0.2, 0.1}, true);
  json quoted = json::parse(std::ifstream(config));
  const fs::path odd = dir / "it's a \"results\" folder";
  quoted["output"]["dir"] = odd.string();
  std::ofstream(config) << quoted.dump();
  const Result drawn = run_cli("run " + config.string() + " --quiet");
  ASSERT_EQ(drawn.status, 0) << drawn.output;
  EXPECT_TRUE(fs::exists(odd / "figures" / "convergence.png"));
  EXPECT_TRUE(fs::exists(odd / "figures" / "rho_hbar_1.png"));
  EXPECT_EQ(json::parse(std::ifstream(odd / "summary.json"))["figures"]["drawn"], true);

  const fs::path failing = dir / "failing_plot.py";
  std::ofstream(failing) << "import sys\nprint('no figures today')\nsys.exit(3)\n";
  setenv("PHASESPACE_PLOT_SCRIPT", failing.c_str(), 1);
  const Result failed = run_cli("run " + config.string() + " --quiet");
  unsetenv("PHASESPACE_PLOT_SCRIPT");
  EXPECT_EQ(failed.status, 0) << failed.output;
  EXPECT_NE(failed.output.find("warning: figures not drawn"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("no figures today"), std::string::npos) << failed.output;
  const json summary = json::parse(std::ifstream(odd / "summary.json"));
  EXPECT_EQ(summary["runs"].size(), 2u);
  EXPECT_EQ(summary["figures"]["drawn"], false);
  EXPECT_NE(summary["figures"]["error"].get<std::string>().find("status 3"), std::string::npos);
  EXPECT_FALSE(fs::exists(odd / "figures" / "convergence.png")) << "a figure of the earlier run";
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

// Issue 14: every mistake in the config file exits with 2 and names what the user wrote;
// 70 000 levels of nesting crashed, 1e400, a folder as CONFIG and a trap that is not finite
// exited with 1, a duplicate key passed (the last one won), an array at the top named no path.
TEST(Cli, ConfigFileMistakesExitWithTwoNamingWhatWasWritten) {
  const fs::path dir = scratch("config_mistakes");
  const std::string good = json::parse(std::ifstream(write_config(dir, {0.1}, false))).dump();
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with("\"hbar\":[0.1]", "\"hbar\":" + std::string(70000, '[') + std::string(70000, ']')),
       "hbar[0][0][0]"},
      {with("\"mass\":1.0", "\"mass\":1.0,\"mass\":2.0"), "system.mass is given twice"},
      {with("\"hbar\":[0.1]", "\"hbar\":[0.1,1e400]"), "hbar[1]: not a valid value"},
      {"[" + good + "]", "the config (its top level) = [{"},
      {with("\"kind\":\"gaussian\",\"p0\":0.0,\"sigma\":0.4,\"x0\":1.0",
            "\"kind\":\"fermions\",\"trap\":\"log(x)\",\"particles\":2"),
       "initial_state.trap = \"log(x)\": not finite at x = "},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path path = dir / ("case_" + std::to_string(i) + ".json");
    std::ofstream(path) << cases[i].first;
    const Result result = run_cli("validate " + path.string());
    EXPECT_EQ(result.status, 2) << cases[i].second << ": " << result.output.substr(0, 400);
    EXPECT_NE(result.output.find(cases[i].second), std::string::npos) << result.output.substr(0, 400);
    EXPECT_LT(result.output.size(), 1000u) << "one short message";
  }
  const Result folder = run_cli("validate " + dir.string());
  EXPECT_EQ(folder.status, 2) << folder.output;
  EXPECT_NE(folder.output.find("is a folder"), std::string::npos) << folder.output;
#if !defined(PHASESPACE_HAS_CUDA)
  const Result cuda = run_cli("validate " + write_config(dir, {0.1}, false).string() + " --backend cuda");
  EXPECT_EQ(cuda.status, 2) << cuda.output;
  EXPECT_NE(cuda.output.find("backend cuda not compiled in"), std::string::npos) << cuda.output;
#endif
  fs::remove_all(dir);
}

}  // namespace
