#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "engine/decode/sampler.h"
#include "ref/verify.h"
#include "tests/testing.h"

using namespace dllm;
using ref::Draft, ref::VerifyConfig, ref::VerifyOutcome, ref::draft_distribution, ref::draft_token, ref::verify_drafts,
    ref::verify_greedy;

namespace {

constexpr int kVocab = 5;

// rows [K+1, V] where every row is `row`.
std::vector<float> repeat_rows(const std::vector<float>& row, int k) {
  std::vector<float> rows;
  for (int i = 0; i <= k; ++i) rows.insert(rows.end(), row.begin(), row.end());
  return rows;
}

}  // namespace

TEST(RefVerify, GreedyAcceptsWhileArgmaxMatches) {
  const std::vector<float> rows = {0, 5, 0, 0, 0,   // predicts 1
                                   0, 0, 5, 0, 0,   // predicts 2
                                   5, 0, 0, 0, 0,   // predicts 0
                                   0, 0, 0, 0, 5};  // bonus 4
  VerifyConfig vc;
  for (int wrong = 0; wrong < 3; ++wrong) {
    std::vector<Draft> d = {{1}, {2}, {0}};
    d[size_t(wrong)].token = 3;
    const VerifyOutcome o = verify_drafts(rows.data(), d, kVocab, vc, 0, 10);
    EXPECT_EQ(o.accepted, wrong);
    EXPECT_EQ(o.next, std::vector<int>({1, 2, 0})[size_t(wrong)]);
  }
  const VerifyOutcome all = verify_drafts(rows.data(), {{1}, {2}, {0}}, kVocab, vc, 0, 10);
  EXPECT_EQ(all.accepted, 3);
  EXPECT_EQ(all.next, 4);
}

// The same rule on the rows' argmaxes alone (what a GPU hands back for a greedy step).
TEST(RefVerify, GreedyFromArgmaxes) {
  const std::vector<int32_t> best = {1, 2, 0, 4};
  for (int wrong = 0; wrong < 3; ++wrong) {
    std::vector<int32_t> drafts = {1, 2, 0};
    drafts[size_t(wrong)] = 3;
    const VerifyOutcome o = verify_greedy(best, drafts);
    EXPECT_EQ(o.accepted, wrong);
    EXPECT_EQ(o.next, best[size_t(wrong)]);
  }
  const VerifyOutcome all = verify_greedy(best, {1, 2, 0});
  EXPECT_EQ(all.accepted, 3);
  EXPECT_EQ(all.next, 4);
  const VerifyOutcome none = verify_greedy({7}, {});  // K = 0: the bonus token only
  EXPECT_EQ(none.accepted, 0);
  EXPECT_EQ(none.next, 7);
}

TEST(RefVerify, StochasticArgmaxDrafterReusesTheArDraw) {
  // The token emitted at position 7 is exactly the AR sample at position 7, accepted or not.
  const auto row = testutil::random_floats(kVocab, 3, 2.0f);
  const auto rows = repeat_rows(row, 1);
  VerifyConfig vc;
  vc.target.temperature = 1.0f;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    vc.target.seed = seed;
    const int32_t ar = sample_token(row.data(), kVocab, vc.target, 0, 7);
    for (int32_t draft = 0; draft < kVocab; ++draft) {
      const VerifyOutcome o = verify_drafts(rows.data(), {{draft, row.data()}}, kVocab, vc, 0, 7);
      EXPECT_EQ(o.accepted == 1, draft == ar);
      if (o.accepted == 0) {
        EXPECT_EQ(o.next, ar);
      }
    }
  }
}

TEST(RefVerify, MixWeightOneIsTheArRowBitwise) {
  // Extreme draft logits: any leak of (1 - w) * y into the row would change the outcome.
  const auto ar = testutil::random_floats(kVocab, 4, 3.0f);
  const std::vector<float> y = {1e30f, -1e30f, 3e29f, 0, -7e29f};
  const auto rows = repeat_rows(ar, 1);
  VerifyConfig lossless, mixed;
  lossless.target.temperature = mixed.target.temperature = 0.7f;
  mixed.mix_weight = 1.0f;
  for (uint32_t pos = 0; pos < 300; ++pos) {
    for (int32_t draft = 0; draft < kVocab; ++draft) {
      const VerifyOutcome a = verify_drafts(rows.data(), {{draft, nullptr}}, kVocab, lossless, 0, int(pos));
      const VerifyOutcome b = verify_drafts(rows.data(), {{draft, y.data()}}, kVocab, mixed, 0, int(pos));
      ASSERT_EQ(a.accepted, b.accepted);
      ASSERT_EQ(a.next, b.next);
    }
  }
}

TEST(RefVerify, MixWeightZeroAcceptsTheArgmaxDrafts) {
  const auto ar = testutil::random_floats(kVocab, 5, 3.0f);
  const auto y = testutil::random_floats(kVocab, 6, 3.0f);
  VerifyConfig vc;
  vc.mix_weight = 0.0f;
  const int32_t draft = draft_token(y.data(), kVocab, vc, 0, 0);
  const auto rows = repeat_rows(ar, 1);
  EXPECT_EQ(verify_drafts(rows.data(), {{draft, y.data()}}, kVocab, vc, 0, 0).accepted, 1);
}

TEST(RefVerify, RejectionSamplingReproducesTheArDistribution) {
  // Sampling drafter q = softmax(y / 1.3) against target p = softmax(z / 0.9): the first token
  // emitted (accepted draft or residual sample) must follow p. Chi-square, 4 degrees of freedom.
  const std::vector<float> z = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f}, y = {2.0f, 1.5f, -1.0f, 0.0f, 0.5f};
  const auto rows = repeat_rows(z, 1);
  VerifyConfig vc;
  vc.target.temperature = 0.9f;
  vc.target.seed = 123;
  vc.draft_temperature = 1.3f;
  const std::vector<double> p = target_distribution(z.data(), kVocab, vc.target);
  std::vector<int> counts(kVocab, 0);
  const int n = 40000;
  int accepted = 0;
  for (int pos = 0; pos < n; ++pos) {
    const int32_t d = draft_token(y.data(), kVocab, vc, 0, pos);
    const VerifyOutcome o = verify_drafts(rows.data(), {{d, y.data()}}, kVocab, vc, 0, pos);
    accepted += o.accepted;
    ++counts[size_t(o.accepted ? d : o.next)];
  }
  double chi2 = 0;
  for (int v = 0; v < kVocab; ++v) chi2 += std::pow(counts[size_t(v)] - n * p[size_t(v)], 2) / (n * p[size_t(v)]);
  EXPECT_LT(chi2, 18.47);  // p = 0.001
  // Acceptance rate of speculative sampling is sum_v min(p, q).
  const auto q = draft_distribution(y.data(), kVocab, 1.3f);
  double expected = 0;
  for (int v = 0; v < kVocab; ++v) expected += std::min(p[size_t(v)], q[size_t(v)]);
  EXPECT_NEAR(double(accepted) / n, expected, 0.01);
}
