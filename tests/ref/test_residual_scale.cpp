#include <gtest/gtest.h>

#include "ref/ref.h"

using namespace dllm;

TEST(RefResidualScale, MergeAndInputScaling) {
  const std::vector<float> hs = {2, 3}, hb = {1, -1}, rs = {0.5f, 4}, rb = {0, 1};
  auto v = [](const std::vector<float>& x) { return WeightView{DType::f32, x.data(), 1, int64_t(x.size())}; };
  const std::vector<float> h = {1, 2};
  std::vector<float> r = {4, 5};
  ref::residual_scale(ResidualScaleArgs{1, 2, h.data(), v(hs), v(hb), v(rs), v(rb), r.data()});
  EXPECT_FLOAT_EQ(r[0], (1 + 1) * 2 + (4 + 0) * 0.5f);
  EXPECT_FLOAT_EQ(r[1], (2 - 1) * 3 + (5 + 1) * 4);
  ref::residual_scale(ResidualScaleArgs{1, 2, h.data(), v(hs), v(hb), WeightView{}, WeightView{}, r.data()});
  EXPECT_FLOAT_EQ(r[0], 4);
  EXPECT_FLOAT_EQ(r[1], 3);
}
