#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"

using namespace dllm;

namespace {

int32_t draw_one(const std::vector<float>& x, RowDraw d) {
  int32_t token = -1;
  ref::sample(SampleArgs{1, int(x.size()), x.data(), &d, &token});
  return token;
}

}  // namespace

TEST(RefSample, InverseCdfInIdOrderAfterTopKAndTopP) {
  const std::vector<float> x = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  // Cumulative 0.1, 0.3, 0.6, 1.0.
  EXPECT_EQ(draw_one(x, {1.0f, 0, 1.0f, 0.05}), 0);
  EXPECT_EQ(draw_one(x, {1.0f, 0, 1.0f, 0.25}), 1);
  EXPECT_EQ(draw_one(x, {1.0f, 0, 1.0f, 0.95}), 3);
  // Top-2 keeps ids 2 and 3 (3/7, 4/7).
  EXPECT_EQ(draw_one(x, {1.0f, 2, 1.0f, 0.40}), 2);
  EXPECT_EQ(draw_one(x, {1.0f, 2, 1.0f, 0.45}), 3);
  // Top-p 0.65: 0.4 + 0.3 reaches it, the same two.
  EXPECT_EQ(draw_one(x, {1.0f, 0, 0.65f, 0.01}), 2);
  // Temperature 0 is the argmax.
  EXPECT_EQ(draw_one(x, {0.0f, 0, 1.0f, 0.01}), 3);
}

TEST(RefSample, TopKTiesGoToTheLowerIds) {
  const std::vector<float> x = {1, 2, 2, 2, 0};
  for (double u : {0.1, 0.4, 0.6, 0.99}) {
    const int32_t t = draw_one(x, {1.0f, 2, 1.0f, u});
    EXPECT_EQ(t, u < 0.5 ? 1 : 2) << "u " << u;  // ids 1 and 2 kept, 3 never
  }
}
