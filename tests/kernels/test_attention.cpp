// kernels/cpu attention against ref::attention: GQA ratios, odd head dims, two sequences with their
// own cache lengths, every visibility form (cache only, causal, bidirectional block, two intervals,
// nothing), guard values, and batch invariance (a token alone equals the same token in the pass).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#include "tests/kernel_checks.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

struct Case {
  int tokens, q_heads, kv_heads, head_dim, capacity;
  std::vector<float> q, k_pass, v_pass, k_cache, v_cache;  // see AttentionArgs for the shapes
  std::vector<Visibility> vis;
  std::vector<int32_t> seq;

  Case(int t, int hq, int hkv, int dh, int cap, uint32_t seed)
      : tokens(t), q_heads(hq), kv_heads(hkv), head_dim(dh), capacity(cap) {
    q = testutil::random_floats(size_t(t) * hq * dh, seed);
    k_pass = testutil::random_floats(size_t(t) * hkv * dh, seed + 1);
    v_pass = testutil::random_floats(k_pass.size(), seed + 2);
    k_cache = testutil::random_floats(size_t(2) * cap * hkv * dh, seed + 3);  // B = 2
    v_cache = testutil::random_floats(k_cache.size(), seed + 4);
    for (int i = 0; i < t; ++i) {
      const int s = i % 2, len = s == 0 ? cap : cap / 3;
      Visibility v;
      switch (i % 5) {
        case 0: v = {len, {}, {}}; break;                            // cache only
        case 1: v = {len, {0, i + 1}, {}}; break;                    // causal over the pass
        case 2: v = {len, {0, t / 2}, {std::max(i, t / 2), std::min(t, i + 4)}}; break;  // prefix + own block
        case 3: v = {0, {i, i + 1}, {}}; break;                      // itself only
        default: v = {0, {}, {}};                                    // nothing: zeros
      }
      if (v.second.begin >= v.second.end) v.second = {};
      vis.push_back(v);
      seq.push_back(s);
    }
  }
  AttentionArgs args(float* out) const {
    AttentionArgs a;
    a.tokens = tokens, a.q_heads = q_heads, a.kv_heads = kv_heads, a.head_dim = head_dim;
    a.scale = 1.0f / std::sqrt(float(head_dim));
    a.q = q.data(), a.k_pass = k_pass.data(), a.v_pass = v_pass.data(), a.vis = vis.data(), a.seq = seq.data();
    a.k_cache = k_cache.data(), a.v_cache = v_cache.data();
    a.seq_stride = int64_t(capacity) * kv_heads * head_dim, a.out = out;
    return a;
  }
};

}  // namespace

TEST(CpuAttention, MatchesReference) {
  const int shapes[][5] = {{1, 1, 1, 1, 1}, {5, 4, 1, 7, 9}, {17, 8, 2, 64, 40}, {12, 6, 3, 33, 5}, {9, 2, 2, 128, 70}};
  for (const auto& s : shapes) {
    const Case c(s[0], s[1], s[2], s[3], s[4], uint32_t(s[0] * 7 + s[3]));
    const size_t n = size_t(c.tokens) * c.q_heads * c.head_dim;
    testutil::GuardedOutput fast(n);
    std::vector<float> ref64(n), ref32(n);
    cpu::attention(c.args(fast.data()));
    ref::attention<double>(c.args(ref64.data()));
    ref::attention<float>(c.args(ref32.data()));
    EXPECT_TRUE(testutil::within_f32_reference_error(fast.values(), ref32, ref64))
        << s[0] << " tokens, " << s[1] << "/" << s[2] << " heads, Dh " << s[3];
  }
}

TEST(CpuAttention, BatchInvariant) {
  const Case c(17, 8, 2, 64, 40, 3);
  const size_t row = size_t(c.q_heads) * c.head_dim;
  std::vector<float> all(c.tokens * row), one(row);
  cpu::attention(c.args(all.data()));
  for (int t = 0; t < c.tokens; ++t) {
    AttentionArgs a = c.args(one.data());  // token t alone; its pass keys stay where they are
    a.tokens = 1, a.q = c.q.data() + t * row, a.vis = c.vis.data() + t, a.seq = c.seq.data() + t;
    cpu::attention(a);
    EXPECT_EQ(0, std::memcmp(one.data(), all.data() + t * row, row * sizeof(float))) << "token " << t;
  }
}
