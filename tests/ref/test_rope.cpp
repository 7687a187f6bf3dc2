#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefRope, PositionZeroIsIdentity) {
  auto x = testutil::random_floats(2 * 3 * 8, 1);
  const auto before = x;
  const int32_t pos[] = {0, 0};
  ref::rope(RopeArgs{2, 3, 8, 8, 10000.0f, pos, x.data()});
  EXPECT_EQ(x, before);
}

TEST(RefRope, RotatesPairsIAndIPlusHalf) {
  // head_dim 4, full rotary: pairs (0,2) with freq 1 and (1,3) with freq theta^-0.5.
  float x[] = {1, 1, 0, 0};
  const int32_t pos[] = {3};
  ref::rope(RopeArgs{1, 1, 4, 4, 100.0f, pos, x});
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(x[2], std::sin(3.0), 1e-6);
  EXPECT_NEAR(x[1], std::cos(0.3), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.3), 1e-6);
}

TEST(RefRope, PartialLeavesTailAndPreservesNorm) {
  auto x = testutil::random_floats(16, 2);
  const auto before = x;
  const int32_t pos[] = {1234};
  ref::rope(RopeArgs{1, 1, 16, 8, 5e6f, pos, x.data()});
  for (int i = 8; i < 16; ++i) EXPECT_EQ(x[i], before[i]);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < 8; ++i) n0 += before[i] * before[i], n1 += x[i] * x[i];
  EXPECT_NEAR(n0, n1, 1e-5);
}
