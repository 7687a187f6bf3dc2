#include "tests/kernel_checks.h"

#include <cmath>

#include "tests/testing.h"

namespace dllm::testutil {

std::vector<float> GuardedOutput::values() const {
  EXPECT_EQ(buf_.front(), kGuard) << "the kernel wrote before its output";
  EXPECT_EQ(buf_.back(), kGuard) << "the kernel wrote past its output";
  std::vector<float> v(buf_.begin() + 1, buf_.end() - 1);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_TRUE(std::isfinite(v[i])) << "output " << i << " = " << v[i];
  return v;
}

::testing::AssertionResult within_f32_reference_error(const std::vector<float>& got, const std::vector<float>& ref32,
                                                      const std::vector<float>& ref64) {
  const double err = max_rel_diff(got, ref64), bound = 2 * max_rel_diff(ref32, ref64) + 1e-6;
  if (err <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative error " << err << " to the f64 reference > " << bound
                                       << " (twice the f32 reference's + 1e-6)";
}

}  // namespace dllm::testutil
