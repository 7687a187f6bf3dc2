#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <vector>

#include "ref/ref.h"

namespace dllm::ref {

namespace {

// The keys one query sees, in a fixed order: cache slots 0..L-1, then the first pass interval, then
// the second. The order never depends on the pass size.
struct KeyList {
  std::vector<const float*> k, v;
};

KeyList visible_keys(const AttentionArgs& a, int t, int kv_head) {
  const Visibility& vis = a.vis[t];
  const int64_t row = int64_t(a.kv_heads) * a.head_dim;
  KeyList keys;
  const int64_t seq_base = a.seq ? int64_t(a.seq[t]) * a.seq_stride : 0;
  for (int j = 0; j < vis.cache_len; ++j) {
    keys.k.push_back(a.k_cache + seq_base + j * row + int64_t(kv_head) * a.head_dim);
    keys.v.push_back(a.v_cache + seq_base + j * row + int64_t(kv_head) * a.head_dim);
  }
  auto add_pass = [&](int begin, int end) {
    for (int j = begin; j < end; ++j) {
      keys.k.push_back(a.k_pass + j * row + int64_t(kv_head) * a.head_dim);
      keys.v.push_back(a.v_pass + j * row + int64_t(kv_head) * a.head_dim);
    }
  };
  add_pass(vis.first.begin, vis.first.end);
  add_pass(vis.second.begin, vis.second.end);
  return keys;
}

}  // namespace

template <typename Acc>
void attention(const AttentionArgs& a) {
  const int group = a.q_heads / a.kv_heads;
  for (int t = 0; t < a.tokens; ++t) {
    for (int h = 0; h < a.q_heads; ++h) {
      const float* q = a.q + (int64_t(t) * a.q_heads + h) * a.head_dim;
      float* out = a.out + (int64_t(t) * a.q_heads + h) * a.head_dim;
      const KeyList keys = visible_keys(a, t, h / group);
      const int n = int(keys.k.size());
      if (n == 0) {  // a query that sees nothing has no defined output; zeros, never NaN
        for (int d = 0; d < a.head_dim; ++d) out[d] = 0.0f;
        continue;
      }
      Eigen::Matrix<Acc, Eigen::Dynamic, 1> score(n);
      for (int j = 0; j < n; ++j) {
        Acc dot = 0;
        for (int d = 0; d < a.head_dim; ++d) dot += Acc(q[d]) * Acc(keys.k[j][d]);
        score[j] = dot * Acc(a.scale);
      }
      Acc max = -std::numeric_limits<Acc>::infinity();
      for (int j = 0; j < n; ++j) max = std::max(max, score[j]);
      Acc denom = 0;
      for (int j = 0; j < n; ++j) {
        score[j] = std::exp(score[j] - max);
        denom += score[j];
      }
      for (int d = 0; d < a.head_dim; ++d) {
        Acc acc = 0;
        for (int j = 0; j < n; ++j) acc += score[j] * Acc(keys.v[j][d]);
        out[d] = float(acc / denom);
      }
    }
  }
}

template void attention<float>(const AttentionArgs&);
template void attention<double>(const AttentionArgs&);

}  // namespace dllm::ref
