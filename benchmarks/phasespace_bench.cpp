// phasespace-bench: times each stage after a warm-up next to its floor, the two alternating in
// pairs (stage, floor, stage, floor, ... one pair per repeat), and prints one row per
// measurement (optionally as JSON): medians, the ratios the pairs give, and whether the machine
// was busy (the process waited for a CPU, or the per-pair ratios spread).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench.hpp"
#include "phasespace/errors.hpp"

namespace {

using phasespace::bench::Options;
using phasespace::bench::Row;

const char* usage =
    "usage: phasespace-bench [--backend cpu|cuda] [--stage splitstep|projection|liouville|all]\n"
    "                        [--precision double|float] [--size default|small|LOG2] [--repeat N]\n"
    "                        [--json FILE]\n";

nlohmann::json optional_json(const auto& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const Row& row) {
  return {{"stage", row.stage},
          {"backend", row.backend},
          {"precision", row.precision},
          {"shape", row.shape},
          {"seconds", row.seconds},
          {"spread", row.spread},
          {"floor", row.floor},
          {"floor_seconds", row.floor_seconds},
          {"ratio", row.ratio()},
          {"ratio_median", row.ratios.median},
          {"ratio_q1", row.ratios.q1},
          {"ratio_q3", row.ratios.q3},
          {"ratio_spread", row.ratios.spread()},
          {"ratio_of_minima", row.ratios.of_minima},
          {"pairs", row.ratios.pairs},
          {"cpu_wait", optional_json(row.cpu_wait)},
          {"busy", optional_json(row.busy())},
          {"gbytes_per_s", row.gbytes_per_s()},
          {"device", row.device}};
}

void print_header() {
  std::printf("%-11s %-5s %-6s %-26s %12s %8s %-30s %12s %7s %12s %12s %15s %8s %9s %s\n",
              "stage", "back", "prec", "shape", "seconds", "spread", "floor", "floor_s", "ratio",
              "ratio_median", "ratio_spread", "ratio_of_minima", "cpu_wait", "GB/s", "busy");
}

std::string percent(const std::optional<double>& share) {
  char text[16] = "-";
  if (share) std::snprintf(text, sizeof text, "%.1f%%", 100.0 * *share);
  return text;
}

void print_row(const Row& row) {
  const std::optional<bool> busy = row.busy();
  std::printf(
      "%-11s %-5s %-6s %-26s %12.6g %7.1f%% %-30s %12.6g %7.3f %12.3f %11.1f%% %15.3f %8s %9.2f %s\n",
      row.stage.c_str(), row.backend.c_str(), row.precision.c_str(), row.shape.c_str(),
      row.seconds, 100.0 * row.spread, row.floor.c_str(), row.floor_seconds, row.ratio(),
      row.ratios.median, 100.0 * row.ratios.spread(), row.ratios.of_minima,
      percent(row.cpu_wait).c_str(), row.gbytes_per_s(), busy ? (*busy ? "BUSY" : "quiet") : "-");
  std::fflush(stdout);
}

// On stderr, so that it shows even when stdout goes to a file: what said the machine was busy.
void warn_if_busy(const Row& row) {
  using phasespace::bench::busy_cpu_wait;
  using phasespace::bench::busy_min_pairs;
  using phasespace::bench::busy_spread;
  if (!row.busy().value_or(false)) return;
  std::vector<std::string> reasons;
  char text[256];
  if (row.cpu_wait && *row.cpu_wait > busy_cpu_wait) {
    std::snprintf(text, sizeof text, "its threads waited for a CPU %.1f%% of the time (over %.0f%%)",
                  100.0 * *row.cpu_wait, 100.0 * busy_cpu_wait);
    reasons.push_back(text);
  }
  if (row.ratios.pairs >= busy_min_pairs && row.ratios.spread() > busy_spread) {
    std::snprintf(text, sizeof text,
                  "the per-pair ratios spread %.1f%% (quartiles %.3f and %.3f around the median "
                  "%.3f; over %.0f%%)",
                  100.0 * row.ratios.spread(), row.ratios.q1, row.ratios.q3, row.ratios.median,
                  100.0 * busy_spread);
    reasons.push_back(text);
  }
  std::string joined = reasons.front();
  if (reasons.size() > 1) joined += " and " + reasons.back();
  std::fprintf(stderr,
               "phasespace-bench: warning: %s %s %s %s: the machine was busy: %s. Rerun on a "
               "quiet machine before quoting this row.\n",
               row.stage.c_str(), row.backend.c_str(), row.precision.c_str(), row.shape.c_str(),
               joined.c_str());
}

std::vector<Row> run_stage(const std::string& stage, const Options& options) {
  using namespace phasespace::bench;
  const bool cuda = options.backend == "cuda";
  if (stage == "splitstep") return cuda ? splitstep_cuda(options) : splitstep_cpu(options);
  if (stage == "projection") return cuda ? projection_cuda(options) : projection_cpu(options);
  if (stage == "liouville") return cuda ? liouville_cuda(options) : liouville_cpu(options);
  throw phasespace::InputError("--stage = " + stage +
                               ": allowed splitstep, projection, liouville, all");
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string stage = "all";
  std::string json_file;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::cout << usage;
        return 0;
      }
      if (i + 1 >= argc) throw phasespace::InputError(flag + ": needs a value\n" + usage);
      const std::string value = argv[++i];
      if (flag == "--backend") {
        phasespace::require(value == "cpu" || value == "cuda", "--backend", value, "cpu or cuda");
        options.backend = value;
      } else if (flag == "--stage") {
        stage = value;
      } else if (flag == "--precision") {
        phasespace::require(value == "double" || value == "float", "--precision", value,
                            "double or float");
        options.precision = value;
      } else if (flag == "--size") {
        options.size = value;
      } else if (flag == "--repeat") {
        const bool digits = !value.empty() && value.size() <= 6 &&
                            value.find_first_not_of("0123456789") == std::string::npos;
        phasespace::require(digits && std::stoi(value) >= 1, "--repeat", value,
                            "an integer from 1 to 999999");
        options.repeat = std::stoi(value);
      } else if (flag == "--json") {
        json_file = value;
      } else {
        throw phasespace::InputError("unknown option " + flag + "\n" + usage);
      }
    }
    std::vector<std::string> stages = {stage};
    if (stage == "all") stages = {"splitstep", "projection", "liouville"};
    nlohmann::json rows = nlohmann::json::array();
    print_header();
    for (const auto& name : stages) {
      for (const Row& row : run_stage(name, options)) {
        print_row(row);
        warn_if_busy(row);
        rows.push_back(to_json(row));
      }
    }
    if (!json_file.empty()) {
      std::ofstream out(json_file);
      out << rows.dump(2) << "\n";
      if (!out) throw phasespace::Error("cannot write --json " + json_file);
    }
  } catch (const std::exception& error) {
    std::cerr << "phasespace-bench: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
