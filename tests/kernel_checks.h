// Checks shared by the fast-kernel tests (tests/kernels/): guard values around an output, and the
// error bound of an f32 kernel against the f32 and f64 references.
#pragma once
#include <gtest/gtest.h>

#include <vector>

namespace dllm::testutil {

// A fast kernel's output buffer of n floats with a guard value on each side, to catch writes out of
// bounds: run the kernel on data(), then read values().
class GuardedOutput {
 public:
  explicit GuardedOutput(size_t n) : buf_(n + 2, kGuard) {}
  float* data() { return buf_.data() + 1; }
  // The n outputs; a failure if a guard was overwritten or an output is not finite.
  std::vector<float> values() const;

 private:
  static constexpr float kGuard = -12345.0f;
  std::vector<float> buf_;
};

// An f32 kernel against the references: its error to the f64 reference is at most twice the f32
// reference's own error (+ 1e-6): it may round differently, not worse.
::testing::AssertionResult within_f32_reference_error(const std::vector<float>& got, const std::vector<float>& ref32,
                                                      const std::vector<float>& ref64);

}  // namespace dllm::testutil
