#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "bench.hpp"
#include "phasespace/errors.hpp"

namespace phasespace::bench {

namespace {

// The q-quantile of sorted values, interpolating linearly between neighbours.
double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(below);
  return sorted[below] + weight * (sorted[above] - sorted[below]);
}

// Nanoseconds each thread of this process has run on a CPU and waited, runnable, for one:
// the first two fields of /proc/self/task/TID/schedstat. Empty where the kernel has none.
using ThreadTimes = std::map<std::string, std::pair<double, double>>;

std::optional<ThreadTimes> thread_times() {
  std::error_code error;
  std::filesystem::directory_iterator tasks("/proc/self/task", error);
  if (error) return std::nullopt;
  ThreadTimes times;
  for (const auto& task : tasks) {
    std::ifstream schedstat(task.path() / "schedstat");
    double running = 0.0;
    double waiting = 0.0;
    if (!(schedstat >> running >> waiting)) continue;  // a thread that ended meanwhile
    times[task.path().filename().string()] = {running, waiting};
  }
  if (times.empty()) return std::nullopt;
  return times;
}

// The share of the threads' time between two readings spent waiting for a CPU. A thread
// started in between counts whole; one that ended in between is lost (its time unknown).
std::optional<double> cpu_wait_between(const std::optional<ThreadTimes>& before,
                                       const std::optional<ThreadTimes>& after) {
  if (!before || !after) return std::nullopt;
  double running = 0.0;
  double waiting = 0.0;
  for (const auto& [thread, times] : *after) {
    const auto earlier = before->find(thread);
    const std::pair<double, double> start =
        earlier == before->end() ? std::pair<double, double>{0.0, 0.0} : earlier->second;
    running += times.first - start.first;
    waiting += times.second - start.second;
  }
  // The kernel books a wait when the thread gets a CPU back, and run time at ticks: over less
  // than a few ticks (4 ms each at most) the share says little.
  const double least_nanoseconds = 50e6;
  if (running + waiting < least_nanoseconds) return std::nullopt;
  return waiting / (running + waiting);
}

std::vector<double> sorted_per_unit(std::vector<double> seconds, double units) {
  for (double& value : seconds) value /= units;
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

}  // namespace

PairedSamples time_pairs(const Sample& stage, const Sample& floor, int repeat) {
  require(repeat >= 1, "--repeat", std::to_string(repeat), "an integer >= 1");
  stage();  // warm-up: plans, caches, page faults
  floor();
  PairedSamples samples;
  const std::optional<ThreadTimes> before = thread_times();
  for (int i = 0; i < repeat; ++i) {
    samples.stage.push_back(stage());
    samples.floor.push_back(floor());
  }
  samples.cpu_wait = cpu_wait_between(before, thread_times());
  return samples;
}

double wall_seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::optional<bool> Row::busy() const {
  if (cpu_wait && *cpu_wait > busy_cpu_wait) return true;
  const bool spread_tells = ratios.pairs >= busy_min_pairs;
  if (spread_tells && ratios.spread() > busy_spread) return true;
  if (cpu_wait || spread_tells) return false;
  return std::nullopt;
}

void set_timings(Row& row, const PairedSamples& samples, double stage_units, double floor_units) {
  if (samples.stage.empty() || samples.stage.size() != samples.floor.size()) {
    throw Error("benchmark " + row.stage + ": stage and floor samples do not pair up");
  }
  for (std::size_t i = 0; i < samples.stage.size(); ++i) {
    if (!(samples.stage[i] > 0.0 && samples.floor[i] > 0.0)) {
      throw Error("benchmark " + row.stage + ": pair " + std::to_string(i) +
                  " took no measurable time (stage " + std::to_string(samples.stage[i]) +
                  " s, floor " + std::to_string(samples.floor[i]) + " s)");
    }
  }
  const std::vector<double> stage = sorted_per_unit(samples.stage, stage_units);
  const std::vector<double> floor = sorted_per_unit(samples.floor, floor_units);
  std::vector<double> ratios;
  for (std::size_t i = 0; i < samples.stage.size(); ++i) {
    ratios.push_back((samples.stage[i] / stage_units) / (samples.floor[i] / floor_units));
  }
  std::sort(ratios.begin(), ratios.end());
  row.seconds = quantile(stage, 0.5);
  row.spread = (stage.back() - stage.front()) / row.seconds;
  row.floor_seconds = quantile(floor, 0.5);
  row.ratios.pairs = ratios.size();
  row.ratios.median = quantile(ratios, 0.5);
  row.ratios.q1 = quantile(ratios, 0.25);
  row.ratios.q3 = quantile(ratios, 0.75);
  row.ratios.of_minima = stage.front() / floor.front();
  row.cpu_wait = samples.cpu_wait;
}

std::string cpu_device_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return line.substr(colon + 2);
    }
  }
  return "cpu";
}

}  // namespace phasespace::bench
