#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
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

TEST(Sampler, SampledTokensFollowTemperatureTopKTopP) {
  // sample_token over many positions against the distribution each setting defines.
  const float logits[] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
  struct Setting {
    float temperature;
    int top_k;
    float top_p;
  };
  for (const Setting& st :
       {Setting{1.0f, 0, 1.0f}, Setting{0.5f, 0, 1.0f}, Setting{1.0f, 3, 1.0f}, Setting{1.0f, 0, 0.8f}}) {
    SamplerConfig s;
    s.temperature = st.temperature, s.top_k = st.top_k, s.top_p = st.top_p, s.seed = 9;
    // Expected: softmax(logits / T), keep top-k or the top-p prefix, renormalise.
    std::vector<double> p(5);
    double z = 0;
    for (int i = 0; i < 5; ++i) z += p[i] = std::exp(logits[i] / st.temperature);
    for (double& x : p) x /= z;
    size_t keep = st.top_k ? size_t(st.top_k) : 5;
    if (st.top_p < 1) {
      double cum = 0;
      for (keep = 0; keep < 5 && cum < st.top_p;) cum += p[keep++];
    }
    double kept = 0;
    for (size_t i = 0; i < 5; ++i) kept += i < keep ? p[i] : 0;
    for (size_t i = 0; i < 5; ++i) p[i] = i < keep ? p[i] / kept : 0;
    std::vector<int> counts(5, 0);
    const int n = 30000;
    for (int pos = 0; pos < n; ++pos) ++counts[size_t(sample_token(logits, 5, s, 0, uint32_t(pos)))];
    double chi2 = 0;
    for (size_t i = 0; i < 5; ++i) {
      if (p[i] == 0) {
        EXPECT_EQ(counts[i], 0) << "token " << i << " is outside top-k/top-p";
        continue;
      }
      chi2 += std::pow(counts[i] - n * p[i], 2) / (n * p[i]);
    }
    EXPECT_LT(chi2, 18.47) << "T " << st.temperature << " k " << st.top_k << " p " << st.top_p;  // p = 0.001, <= 4 dof
  }
}
