#include "results_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>

#include "phasespace/errors.hpp"
#include "phasespace/output.hpp"

namespace phasespace {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

std::string this_host() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

// What the lock file says about its holder, printable and short (it may be half written).
std::string read_holder(int descriptor) {
  std::array<char, 200> buffer{};
  const ssize_t count = ::pread(descriptor, buffer.data(), buffer.size(), 0);
  std::string text;
  for (ssize_t i = 0; i < count; ++i) {
    const char c = buffer[static_cast<std::size_t>(i)];
    if (c == '\n') break;
    text += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  return text.empty() ? "pid unknown" : text;
}

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 9 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// i of "hbar_<i><extension>", our name for point i's files; nothing for any other name.
std::optional<std::size_t> point_index(const std::string& name, const std::string& extension) {
  const std::string prefix = "hbar_";
  if (name.size() <= prefix.size() + extension.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - extension.size(), extension.size(), extension) != 0) {
    return std::nullopt;
  }
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - extension.size());
  if (!all_digits(digits)) return std::nullopt;
  return static_cast<std::size_t>(std::stoul(digits));
}

// "<name>.tmp-<pid>" (write_text_atomically, write_fields_hdf5) or "<name>.tmp-<pid>.png"
// (scripts/plot_study.py).
bool is_temporary(const std::string& name) {
  const std::size_t mark = name.rfind(".tmp-");
  if (mark == std::string::npos || mark == 0) return false;
  std::string pid = name.substr(mark + 5);
  if (pid.size() > 4 && pid.compare(pid.size() - 4, 4, ".png") == 0) pid.resize(pid.size() - 4);
  return all_digits(pid);
}

void remove_file(const fs::path& path) {
  std::error_code error;
  fs::remove(path, error);
  if (error) throw Error("cannot remove " + quoted(path) + " from the results folder: " + error.message());
}

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.is_regular_file(error)) files.push_back(entry.path());
  }
  return files;
}

// The run stored in points/hbar_<index>.json when it is this config's point `index`.
std::optional<json> stored_run(const fs::path& path, const PointPlan& point, std::size_t index,
                               const std::string& hash) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  json previous = json::parse(file, nullptr, false);
  const auto is = [&](const char* key, const json& expected) {
    return previous.contains(key) && previous[key] == expected;
  };
  if (previous.is_discarded() || !previous.is_object() || !is("config_hash", hash) ||
      !is("hbar", point.hbar) || !is("index", index)) {
    return std::nullopt;
  }
  previous.erase("config_hash");
  return previous;
}

// The fields file reads back completely (every dataset; a truncated file fails to open) with
// the point's ħ and shapes.
bool fields_file_whole(const fs::path& path, const PointPlan& point, std::size_t outputs) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;
  try {
    const FieldsRecord record = read_fields_hdf5(path.string());
    return record.hbar == point.hbar && record.times.size() == outputs &&
           record.x.size() == point.grid.size && record.x0.size() == point.phase_space.centres &&
           record.p.size() == point.phase_space.momenta;
  } catch (const std::exception&) {
    return false;
  }
}

// Creates `folder` (the results folder `dir` or one inside it) with its parents.
void create_folder(const fs::path& folder, const fs::path& dir, const std::string& field) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    throw InputError(field + " = " + quoted(dir) + ": cannot create it (" + quoted(folder) + ": " +
                     error.message() + ")");
  }
}

}  // namespace

void create_results_folder(const fs::path& dir, const std::string& field, bool fields) {
  create_folder(dir / "points", dir, field);
  if (fields) create_folder(dir / "fields", dir, field);
}

ResultsLock::ResultsLock(const fs::path& dir, const std::string& field)
    : path_(dir / ".phasespace.lock") {
  create_folder(dir, dir, field);
  // The holder removes the file when it ends (below); a run that opened the old file just then
  // locks a name nobody else sees, so it checks that the name is still its file, and retries.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int descriptor = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (descriptor < 0) {
      throw InputError(field + " = " + quoted(dir) + ": cannot create the lock file " +
                       quoted(path_) + ": " + std::strerror(errno));
    }
    if (::flock(descriptor, LOCK_EX | LOCK_NB) != 0) {
      const int code = errno;
      const std::string holder = read_holder(descriptor);
      ::close(descriptor);
      if (code == EWOULDBLOCK) {
        throw InputError(field + " = " + quoted(dir) + ": in use by another phasespace run (" +
                         holder + ", per " + quoted(path_) +
                         "); wait for it to end, or give another results folder");
      }
      throw Error("flock(" + quoted(path_) + ") failed: " + std::strerror(code));
    }
    struct stat opened {};
    struct stat named {};
    if (::fstat(descriptor, &opened) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        opened.st_dev == named.st_dev && opened.st_ino == named.st_ino) {
      descriptor_ = descriptor;
      const std::string holder =
          "pid " + std::to_string(static_cast<long>(::getpid())) + " on host " + this_host() + "\n";
      if (::ftruncate(descriptor, 0) != 0 ||
          ::pwrite(descriptor, holder.data(), holder.size(), 0) !=
              static_cast<ssize_t>(holder.size())) {
        // The lock holds without its note; a refused run then says "pid unknown".
      }
      return;
    }
    ::close(descriptor);
  }
  throw Error("cannot lock " + quoted(path_) + ": it was replaced 100 times in a row");
}

ResultsLock::~ResultsLock() {
  std::error_code ignored;
  fs::remove(path_, ignored);  // still locked here: see the constructor
  ::close(descriptor_);
}

std::vector<json> prepare_results_folder(const fs::path& dir, const StudyConfig& config,
                                         const StudyPlan& plan, bool resume,
                                         const std::string& hash) {
  for (const char* folder : {"", "points", "fields", "figures"}) {
    for (const fs::path& file : files_in(dir / folder)) {
      if (is_temporary(file.filename().string())) remove_file(file);
    }
  }
  remove_file(dir / "summary.json");
  for (const fs::path& file : files_in(dir / "figures")) {
    if (file.extension() == ".png") remove_file(file);
  }
  std::vector<json> resumed(plan.points.size());
  std::vector<bool> keep(plan.points.size(), false);
  for (std::size_t i = 0; resume && i < plan.points.size(); ++i) {
    const std::string name = "hbar_" + std::to_string(i);
    std::optional<json> run = stored_run(dir / "points" / (name + ".json"), plan.points[i], i, hash);
    if (!run) continue;
    if (config.output.fields &&
        !fields_file_whole(dir / "fields" / (name + ".h5"), plan.points[i],
                           config.time.outputs.size())) {
      continue;
    }
    resumed[i] = std::move(*run);
    keep[i] = true;
  }
  auto kept = [&](const std::optional<std::size_t>& index) {
    return index && *index < keep.size() && keep[*index];
  };
  for (const fs::path& file : files_in(dir / "points")) {
    const auto index = point_index(file.filename().string(), ".json");
    if (index && !kept(index)) remove_file(file);
  }
  for (const fs::path& file : files_in(dir / "fields")) {
    const auto index = point_index(file.filename().string(), ".h5");
    if (index && !(config.output.fields && kept(index))) remove_file(file);
  }
  return resumed;
}

}  // namespace phasespace
