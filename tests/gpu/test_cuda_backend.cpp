// The device itself and the typed errors of the CUDA backend.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>

#include "gpu_test_support.hpp"
#include "phasespace/cuda/backend.hpp"
#include "phasespace/cuda/device_data.hpp"
#include "phasespace/errors.hpp"

namespace phasespace {
namespace {

TEST(CudaBackend, ReportsTheDevice) {
  PHASESPACE_REQUIRE_DEVICE();
  const std::string name = cuda::device_name();
  EXPECT_FALSE(name.empty());
  std::cout << "[ info ] device: " << name << ", " << cuda::device_free_bytes() / (1 << 20)
            << " MiB free\n";
  RecordProperty("device", name);
}

TEST(CudaBackend, UploadDownloadRoundTripIsExact) {
  PHASESPACE_REQUIRE_DEVICE();
  const Grid grid = make_grid(0.0, 1.0, 1001);
  const Ensemble host = gpu_test::random_ensemble(grid, 3, gpu_test::fresh_seed());
  cuda::DeviceEnsemble<double> device(host);
  const Ensemble back = device.download();
  ASSERT_EQ(back.psi.size(), host.psi.size());
  for (std::size_t i = 0; i < host.psi.size(); ++i) ASSERT_EQ(back.psi[i], host.psi[i]) << i;
  EXPECT_EQ(back.weights, host.weights);
}

TEST(CudaBackend, PoisonedBuffersReadAsNaN) {
  PHASESPACE_REQUIRE_DEVICE();
  cuda::DeviceDensity<float> density(333);
  for (double value : density.download()) ASSERT_TRUE(std::isnan(value));
}

TEST(CudaBackend, FailedAllocationIsACudaErrorNamingTheCall) {
  PHASESPACE_REQUIRE_DEVICE();
  try {
    cuda::DeviceDensity<double> huge(std::size_t{1} << 50);  // 8 PiB
    FAIL() << "allocating 8 PiB did not throw";
  } catch (const CudaError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cudaMalloc"), std::string::npos) << message;
    EXPECT_NE(message.find(".cuh:"), std::string::npos) << "file:line missing: " << message;
  }
}

TEST(CudaBackend, RejectedFftPlanIsACufftErrorNamingTheCall) {
  PHASESPACE_REQUIRE_DEVICE();
  try {
    cuda::time_fft_pair<double>(0, 1, 1);  // length 0: cuFFT refuses the plan
    FAIL() << "an FFT of length 0 did not throw";
  } catch (const CufftError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cufftMakePlanMany64"), std::string::npos) << message;
    EXPECT_NE(message.find("CUFFT_"), std::string::npos) << message;
  }
}

TEST(CudaBackend, TimingHelpersReturnPositiveTimes) {
  PHASESPACE_REQUIRE_DEVICE();
  EXPECT_GT(cuda::time_fft_pair<float>(1000, 3, 2).median, 0.0);
  EXPECT_GT(cuda::time_fft_forward<double>(1000, 3, 2).median, 0.0);
  EXPECT_GT(cuda::time_device_copy(std::size_t{1} << 20, 2).median, 0.0);
}

}  // namespace
}  // namespace phasespace
