// Helpers of the hand-written GPU tests (the op cases run in test_gpu_opcases.cpp): the skip when no
// device is visible, device buffers, guarded outputs that catch out-of-bounds writes, and the op
// cases' comparison with the reference.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backend/buffer.h"
#include "engine/backend/gpu_backend.h"
#include "kernels/gpu/device.h"
#include "opcases/case.h"

namespace dllm::gputest {

// Skips the test, printing why, when this process sees no GPU.
#define DLLM_REQUIRE_GPU()                                                           \
  do {                                                                               \
    std::string why_;                                                                \
    if (::dllm::gpu::visible_devices(&why_).empty())                                 \
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

// An output in device memory with guard words on each side (opcases::GuardedArray): read() fails the
// test when the kernel wrote outside it.
class Guarded {
 public:
  explicit Guarded(size_t n) : array_(opcases::gpu_place(), n) {}                           // starts as NaN
  explicit Guarded(const std::vector<float>& init) : array_(opcases::gpu_place(), init) {}  // in-place ops
  float* data() { return array_.data(); }
  std::vector<float> read(const std::string& what) const {
    std::string breach;
    const std::vector<uint32_t> bits = array_.read(&breach);
    EXPECT_TRUE(breach.empty()) << what << ": " << breach;
    std::vector<float> v(bits.size());
    std::memcpy(v.data(), bits.data(), bits.size() * sizeof(float));
    return v;
  }

 private:
  opcases::GuardedArray array_;
};

inline void expect_finite(const std::vector<float>& v, const std::string& what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) {
      ADD_FAILURE() << what << ": non-finite output " << v[i] << " at " << i;
      return;
    }
}

// The op cases' f32_reference rule (opcases/case.h) on one output: the GPU's error against the
// f64-accumulation reference is at most twice the f32 reference's own, plus `floor` relative to the
// output's scale (the reordering of a short reduction can cost a few ulp where the f32 reference
// happens to be exact).
inline void expect_close(const std::vector<float>& gpu, const std::vector<float>& ref32,
                         const std::vector<float>& ref64, double floor, const std::string& what) {
  auto output = [](const std::vector<float>& v) {
    opcases::Output o{"output", false, std::vector<uint32_t>(v.size())};
    std::memcpy(o.bits.data(), v.data(), v.size() * sizeof(float));
    return std::vector<opcases::Output>{o};
  };
  const opcases::Verdict v =
      opcases::compare(opcases::f32_reference(floor), output(gpu), output(ref32), output(ref64), {}, {});
  EXPECT_TRUE(v.pass) << what << ": " << v.detail;
}

inline void expect_bitwise(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << what << ": not bitwise equal";
}

}  // namespace dllm::gputest
