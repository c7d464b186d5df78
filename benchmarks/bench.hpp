#pragma once
// The benchmark program's shared pieces: options, result rows, and timing helpers.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace phasespace::bench {

struct Options {
  std::string backend = "cpu";       // cpu | cuda
  std::string precision = "double";  // double | float
  std::string size = "default";      // default | small (the CTest smoke runs) | an integer log2 size
  int repeat = 5;
};

// One measurement and its floor, measured in the same run.
struct Row {
  std::string stage;
  std::string backend;
  std::string precision;
  std::string shape;
  double seconds = 0.0;        // median over repeats
  double spread = 0.0;         // (max - min) / median over repeats
  std::string floor;           // what the floor is, e.g. "fftw forward+inverse"
  double floor_seconds = 0.0;  // median over repeats
  double bytes = 0.0;          // bytes the stage must move at least (for GB/s)
  std::string device;
  double ratio() const { return floor_seconds > 0.0 ? seconds / floor_seconds : 0.0; }
  double gbytes_per_s() const { return seconds > 0.0 ? bytes / seconds / 1e9 : 0.0; }
};

struct Timing {
  double median = 0.0;
  double spread = 0.0;
};

// Runs `work` once to warm up, then `repeat` times; median wall time and relative spread.
Timing time_median(const std::function<void()>& work, int repeat);

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
