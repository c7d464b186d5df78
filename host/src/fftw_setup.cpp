#include "fftw_setup.hpp"

#include <fftw3.h>
#include <omp.h>

namespace phasespace::detail {

std::unique_lock<std::mutex> fftw_planner_lock() {
  static std::once_flag initialised;
  static std::mutex planner;
  std::call_once(initialised, [] {
    fftw_init_threads();
    fftw_make_planner_thread_safe();
  });
  std::unique_lock<std::mutex> lock(planner);
  fftw_plan_with_nthreads(omp_get_max_threads());
  return lock;
}

}  // namespace phasespace::detail
