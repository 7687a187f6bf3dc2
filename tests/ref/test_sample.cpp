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

TEST(RefSample, MixedRowsAndTheirDivergence) {
  const std::vector<float> x = {0.0f, 1.0f, 2.0f}, partner = {2.0f, 1.0f, 0.0f};
  RowDraw d;
  d.mix = partner.data();
  d.mix_weight = 0.25f;  // 0.25 * x + 0.75 * partner = {1.5, 1, 0.5}
  EXPECT_EQ(ref::drawn_row(x.data(), 3, d), (std::vector<float>{1.5f, 1.0f, 0.5f}));
  EXPECT_EQ(draw_one(x, d), 0);  // the mixed row's argmax

  MixDivergence out[3];
  RowDraw none, same = d;
  same.mix_weight = 1.0f;  // 1 * x + 0 * partner is x bitwise
  const RowDraw draws[3] = {none, same, d};
  const std::vector<float> rows = {0, 1, 2, 0, 1, 2, 0, 1, 2};
  ref::sample_divergence(SampleDivergenceArgs{3, 3, rows.data(), draws, out});
  for (int r : {0, 1}) {
    EXPECT_EQ(out[r].kl, 0.0) << r;
    EXPECT_EQ(out[r].tv, 0.0) << r;
    EXPECT_EQ(out[r].same_top1, 1) << r;
  }
  // Greedy draw: plain softmaxes p of {0, 1, 2} and q of {1.5, 1, 0.5}.
  const auto softmax = [](std::vector<double> z) {
    double s = 0;
    for (double& v : z) s += v = std::exp(v);
    for (double& v : z) v /= s;
    return z;
  };
  const std::vector<double> p = softmax({0, 1, 2}), q = softmax({1.5, 1, 0.5});
  double kl = 0, tv = 0;
  for (int i = 0; i < 3; ++i)
    kl += p[size_t(i)] * std::log(p[size_t(i)] / q[size_t(i)]), tv += 0.5 * std::abs(p[size_t(i)] - q[size_t(i)]);
  EXPECT_NEAR(out[2].kl, kl, 1e-12);
  EXPECT_NEAR(out[2].tv, tv, 1e-12);
  EXPECT_EQ(out[2].same_top1, 0);
}
