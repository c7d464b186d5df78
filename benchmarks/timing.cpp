#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "bench.hpp"

namespace phasespace::bench {

Timing time_median(const std::function<void()>& work, int repeat) {
  work();  // warm-up: plans, caches, page faults
  std::vector<double> seconds;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    const auto stop = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  return {median, (seconds.back() - seconds.front()) / median};
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
