#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"

using namespace dllm;

TEST(RefSwiglu, SiluTimesUp) {
  const float gate[] = {0, 1, -2, 30}, up[] = {5, 2, 3, 0.5f};
  float out[4];
  ref::swiglu(SwigluArgs{2, 2, gate, up, out});
  EXPECT_FLOAT_EQ(out[0], 0);
  EXPECT_FLOAT_EQ(out[1], 2 * (1 / (1 + std::exp(-1.0f))));
  EXPECT_FLOAT_EQ(out[2], 3 * (-2 / (1 + std::exp(2.0f))));
  EXPECT_NEAR(out[3], 15, 1e-5);
}
