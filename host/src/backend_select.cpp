// Which backends this build has and which device runs a study.
#include <omp.h>

#include <fstream>

#include "phasespace/errors.hpp"
#include "study_engine.hpp"
#if defined(PHASESPACE_HAS_CUDA)
#include "phasespace/cuda/backend.hpp"
#endif

namespace phasespace {

bool cuda_backend_compiled() {
#if defined(PHASESPACE_HAS_CUDA)
  return true;
#else
  return false;
#endif
}

bool cuda_device_present(std::string* reason) {
#if defined(PHASESPACE_HAS_CUDA)
  return cuda::device_available(reason);
#else
  if (reason != nullptr) *reason = "backend cuda not compiled in";
  return false;
#endif
}

namespace {
std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown cpu";
}
}  // namespace

std::string backend_device_name(const std::string& backend) {
#if defined(PHASESPACE_HAS_CUDA)
  if (backend == "cuda") return cuda::device_name();
#endif
  (void)backend;
  return cpu_model() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
}

double cuda_free_memory_bytes() {
#if defined(PHASESPACE_HAS_CUDA)
  if (cuda::device_available(nullptr)) return static_cast<double>(cuda::device_free_bytes());
#endif
  return 0.0;
}

#if !defined(PHASESPACE_HAS_CUDA)
std::unique_ptr<PointEngine> make_cuda_engine(const StudyConfig&, const PointPlan&, MemberRange) {
  throw NotCompiled("backend cuda not compiled in");
}
#endif

}  // namespace phasespace
