// The whole-model reference for ZAYA1 (engine/model/zaya.md), recomputed from
// scratch with no cache and no recurrent state: each token's conv and value-shift predecessors are
// read straight from the sequence through PassToken::prev.
#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "ref/model.h"
#include "ref/ref.h"

namespace dllm::ref {

namespace {

template <typename Acc>
void project(const std::vector<float>& x, int n, int in, const WeightView& w, std::vector<float>& y) {
  y.assign(size_t(n) * w.rows, 0.0f);
  linear<Acc>(LinearArgs{n, in, int(w.rows), x.data(), w, WeightView{}, y.data()});
}

// Row `i` of [N, width] `src` copied to `dst`, or zeros when i < 0 (before the start).
void copy_row(const std::vector<float>& src, int i, int width, float* dst) {
  for (int c = 0; c < width; ++c) dst[c] = i < 0 ? 0.0f : src[size_t(i) * width + c];
}

}  // namespace

template <typename Acc>
std::vector<float> zaya_model_forward(const ModelConfig& cfg, const ModelWeights& w,
                                      const std::vector<PassToken>& tokens) {
  const int n = int(tokens.size()), d = cfg.hidden_size, hq = cfg.num_heads, hkv = cfg.num_kv_heads, dh = cfg.head_dim,
            ch = cfg.cca_channels(), vh = cfg.value_shift_width();
  std::vector<int32_t> ids(n), prev(n), prev2(n);
  for (int i = 0; i < n; ++i) {
    DLLM_ASSERT(tokens[i].vis.cache_len == 0 && tokens[i].prev < i);
    ids[i] = tokens[i].token;
    prev[i] = tokens[i].prev;  // -1: the start of the sequence
    prev2[i] = prev[i] < 0 ? -1 : tokens[size_t(prev[i])].prev;
  }

  std::vector<float> x(size_t(n) * d), emb(x.size());  // [N, D] residual stream (f32)
  embedding(EmbeddingArgs{n, d, ids.data(), w.embed, emb.data()});
  residual_scale(ResidualScaleArgs{n, d, emb.data(), w.input_scale, w.input_bias, {}, {}, x.data()});

  std::vector<float> h(x.size()), q0, k0, qk0(size_t(n) * ch), c0p(qk0.size()), c0pp(qk0.size()), conv(qk0.size()),
      q(size_t(n) * hq * dh), k(size_t(n) * hkv * dh), vc, vd, v(size_t(n) * hkv * dh), attn(q.size()), o,
      state(size_t(n) * cfg.router_hidden_size), weight(n), y(x.size());
  std::vector<int32_t> expert(n);
  for (size_t layer = 0; layer < w.layers.size(); ++layer) {
    const LayerWeights& lw = w.layers[layer];
    rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), lw.attn_norm, h.data()});
    project<Acc>(h, n, d, lw.q, q0);  // [N, Hq*Dh]
    project<Acc>(h, n, d, lw.k, k0);  // [N, Hkv*Dh]
    for (int t = 0; t < n; ++t) {     // c0 = [q0; k0]  [N, C]
      std::copy_n(&q0[size_t(t) * hq * dh], hq * dh, &qk0[size_t(t) * ch]);
      std::copy_n(&k0[size_t(t) * hkv * dh], hkv * dh, &qk0[size_t(t) * ch + hq * dh]);
    }
    for (int t = 0; t < n; ++t) {
      copy_row(qk0, prev[t], ch, &c0p[size_t(t) * ch]);
      copy_row(qk0, prev2[t], ch, &c0pp[size_t(t) * ch]);
    }
    cca_conv<Acc>(CcaConvArgs{n, hq + hkv, dh, qk0.data(), c0p.data(), c0pp.data(), lw.conv1, lw.conv1_bias, lw.conv2,
                              lw.conv2_bias, conv.data()});
    cca_qk<Acc>(CcaQkArgs{n, hq, hkv, dh, qk0.data(), conv.data(), lw.temperature, q.data(), k.data()});
    // v = [W_v x(t); W_v2 x(t-1)] flat, viewed as [Hkv, Dh] (x(-1) = 0).
    project<Acc>(h, n, d, lw.v, vc);          // [N, Vh]
    project<Acc>(h, n, d, lw.v_delayed, vd);  // [N, Vh]
    for (int t = 0; t < n; ++t) {
      std::copy_n(&vc[size_t(t) * vh], vh, &v[size_t(t) * 2 * vh]);
      copy_row(vd, prev[t], vh, &v[size_t(t) * 2 * vh + vh]);
    }
    rope_attend<Acc>(cfg, int(layer), tokens, q, k, v, attn);
    project<Acc>(attn, n, hq * dh, lw.o, o);  // [N, D]
    residual_scale(
        ResidualScaleArgs{n, d, o.data(), lw.attn_h_scale, lw.attn_h_bias, lw.attn_r_scale, lw.attn_r_bias, x.data()});

    rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), lw.mlp_norm, h.data()});
    ZayaRouterArgs ra;
    ra.tokens = n, ra.dim = d, ra.router_dim = cfg.router_hidden_size, ra.experts = cfg.num_experts;
    ra.eps = cfg.rms_norm_eps, ra.x = h.data(), ra.state_in = layer == 0 ? nullptr : state.data();
    ra.down = lw.router_down, ra.down_bias = lw.router_down_bias, ra.state_scale = lw.router_state_scale;
    ra.norm = lw.router_norm, ra.fc1 = lw.router_fc1, ra.fc1_bias = lw.router_fc1_bias;
    ra.fc2 = lw.router_fc2, ra.fc2_bias = lw.router_fc2_bias, ra.out = lw.router_out;
    ra.balancing_bias = lw.balancing_bias, ra.state_out = state.data();
    ra.expert = expert.data(), ra.weight = weight.data();
    zaya_router<Acc>(ra);
    moe<Acc>(MoeArgs{n, d, cfg.intermediate_size, cfg.num_experts, cfg.skip_route, h.data(), expert.data(),
                     weight.data(), lw.experts_gate_up, lw.experts_down, y.data()});
    residual_scale(
        ResidualScaleArgs{n, d, y.data(), lw.mlp_h_scale, lw.mlp_h_bias, lw.mlp_r_scale, lw.mlp_r_bias, x.data()});
  }
  rmsnorm<Acc>(RmsnormArgs{n, d, cfg.rms_norm_eps, x.data(), w.final_norm, h.data()});
  std::vector<float> logits;  // [N, V]
  project<Acc>(h, n, d, w.lm_head, logits);
  return logits;
}

template std::vector<float> zaya_model_forward<float>(const ModelConfig&, const ModelWeights&,
                                                      const std::vector<PassToken>&);
template std::vector<float> zaya_model_forward<double>(const ModelConfig&, const ModelWeights&,
                                                       const std::vector<PassToken>&);

}  // namespace dllm::ref
