#include <algorithm>

#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

namespace {

// The keys and values [n, Dh] one query of token t sees at kv head `kv_head`, in a fixed order:
// cache slots cache_begin..L-1 (their kv_dtype values as f32), then the first pass interval, then the
// second. The order never depends on the pass size.
template <typename Acc>
struct VisibleKeys {
  Matrix<Acc> k, v;
};

template <typename Acc>
VisibleKeys<Acc> visible_keys(const AttentionArgs& a, int t, int kv_head) {
  const Visibility& vis = a.vis[t];
  const int dh = a.head_dim;
  auto length = [](const Interval& i) { return std::max(0, i.end - i.begin); };
  const int n = vis.cache_len - vis.cache_begin + length(vis.first) + length(vis.second);
  VisibleKeys<Acc> keys{Matrix<Acc>(n, dh), Matrix<Acc>(n, dh)};
  int j = 0;
  // Row `slot` of the pass's [T, Hkv, Dh] keys and values, at this kv head.
  auto take = [&](const float* k, const float* v, int64_t slot) {
    keys.k.row(j) = row_in<Acc>(k, slot * a.kv_heads + kv_head, dh);
    keys.v.row(j) = row_in<Acc>(v, slot * a.kv_heads + kv_head, dh);
    ++j;
  };
  const int64_t seq_base = a.seq ? int64_t(a.seq[t]) * a.seq_stride : 0;
  for (int s = vis.cache_begin; s < vis.cache_len; ++s, ++j) {  // kv_dtype values
    const int64_t at = seq_base + (int64_t(s) * a.kv_heads + kv_head) * dh;
    for (int d = 0; d < dh; ++d) {
      keys.k(j, d) = Acc(kv_load(a.k_cache, a.kv_dtype, at + d));
      keys.v(j, d) = Acc(kv_load(a.v_cache, a.kv_dtype, at + d));
    }
  }
  for (int s = vis.first.begin; s < vis.first.end; ++s) take(a.k_pass, a.v_pass, s);
  for (int s = vis.second.begin; s < vis.second.end; ++s) take(a.k_pass, a.v_pass, s);
  return keys;
}

}  // namespace

// Per token t and query head h: out = softmax(scale * K q) V over the keys the token sees.
template <typename Acc>
void attention(const AttentionArgs& a) {
  const int group = a.q_heads / a.kv_heads;
  for (int t = 0; t < a.tokens; ++t) {
    for (int h = 0; h < a.q_heads; ++h) {
      const int64_t head = int64_t(t) * a.q_heads + h;  // row of q and out as [T * Hq, Dh]
      const VisibleKeys<Acc> keys = visible_keys<Acc>(a, t, h / group);
      if (keys.k.rows() == 0) {  // a query that sees nothing has no defined output; zeros, never NaN
        row(a.out, head, a.head_dim).setZero();
        continue;
      }
      const Vector<Acc> score = keys.k * row_in<Acc>(a.q, head, a.head_dim) * Acc(a.scale);  // [n]
      const Vector<Acc> out = keys.v.transpose() * softmax_of<Acc>(score);                   // [Dh]
      row(a.out, head, a.head_dim) = out.template cast<float>();
    }
  }
}

template void attention<float>(const AttentionArgs&);
template void attention<double>(const AttentionArgs&);

}  // namespace dllm::ref
