#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

// Brute force: softmax over an explicit list of visible (cache or pass) keys.
std::vector<float> brute(const AttentionArgs& a, int t, int h, const std::vector<int>& cache_keys,
                         const std::vector<int>& pass_keys) {
  const int g = a.q_heads / a.kv_heads, kvh = h / g, dh = a.head_dim;
  std::vector<const float*> ks, vs;
  const auto* k_cache = static_cast<const float*>(a.k_cache);  // an f32 cache
  const auto* v_cache = static_cast<const float*>(a.v_cache);
  for (int j : cache_keys) {
    ks.push_back(k_cache + a.seq[t] * a.seq_stride + (j * a.kv_heads + kvh) * dh);
    vs.push_back(v_cache + a.seq[t] * a.seq_stride + (j * a.kv_heads + kvh) * dh);
  }
  for (int j : pass_keys) {
    ks.push_back(a.k_pass + (j * a.kv_heads + kvh) * dh);
    vs.push_back(a.v_pass + (j * a.kv_heads + kvh) * dh);
  }
  const float* q = a.q + (t * a.q_heads + h) * dh;
  std::vector<double> s(ks.size());
  double m = -1e300, den = 0;
  for (size_t j = 0; j < ks.size(); ++j) {
    double dot = 0;
    for (int d = 0; d < dh; ++d) dot += double(q[d]) * ks[j][d];
    s[j] = dot * a.scale;
    m = std::max(m, s[j]);
  }
  for (double& x : s) den += x = std::exp(x - m);
  std::vector<float> out(size_t(dh), 0.0f);
  for (int d = 0; d < dh; ++d) {
    double acc = 0;
    for (size_t j = 0; j < ks.size(); ++j) acc += s[j] * vs[j][d];
    out[size_t(d)] = float(acc / den);
  }
  return out;
}

}  // namespace

TEST(RefAttention, SingleKeyReturnsItsValue) {
  const float q[] = {1, 2}, k[] = {3, 4}, v[] = {5, -6};
  const Visibility vis[] = {{0, {0, 1}, {}}};
  const int32_t seq[] = {0};
  float out[2];
  AttentionArgs a;
  a.tokens = 1, a.q_heads = 1, a.kv_heads = 1, a.head_dim = 2, a.scale = 0.7f;
  a.q = q, a.k_pass = k, a.v_pass = v, a.vis = vis, a.seq = seq, a.out = out;
  ref::attention<float>(a);
  EXPECT_FLOAT_EQ(out[0], 5);
  EXPECT_FLOAT_EQ(out[1], -6);
}

TEST(RefAttention, PassVisibilityAndGqaMatchBruteForce) {
  // 2 sequences with caches of 5 and 3 committed slots; 6 pass tokens with mixed visibility.
  const int hq = 4, hkv = 2, dh = 8, cap = 6, t = 6;
  const auto kc = testutil::random_floats(2 * cap * hkv * dh, 1), vc = testutil::random_floats(kc.size(), 2);
  const auto q = testutil::random_floats(t * hq * dh, 3), kp = testutil::random_floats(t * hkv * dh, 4),
             vp = testutil::random_floats(t * hkv * dh, 5);
  const Visibility vis[] = {{5, {0, 1}, {}},     {5, {0, 2}, {}}, {5, {0, 2}, {3, 5}},
                            {5, {1, 2}, {3, 5}}, {3, {5, 6}, {}}, {0, {0, 1}, {4, 4}}};
  const int32_t seq[] = {0, 0, 0, 0, 1, 0};
  std::vector<float> out(t * hq * dh);
  AttentionArgs a;
  a.tokens = t, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh, a.scale = 0.35f;
  a.q = q.data(), a.k_pass = kp.data(), a.v_pass = vp.data(), a.vis = vis, a.seq = seq;
  a.k_cache = kc.data(), a.v_cache = vc.data(), a.seq_stride = cap * hkv * dh, a.out = out.data();
  ref::attention<double>(a);
  for (int i = 0; i < t; ++i) {
    std::vector<int> cache, pass;
    for (int j = 0; j < vis[i].cache_len; ++j) cache.push_back(j);
    for (int j = vis[i].first.begin; j < vis[i].first.end; ++j) pass.push_back(j);
    for (int j = vis[i].second.begin; j < vis[i].second.end; ++j) pass.push_back(j);
    for (int h = 0; h < hq; ++h) {
      const auto expect = brute(a, i, h, cache, pass);
      for (int d = 0; d < dh; ++d) EXPECT_NEAR(out[(i * hq + h) * dh + d], expect[d], 1e-6) << i << " " << h;
    }
  }
}
