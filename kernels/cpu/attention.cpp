#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"

// Built with -ffp-contract=off (kernels/CMakeLists.txt): the AVX2 and baseline clones below then do
// the same IEEE operations, so results do not depend on the CPU.
namespace dllm::cpu {

namespace {

constexpr int kLanes = 8;

// q . k over Dh elements: lane l sums elements l, l + 8, ... in order, then a fixed pairwise tree.
__attribute__((target_clones("avx2", "default"))) float dot(const float* q, const float* k, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += q[i + l] * k[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += q[i + l] * k[i + l];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

// out[0, n) += p * v[0, n)
__attribute__((target_clones("avx2", "default"))) void axpy(float p, const float* v, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] += p * v[i];
}

// Calls fn(k, v) for every key one token sees through one kv head, in the order of Visibility:
// cache slots 0..L-1, then the first pass interval, then the second.
template <typename Fn>
void for_each_key(const AttentionArgs& a, int t, int kv_head, Fn&& fn) {
  const Visibility& vis = a.vis[t];
  const int64_t row = int64_t(a.kv_heads) * a.head_dim, head = int64_t(kv_head) * a.head_dim;
  const int64_t seq_base = a.seq ? int64_t(a.seq[t]) * a.seq_stride : 0;
  for (int j = 0; j < vis.cache_len; ++j)
    fn(a.k_cache + seq_base + j * row + head, a.v_cache + seq_base + j * row + head);
  for (const Interval& iv : {vis.first, vis.second})
    for (int j = iv.begin; j < iv.end; ++j) fn(a.k_pass + j * row + head, a.v_pass + j * row + head);
}

// All G query heads of kv head g for token t: each key and value row is read once for the group.
void token_group(const AttentionArgs& a, int t, int g) {
  const int group = a.q_heads / a.kv_heads, dh = a.head_dim;
  const Visibility& vis = a.vis[t];
  const int n = vis.cache_len + (vis.first.end - vis.first.begin) + (vis.second.end - vis.second.begin);
  const float* q = a.q + (int64_t(t) * a.q_heads + int64_t(g) * group) * dh;  // [G, Dh]
  float* out = a.out + (int64_t(t) * a.q_heads + int64_t(g) * group) * dh;    // [G, Dh]
  if (n == 0) {  // a query that sees nothing has no defined output; zeros, never NaN
    std::fill(out, out + int64_t(group) * dh, 0.0f);
    return;
  }
  thread_local std::vector<float> score;  // [G, n]
  score.resize(size_t(group) * n);
  int j = 0;
  for_each_key(a, t, g, [&](const float* k, const float*) {
    for (int h = 0; h < group; ++h) score[size_t(h) * n + j] = dot(q + h * dh, k, dh) * a.scale;
    ++j;
  });
  thread_local std::vector<float> denom_of;  // [G]
  denom_of.resize(size_t(group));
  for (int h = 0; h < group; ++h) {
    float* s = score.data() + size_t(h) * n;
    const float max = *std::max_element(s, s + n);
    float denom = 0;
    for (int i = 0; i < n; ++i) {
      s[i] = std::exp(s[i] - max);
      denom += s[i];
    }
    denom_of[size_t(h)] = denom;
  }
  std::fill(out, out + int64_t(group) * dh, 0.0f);
  j = 0;
  for_each_key(a, t, g, [&](const float*, const float* v) {
    for (int h = 0; h < group; ++h) axpy(score[size_t(h) * n + j], v, out + h * dh, dh);
    ++j;
  });
  for (int h = 0; h < group; ++h)
    for (int d = 0; d < dh; ++d) out[h * dh + d] /= denom_of[size_t(h)];
}

}  // namespace

void attention(const AttentionArgs& a) {
  // At least about 2^18 multiply-adds per thread's share (keys estimated from the first token).
  const int64_t keys = int64_t(a.vis[0].cache_len) + a.tokens;
  const int64_t per_item = std::max<int64_t>(1, int64_t(2) * a.q_heads / a.kv_heads * a.head_dim * keys);
  parallel_for(int64_t(a.tokens) * a.kv_heads, std::max<int64_t>(1, (int64_t(1) << 18) / per_item),
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i) token_group(a, int(i / a.kv_heads), int(i % a.kv_heads));
               });
}

}  // namespace dllm::cpu
