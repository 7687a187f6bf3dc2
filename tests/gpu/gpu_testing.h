// Helpers of the GPU tests: the skip when no device is visible, device buffers, guarded outputs that
// catch out-of-bounds writes, and the dtype-aware comparison against the reference (DESIGN §4).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/buffer.h"
#include "engine/backend/gpu_backend.h"
#include "kernels/gpu/device.h"

namespace dllm::gputest {

// Skips the test, printing why, when this process sees no GPU.
#define DLLM_REQUIRE_GPU()                                                          \
  do {                                                                              \
    std::string why_;                                                               \
    if (::dllm::gpu::visible_devices(&why_).empty())                                \
      GTEST_SKIP() << "no GPU device is visible (" << why_ << "): GPU test skipped"; \
  } while (0)

// The CPU emulator (DLLM_GPU=EMU) runs kernels thousands of times slower than a device, so tests take
// smaller sizes there: the same code paths (odd shapes, several key chunks, both layouts, bitwise
// checks), fewer and shorter cases.
template <typename T>
T sized(T on_device, T on_emulator) {
  return gpu::emulated() ? on_emulator : on_device;
}

inline Memory& device() {
  static GpuMemory memory;
  return memory;
}

// A copy of host data in device memory.
template <typename T>
Buffer<T> to_device(const std::vector<T>& host) {
  Buffer<T> b(device());
  b.assign(host.data(), host.size());
  return b;
}

// An output in device memory with kGuard sentinel floats on each side. The sentinel is a NaN with a
// payload no kernel produces; read() checks the guards are intact (no out-of-bounds write).
class Guarded {
 public:
  static constexpr size_t kGuard = 256;
  static constexpr uint32_t kSentinel = 0x7fbadbadu;
  // n outputs, initially the sentinel (an output the kernel forgets stays NaN and fails the check).
  explicit Guarded(size_t n) : Guarded(std::vector<float>(n, sentinel())) {}
  // In-place ops: the middle starts as `init`.
  explicit Guarded(const std::vector<float>& init) : n_(init.size()), buf_(device()) {
    std::vector<float> host(init.size() + 2 * kGuard, sentinel());
    std::copy(init.begin(), init.end(), host.begin() + kGuard);
    buf_.assign(host.data(), host.size());
  }
  float* data() { return buf_.data() + kGuard; }
  std::vector<float> read(const std::string& what) const {
    std::vector<float> host(n_ + 2 * kGuard);
    buf_.download(host.data(), host.size());
    for (size_t i = 0; i < kGuard; ++i) {
      EXPECT_TRUE(is_sentinel(host[i]) && is_sentinel(host[kGuard + n_ + i]))
          << what << ": write outside the output at guard " << i;
    }
    return std::vector<float>(host.begin() + kGuard, host.begin() + kGuard + long(n_));
  }

 private:
  static float sentinel() {
    float f;
    std::memcpy(&f, &kSentinel, 4);
    return f;
  }
  static bool is_sentinel(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u == kSentinel;
  }
  size_t n_;
  Buffer<float> buf_;
};

inline void expect_finite(const std::vector<float>& v, const std::string& what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) {
      ADD_FAILURE() << what << ": non-finite output " << v[i] << " at " << i;
      return;
    }
}

// The tolerance of DESIGN §4 for reductions: the GPU's error against the f64-accumulation reference
// is at most twice the f32 reference's own error, plus `floor` relative to the output's scale (the
// reordering of a short reduction can cost a few ulp where the f32 reference happens to be exact).
inline void expect_close(const std::vector<float>& gpu, const std::vector<float>& ref32,
                         const std::vector<float>& ref64, double floor, const std::string& what) {
  ASSERT_EQ(gpu.size(), ref64.size()) << what;
  expect_finite(gpu, what);
  double scale = 1.0, ref_err = 0.0, gpu_err = 0.0;
  size_t worst = 0;
  for (size_t i = 0; i < ref64.size(); ++i) scale = std::max(scale, double(std::fabs(ref64[i])));
  for (size_t i = 0; i < ref64.size(); ++i) {
    ref_err = std::max(ref_err, std::fabs(double(ref32[i]) - double(ref64[i])));
    const double e = std::fabs(double(gpu[i]) - double(ref64[i]));
    if (e > gpu_err) gpu_err = e, worst = i;
  }
  EXPECT_LE(gpu_err, 2.0 * ref_err + floor * scale)
      << what << ": worst at " << worst << " gpu " << gpu[worst] << " ref " << ref64[worst] << " (f32 ref error "
      << ref_err << ", scale " << scale << ")";
}

inline void expect_bitwise(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << what << ": not bitwise equal";
}

}  // namespace dllm::gputest
