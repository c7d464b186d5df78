#pragma once
// FFTW's measured plans ("wisdom") kept between runs, so a study run again skips FFTW_MEASURE
// planning (0.3–0.8 s per ħ point of the example studies on 2 cores). `phasespace run` loads the
// cache before a study and stores it after; the library itself never touches it unless asked.
// Plans only pick among algorithms that all compute the same transforms: results agree to
// round-off with or without a cache.
#include <filesystem>
#include <optional>

namespace phasespace {

// The cache file: $PHASESPACE_FFTW_WISDOM (a path, or "off" for none), else
// $XDG_CACHE_HOME/phasespace/fftw-wisdom, else $HOME/.cache/phasespace/fftw-wisdom; none when
// neither variable is set.
std::optional<std::filesystem::path> fftw_wisdom_path();

// Adds the plans stored at `path` to FFTW's. False when there is no such file or it is not FFTW
// wisdom (then FFTW's plans are as before).
bool import_fftw_wisdom(const std::filesystem::path& path);

// Stores FFTW's plans at `path` (its folder made if missing; written to a temporary file that
// is renamed into place, so a reader never sees half a file). Throws Error naming the path.
void export_fftw_wisdom(const std::filesystem::path& path);

}  // namespace phasespace
