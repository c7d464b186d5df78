#pragma once
// FFTW set-up shared by the CPU backend: threads initialised once, planner made thread-safe.
#include <mutex>

namespace phasespace::detail {

// Calls fftw_init_threads and fftw_make_planner_thread_safe once, and sets the planner's
// thread count to OpenMP's. Returns a lock that serialises planning with other planners.
std::unique_lock<std::mutex> fftw_planner_lock();

}  // namespace phasespace::detail
