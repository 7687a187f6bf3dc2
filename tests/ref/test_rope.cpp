#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefRope, PositionZeroIsIdentity) {
  auto x = testutil::random_floats(2 * 3 * 8, 1);
  const auto before = x;
  const int32_t pos[] = {0, 0};
  ref::rope(RopeArgs{2, 3, 8, 8, 10000.0f, pos, x.data(), RopeScaling{}});
  EXPECT_EQ(x, before);
}

TEST(RefRope, RotatesPairsIAndIPlusHalf) {
  // head_dim 4, full rotary: pairs (0,2) with freq 1 and (1,3) with freq theta^-0.5.
  float x[] = {1, 1, 0, 0};
  const int32_t pos[] = {3};
  ref::rope(RopeArgs{1, 1, 4, 4, 100.0f, pos, x, RopeScaling{}});
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(x[2], std::sin(3.0), 1e-6);
  EXPECT_NEAR(x[1], std::cos(0.3), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.3), 1e-6);
}

TEST(RefRope, PartialLeavesTailAndPreservesNorm) {
  auto x = testutil::random_floats(16, 2);
  const auto before = x;
  const int32_t pos[] = {1234};
  ref::rope(RopeArgs{1, 1, 16, 8, 5e6f, pos, x.data(), RopeScaling{}});
  for (int i = 8; i < 16; ++i) EXPECT_EQ(x[i], before[i]);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < 8; ++i) n0 += before[i] * before[i], n1 += x[i] * x[i];
  EXPECT_NEAR(n0, n1, 1e-5);
}

// The inverse frequencies transformers 5.25 computes for theta 1e4, R = 16 (its
// _compute_llama3_parameters and _compute_linear_scaling_rope_parameters, printed as f32).
TEST(RopeFrequencies, Llama3MatchesTransformers) {
  // factor 8, low 1, high 4, original 32: pair 0 (wavelength 6.3 < 8) kept, pair 1 (19.9) blended,
  // the rest (wavelength > 32) divided by 8.
  const RopeScaling s{RopeScalingType::llama3, 8.0f, 1.0f, 4.0f, 32};
  const float expected[] = {1.0f,     0.0958399772644043f,     0.012500000186264515f,  0.0039528473280370235f,
                            0.00125f, 0.00039528473280370235f, 0.0001250000059371814f, 3.9528473280370235e-05f};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16), expected[i]) << "pair " << i;
}

TEST(RopeFrequencies, LinearMatchesTransformers) {
  const RopeScaling s{RopeScalingType::linear, 3.0f};
  const float expected[] = {0.3333333432674408f,    0.10540925711393356f,  0.03333333507180214f,
                            0.010540925897657871f,  0.003333333181217313f, 0.0010540926596149802f,
                            0.0003333333588670939f, 0.0001054092645063065f};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16), expected[i]) << "pair " << i;
}

// transformers 5.25's _compute_yarn_parameters for theta 1e4, R = 16: the inverse frequencies (f32)
// and the attention factor, for the tiny-llama-rope-yarn presets' two scalings.
TEST(RopeFrequencies, YarnMatchesTransformers) {
  RopeScaling s;
  s.type = RopeScalingType::yarn, s.factor = 4.0f, s.original_max_positions = 64;  // ramp over pairs 0..3
  const float expected[] = {1.0f,    0.23717081546783447f,   0.04999999701976776f,   0.007905694656074047f,
                            0.0025f, 0.0007905694656074047f, 0.0002500000118743628f, 7.905694656074047e-05f};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16), expected[i]) << "pair " << i;
  // Betas 16 / 2 without truncation: the ramp runs over pairs 0..1.414.
  s.factor = 8.0f, s.beta_fast = 16.0f, s.beta_slow = 2.0f, s.truncate = false;
  const float untruncated[] = {1.0f,     0.12053398787975311f,    0.012500000186264515f,  0.0039528473280370235f,
                               0.00125f, 0.00039528473280370235f, 0.0001250000059371814f, 3.9528473280370235e-05f};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16), untruncated[i]) << "pair " << i;
}

// transformers 5.25's _compute_dynamic_ntk_parameters for theta 1e4, R = 16, max_position_embeddings
// 32, factor 8: a call of 20 positions turns as plain RoPE, one of 100 with theta * (8 * 100 / 32 - 7)^(8/7).
TEST(RopeFrequencies, DynamicMatchesTransformers) {
  RopeScaling s;
  s.type = RopeScalingType::dynamic, s.factor = 8.0f, s.original_max_positions = 32;
  const float expected[] = {1.0f,
                            0.20925475656986237f,
                            0.04378755763173103f,
                            0.009162754751741886f,
                            0.0019173501059412956f,
                            0.0004012146673630923f,
                            8.395607437705621e-05f,
                            1.756820893206168e-05f};
  for (int i = 0; i < 8; ++i) {
    EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16, 100), expected[i]) << "pair " << i;
    EXPECT_FLOAT_EQ(rope_inv_freq(10000.0f, s, i, 16, 20), rope_inv_freq(10000.0f, RopeScaling{}, i, 16)) << i;
  }
}

// Dynamic RoPE turns each token by its own call length: the same position at two lengths differs,
// and a token is turned as it would be alone at its length.
TEST(Rope, DynamicFollowsEachTokensLength) {
  RopeScaling s;
  s.type = RopeScalingType::dynamic, s.factor = 8.0f, s.original_max_positions = 32;
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> both = v;
  both.insert(both.end(), v.begin(), v.end());
  const int32_t pos[] = {40, 40}, lengths[] = {41, 200};
  ref::rope(RopeArgs{2, 1, 8, 8, 10000.0f, pos, both.data(), s, lengths});
  EXPECT_NE(std::vector<float>(both.begin(), both.begin() + 8), std::vector<float>(both.begin() + 8, both.end()));
  for (int t = 0; t < 2; ++t) {
    std::vector<float> alone = v;
    ref::rope(RopeArgs{1, 1, 8, 8, 10000.0f, &pos[t], alone.data(), s, &lengths[t]});
    EXPECT_EQ(alone, std::vector<float>(both.begin() + 8 * t, both.begin() + 8 * (t + 1))) << "token " << t;
  }
}

// The attention factor scales cos and sin: a vector at position 0 (angle 0) comes out times it.
TEST(Rope, YarnScalesByTheAttentionFactor) {
  RopeScaling s;
  s.type = RopeScalingType::yarn, s.factor = 4.0f, s.original_max_positions = 64, s.attention_factor = 1.25f;
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  const int32_t pos[] = {0};
  ref::rope(RopeArgs{1, 1, 8, 8, 10000.0f, pos, x.data(), s});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x[i], float(i + 1) * 1.25f) << i;
}

TEST(RopeFrequencies, PlainIsUnscaled) {
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(rope_inv_freq(10000.0f, RopeScaling{}, i, 16), float(1.0 / std::pow(10000.0, i / 8.0))) << "pair " << i;
}
