#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"

using namespace dllm;

TEST(RefSoftmax, KnownValuesWithTemperature) {
  const float x[] = {0, std::log(2.0f), std::log(5.0f), 1000, 1000};
  float y[5];
  ref::softmax<double>(SoftmaxArgs{1, 3, 1.0f, x, y});
  EXPECT_FLOAT_EQ(y[0], 0.125f);
  EXPECT_FLOAT_EQ(y[1], 0.25f);
  EXPECT_FLOAT_EQ(y[2], 0.625f);
  ref::softmax<float>(SoftmaxArgs{1, 2, 2.0f, x + 3, y});  // large logits: no overflow
  EXPECT_FLOAT_EQ(y[0], 0.5f);
}
