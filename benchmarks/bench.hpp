#pragma once
// The benchmark program's shared pieces: options, result rows, and timing helpers.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace phasespace::bench {

struct Options {
  std::string backend = "cpu";       // cpu | cuda
  std::string precision = "double";  // double | float
  std::string size = "default";      // default | small (the CTest smoke runs) | an integer log2 size
  int repeat = 5;
};

// Runs the work once and returns the seconds it took (wall clock on the CPU, CUDA events on the
// GPU); a sample may leave untimed preparation out of its own count.
using Sample = std::function<double()>;

// Seconds of a stage and of its floor, taken in pairs: stage, floor, stage, floor, ... one pair
// per repeat, so that load from other processes falls on both alike.
struct PairedSamples {
  std::vector<double> stage;
  std::vector<double> floor;
  // Over the pairs: the share of its threads' time that this process spent runnable but waiting
  // for a CPU that something else held (/proc/self/task/*/schedstat); empty where unreadable or
  // over too short a time to tell.
  std::optional<double> cpu_wait;
};

// Runs each once to warm up (plans, caches, page faults), then `repeat` pairs.
PairedSamples time_pairs(const Sample& stage, const Sample& floor, int repeat);

// Seconds of one run of `work`, by the wall clock.
double wall_seconds(const std::function<void()>& work);

// What the pairs say about stage / floor. The ratio of pair i is stage i / floor i, each per unit
// of work (a step, a pass), so a load that comes and goes cancels within a pair.
struct Ratios {
  std::size_t pairs = 0;
  double median = 0.0;     // median of the per-pair ratios
  double q1 = 0.0;         // their first and third quartiles (linear interpolation)
  double q3 = 0.0;
  double of_minima = 0.0;  // min stage / min floor: each at its least disturbed
  // (q3 - q1) / median: how far the per-pair ratios disagree.
  double spread() const { return median > 0.0 ? (q3 - q1) / median : 0.0; }
};

// A busy machine (see the README's Benchmarks section for why these limits): the process's
// threads waited for a CPU more than this share of their time, or the per-pair ratios spread
// over more than this (interquartile range / median).
inline constexpr double busy_cpu_wait = 0.05;
inline constexpr double busy_spread = 0.20;
// Quartiles of fewer pairs are the extremes or next to them: no verdict from the spread below this.
inline constexpr std::size_t busy_min_pairs = 5;

// One measurement and its floor, measured in the same run.
struct Row {
  std::string stage;
  std::string backend;
  std::string precision;
  std::string shape;
  double seconds = 0.0;        // median over repeats, per unit of work
  double spread = 0.0;         // (max - min) / median of the stage's repeats
  std::string floor;           // what the floor is, e.g. "fftw forward+inverse"
  double floor_seconds = 0.0;  // median over repeats, per unit of its work
  Ratios ratios;               // from the same pairs
  std::optional<double> cpu_wait;  // as in PairedSamples
  double bytes = 0.0;          // bytes the stage must move at least (for GB/s)
  std::string device;
  double ratio() const { return floor_seconds > 0.0 ? seconds / floor_seconds : 0.0; }
  double gbytes_per_s() const { return seconds > 0.0 ? bytes / seconds / 1e9 : 0.0; }
  // Whether the CPU wait or the ratios' spread say the machine was busy; empty when neither can
  // tell (no CPU wait known, too few pairs).
  std::optional<bool> busy() const;
};

// Fills the row's seconds, spread, floor_seconds, ratios and cpu_wait from the pairs, where each stage
// sample covers `stage_units` units of work (steps) and each floor sample `floor_units`.
void set_timings(Row& row, const PairedSamples& samples, double stage_units, double floor_units);

// CPU stages (benchmarks/cpu_*.cpp).
std::vector<Row> splitstep_cpu(const Options& options);
std::vector<Row> projection_cpu(const Options& options);
std::vector<Row> liouville_cpu(const Options& options);
// CUDA stages (benchmarks/cuda_stages.cpp); throw NotCompiled without CUDA.
std::vector<Row> splitstep_cuda(const Options& options);
std::vector<Row> projection_cuda(const Options& options);
std::vector<Row> liouville_cuda(const Options& options);

std::string cpu_device_name();

}  // namespace phasespace::bench
