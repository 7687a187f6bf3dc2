#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/rng.h"
#include "engine/decode/sampler.h"

using namespace dllm;

TEST(Sampler, ArgmaxTakesTheLowestIdOnTies) {
  const float x[] = {1, 3, 3, 2};
  EXPECT_EQ(argmax(x, 4), 1);
}

TEST(Sampler, TemperatureTopKTopP) {
  const float x[] = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  SamplerConfig s;
  s.temperature = 1;
  auto p = target_distribution(x, 4, s);
  EXPECT_NEAR(p[0], 0.1, 1e-6);
  EXPECT_NEAR(p[3], 0.4, 1e-6);
  s.temperature = 0.5f;  // p^2 normalised: 1, 4, 9, 16 over 30
  p = target_distribution(x, 4, s);
  EXPECT_NEAR(p[2], 9.0 / 30, 1e-6);
  s.temperature = 1;
  s.top_k = 2;
  p = target_distribution(x, 4, s);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[1], 0);
  EXPECT_NEAR(p[2], 3.0 / 7, 1e-6);
  s.top_k = 0;
  s.top_p = 0.65f;  // 0.4 + 0.3 = 0.7 >= 0.65: keep two
  p = target_distribution(x, 4, s);
  EXPECT_EQ(p[1], 0);
  EXPECT_NEAR(p[3], 4.0 / 7, 1e-6);
  s.top_p = 0.05f;  // always at least the top token
  p = target_distribution(x, 4, s);
  EXPECT_EQ(p[3], 1.0);
}

TEST(Sampler, InverseCdfMatchesTheDistribution) {
  // Chi-square over 40000 positions' uniforms against a known 6-way distribution.
  const std::vector<double> p = {0.05, 0.1, 0.15, 0.2, 0.25, 0.25};
  std::vector<int> counts(p.size(), 0);
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++counts[size_t(sample_from(p, uniform01(42, 0, uint32_t(i), Purpose::test)))];
  double chi2 = 0;
  for (size_t i = 0; i < p.size(); ++i) chi2 += std::pow(counts[i] - n * p[i], 2) / (n * p[i]);
  EXPECT_LT(chi2, 20.5);  // 5 degrees of freedom: p = 0.001
}

TEST(Sampler, UniformsAreKeyedAndInRange) {
  EXPECT_EQ(uniform01(1, 2, 3, Purpose::sample), uniform01(1, 2, 3, Purpose::sample));
  EXPECT_NE(uniform01(1, 2, 3, Purpose::sample), uniform01(1, 2, 3, Purpose::accept));
  EXPECT_NE(uniform01(1, 2, 3, Purpose::sample), uniform01(1, 2, 4, Purpose::sample));
  EXPECT_NE(uniform01(1, 2, 3, Purpose::sample), uniform01(1, 3, 3, Purpose::sample));
  EXPECT_NE(uniform01(1, 2, 3, Purpose::sample), uniform01(2, 2, 3, Purpose::sample));
  double mean = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    const double u = uniform01(7, 0, i, Purpose::test);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u / 10000;
  }
  EXPECT_NEAR(mean, 0.5, 0.01);
}
