#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefRmsnorm, HandComputed) {
  const float x[] = {1, 2, 3};
  const float w[] = {1, 0.5f, 2};
  float y[3];
  ref::rmsnorm<double>(RmsnormArgs{1, 3, 0.0f, x, {DType::f32, w, 1, 3}, y});
  const float inv = float(1.0 / std::sqrt(14.0 / 3.0));
  EXPECT_FLOAT_EQ(y[0], 1 * inv);
  EXPECT_FLOAT_EQ(y[1], 2 * inv * 0.5f);
  EXPECT_FLOAT_EQ(y[2], 3 * inv * 2);
}

TEST(RefRmsnorm, InPlaceEqualsOutOfPlaceAndF32CloseToF64) {
  auto w = testutil::make_weights(1, 1025, DType::bf16, 1);
  auto x = testutil::random_floats(3 * 1025, 2, 3.0f);
  std::vector<float> y32(x.size()), y64(x.size());
  ref::rmsnorm<float>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, y32.data()});
  ref::rmsnorm<double>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, y64.data()});
  EXPECT_LT(testutil::max_rel_diff(y32, y64), 1e-6);
  ref::rmsnorm<float>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, x.data()});
  EXPECT_EQ(x, y32);
}
