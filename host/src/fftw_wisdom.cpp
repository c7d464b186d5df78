#include "phasespace/fftw_wisdom.hpp"

#include <fftw3.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "fftw_setup.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {

namespace fs = std::filesystem;

std::optional<fs::path> fftw_wisdom_path() {
  if (const char* chosen = std::getenv("PHASESPACE_FFTW_WISDOM")) {
    const std::string value = chosen;
    if (value == "off" || value.empty()) return std::nullopt;
    return fs::path(value);
  }
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache != '\0') {
    return fs::path(cache) / "phasespace" / "fftw-wisdom";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "phasespace" / "fftw-wisdom";
  }
  return std::nullopt;
}

bool import_fftw_wisdom(const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;
  const auto lock = detail::fftw_planner_lock();
  return fftw_import_wisdom_from_filename(path.c_str()) == 1;
}

void export_fftw_wisdom(const fs::path& path) {
  std::error_code error;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), error);
  if (error) {
    throw Error("FFTW wisdom " + path.string() + ": cannot create its folder: " + error.message());
  }
  // One temporary name per process: ranks or runs storing at once never share a file.
  const fs::path temporary = path.string() + ".tmp" + std::to_string(getpid());
  {
    const auto lock = detail::fftw_planner_lock();
    if (fftw_export_wisdom_to_filename(temporary.c_str()) != 1) {
      fs::remove(temporary, error);
      throw Error("FFTW wisdom " + path.string() + ": cannot write " + temporary.string());
    }
  }
  fs::rename(temporary, path, error);
  if (error) {
    const std::string reason = error.message();
    fs::remove(temporary, error);
    throw Error("FFTW wisdom " + path.string() + ": cannot move it into place: " + reason);
  }
}

}  // namespace phasespace
