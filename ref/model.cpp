#include "ref/model.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "ref/ref.h"

namespace dllm::ref {

namespace {

template <typename Acc>
void project(const std::vector<float>& x, int n, int in, const WeightView& w, const WeightView& b,
             std::vector<float>& y) {
  y.assign(size_t(n) * w.rows, 0.0f);
  linear<Acc>(LinearArgs{n, in, int(w.rows), x.data(), w, b, y.data()});
}

}  // namespace

template <typename Acc>
void rope_attend(const ModelConfig& cfg, int layer, const std::vector<PassToken>& tokens, std::vector<float>& q,
                 std::vector<float>& k, const std::vector<float>& v, std::vector<float>& out) {
  const int n = int(tokens.size()), hq = cfg.num_heads, hkv = cfg.num_kv_heads, dh = cfg.head_dim;
  const std::vector<int32_t> seq(n, 0);  // one sequence
  std::vector<int32_t> positions(n), lengths(n);
  std::vector<Visibility> vis(n);
  int32_t longest = 0;  // dynamic RoPE: the sequence is one call
  for (const PassToken& t : tokens) longest = std::max(longest, t.position + 1);
  for (int i = 0; i < n; ++i) {
    positions[i] = tokens[i].position, lengths[i] = longest;
    vis[i] = cfg.is_sliding(layer) ? sliding_window_visibility(tokens, i, cfg.sliding_window) : tokens[i].vis;
  }
  const float theta = cfg.layer_rope_theta(layer);
  const RopeScaling scaling = cfg.layer_rope_scaling(layer);
  rope(RopeArgs{n, hq, dh, cfg.rotary_dim, theta, positions.data(), q.data(), scaling, lengths.data()});
  rope(RopeArgs{n, hkv, dh, cfg.rotary_dim, theta, positions.data(), k.data(), scaling, lengths.data()});
  out.assign(size_t(n) * hq * dh, 0.0f);
  AttentionArgs aa;
  aa.tokens = n, aa.q_heads = hq, aa.kv_heads = hkv, aa.head_dim = dh;
  aa.scale = float(1.0 / std::sqrt(double(dh)));
  aa.q = q.data(), aa.k_pass = k.data(), aa.v_pass = v.data(), aa.vis = vis.data();
  aa.seq = seq.data(), aa.out = out.data();
  attention<Acc>(aa);
}

template <typename Acc>
std::vector<float> model_forward(const ModelConfig& cfg, const ModelWeights& w, const std::vector<PassToken>& tokens) {
  if (cfg.arch == Arch::zaya) return zaya_model_forward<Acc>(cfg, w, tokens);
  const int n = int(tokens.size());
  const int d = cfg.hidden_size, hq = cfg.num_heads, hkv = cfg.num_kv_heads, dh = cfg.head_dim;
  std::vector<int32_t> ids(n);
  for (int i = 0; i < n; ++i) {
    DLLM_ASSERT(tokens[i].vis.cache_len == 0);
    ids[i] = tokens[i].token;
  }

  std::vector<float> x(size_t(n) * d);  // [N, D] residual stream
  embedding(EmbeddingArgs{n, d, ids.data(), w.embed, x.data()});

  std::vector<float> h(x.size()), q, k, v, attn(size_t(n) * hq * dh), o, gate, up, down;
  for (size_t layer = 0; layer < w.layers.size(); ++layer) {
    const LayerWeights& lw = w.layers[layer];
    rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), lw.attn_norm, h.data()});
    project<Acc>(h, n, d, lw.q, lw.q_bias, q);  // [N, Hq*Dh]
    project<Acc>(h, n, d, lw.k, lw.k_bias, k);  // [N, Hkv*Dh]
    project<Acc>(h, n, d, lw.v, lw.v_bias, v);  // [N, Hkv*Dh]
    if (cfg.qk_norm) {
      rmsnorm<Acc>(RmsnormArgs{n * hq, dh, cfg.rms_norm_eps, q.data(), lw.q_norm, q.data()});
      rmsnorm<Acc>(RmsnormArgs{n * hkv, dh, cfg.rms_norm_eps, k.data(), lw.k_norm, k.data()});
    }
    rope_attend<Acc>(cfg, int(layer), tokens, q, k, v, attn);
    project<Acc>(attn, n, hq * dh, lw.o, WeightView{}, o);  // [N, D]
    add(AddArgs{int64_t(x.size()), o.data(), x.data()});

    rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), lw.mlp_norm, h.data()});
    project<Acc>(h, n, d, lw.gate, WeightView{}, gate);  // [N, F]
    project<Acc>(h, n, d, lw.up, WeightView{}, up);      // [N, F]
    swiglu(SwigluArgs{n, cfg.intermediate_size, gate.data(), up.data(), gate.data()});
    project<Acc>(gate, n, cfg.intermediate_size, lw.down, WeightView{}, down);  // [N, D]
    add(AddArgs{int64_t(x.size()), down.data(), x.data()});
  }
  rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), w.final_norm, h.data()});
  std::vector<float> logits;  // [N, V]
  project<Acc>(h, n, d, w.lm_head, WeightView{}, logits);
  return logits;
}

template <typename Acc>
std::vector<float> pass_logits(const ModelConfig& cfg, const ModelWeights& w, const std::vector<int32_t>& context,
                               const Pass& pass) {
  const int ctx = int(context.size());
  std::vector<PassToken> full;
  for (int i = 0; i < ctx; ++i) {
    PassToken t;
    t.token = context[i];
    t.position = i;
    t.vis = Visibility{0, {0, i + 1}, {}};
    t.prev = i - 1;
    full.push_back(t);
  }
  for (const PassToken& p : pass.tokens) {
    // The cache [0, L) and a first interval that starts the pass are adjacent in the full
    // sequence: one interval [0, L + end), visited in the same key order as by the engine.
    DLLM_ASSERT(p.vis.cache_len == ctx && (p.vis.first.begin == 0 || p.vis.first.end == p.vis.first.begin));
    PassToken t = p;
    const int32_t first_end = p.vis.first.end > p.vis.first.begin ? p.vis.first.end : 0;
    t.vis = Visibility{0, {0, ctx + first_end}, {ctx + p.vis.second.begin, ctx + p.vis.second.end}};
    t.prev = p.prev == kAfterCache ? ctx - 1 : ctx + p.prev;
    full.push_back(t);
  }
  std::vector<float> all = model_forward<Acc>(cfg, w, full);
  const size_t v = size_t(cfg.vocab_size);
  return std::vector<float>(all.begin() + ptrdiff_t(size_t(ctx) * v), all.end());
}

template void rope_attend<float>(const ModelConfig&, int, const std::vector<PassToken>&, std::vector<float>&,
                                 std::vector<float>&, const std::vector<float>&, std::vector<float>&);
template void rope_attend<double>(const ModelConfig&, int, const std::vector<PassToken>&, std::vector<float>&,
                                  std::vector<float>&, const std::vector<float>&, std::vector<float>&);
template std::vector<float> model_forward<float>(const ModelConfig&, const ModelWeights&,
                                                 const std::vector<PassToken>&);
template std::vector<float> model_forward<double>(const ModelConfig&, const ModelWeights&,
                                                  const std::vector<PassToken>&);
template std::vector<float> pass_logits<float>(const ModelConfig&, const ModelWeights&, const std::vector<int32_t>&,
                                               const Pass&);
template std::vector<float> pass_logits<double>(const ModelConfig&, const ModelWeights&, const std::vector<int32_t>&,
                                                const Pass&);

}  // namespace dllm::ref
