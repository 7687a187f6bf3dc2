#include <gtest/gtest.h>

#include "ref/ref.h"

using namespace dllm;

TEST(RefAdd, AddsInPlace) {
  const float x[] = {1, -2, 0.5f};
  float y[] = {3, 4, 5};
  ref::add(AddArgs{3, x, y});
  EXPECT_FLOAT_EQ(y[0], 4);
  EXPECT_FLOAT_EQ(y[1], 2);
  EXPECT_FLOAT_EQ(y[2], 5.5f);
}
