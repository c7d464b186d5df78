// phasespace-bench: times each stage after a warm-up (median of N repeats) next to its floor
// measured in the same run, and prints one row per measurement (optionally as JSON).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
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

nlohmann::json to_json(const Row& row) {
  return {{"stage", row.stage},       {"backend", row.backend},
          {"precision", row.precision}, {"shape", row.shape},
          {"seconds", row.seconds},   {"spread", row.spread},
          {"floor", row.floor},       {"floor_seconds", row.floor_seconds},
          {"ratio", row.ratio()},     {"gbytes_per_s", row.gbytes_per_s()},
          {"device", row.device}};
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
        options.repeat = std::stoi(value);
        phasespace::require(options.repeat >= 1, "--repeat", value, "an integer >= 1");
      } else if (flag == "--json") {
        json_file = value;
      } else {
        throw phasespace::InputError("unknown option " + flag + "\n" + usage);
      }
    }
    std::vector<std::string> stages = {stage};
    if (stage == "all") stages = {"splitstep", "projection", "liouville"};
    nlohmann::json rows = nlohmann::json::array();
    std::printf("%-11s %-5s %-6s %-26s %12s %8s %-30s %12s %7s %9s\n", "stage", "back",
                "prec", "shape", "seconds", "spread", "floor", "floor_s", "ratio", "GB/s");
    for (const auto& name : stages) {
      for (const Row& row : run_stage(name, options)) {
        std::printf("%-11s %-5s %-6s %-26s %12.6g %7.1f%% %-30s %12.6g %7.3f %9.2f\n",
                    row.stage.c_str(), row.backend.c_str(), row.precision.c_str(),
                    row.shape.c_str(), row.seconds, 100.0 * row.spread, row.floor.c_str(),
                    row.floor_seconds, row.ratio(), row.gbytes_per_s());
        std::fflush(stdout);
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
