// The ZAYA1 layer of Transformer::forward (engine/model/zaya.md,
// engine/model/zaya.md): CCA attention with its recurrent state in the KV cache, then the top-1 MoE
// with the ZAYA router, each merged into the f32 residual stream by learned residual scaling.
#include <array>
#include <vector>

#include "core/check.h"
#include "engine/model/transformer.h"
#include "engine/model/zaya.h"

namespace dllm {

// Token t-1 of each token's sequence (prev1_) and token t-2 (prev2_): a token of this pass, a cache
// slot of the committed tokens, or nothing (before the start of the sequence). Then the ring entries
// this pass stores (every layer's CcaState writes them) are recorded in the cache.
void Transformer::zaya_sources(const Pass& pass, KvCache& cache) {
  using Kind = RecurrentSource::Kind;
  const int t = pass.size();
  RecurrentSource *prev1 = in_.host<RecurrentSource>(in_at_.prev1), *prev2 = in_.host<RecurrentSource>(in_at_.prev2);
  auto committed = [&](int32_t seq, int32_t slot) {
    if (slot < 0) return RecurrentSource{Kind::zero, 0};
    DLLM_ASSERT(cache.recurrent_holds(seq, slot));  // validate() keeps a pass's writes off slots L-2, L-1
    return RecurrentSource{Kind::cache, slot};
  };
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    if (p.prev == kAfterCache) {
      prev1[i] = committed(p.seq, p.vis.cache_len - 1);
      prev2[i] = committed(p.seq, p.vis.cache_len - 2);
    } else {
      prev1[i] = RecurrentSource{Kind::pass, p.prev};
      prev2[i] = prev1[p.prev];
    }
  }
  for (const PassToken& p : pass.tokens)
    if (p.cache_slot >= 0) cache.recurrent_stored(p.seq, p.cache_slot);
}

void Transformer::zaya_attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache) {
  const int d = cfg_.hidden_size, hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  const int ch = cfg_.cca_channels(), vh = cfg_.value_shift_width();
  DLLM_ASSERT(cache.recurrent_width() == ch + vh);

  // On the normalised rows h_ [T, D] (scratch: a GPU normalises while it stages them): q0 [T, Hq*Dh],
  // k0 [T, Hkv*Dh]; v = [W_v x(t); W_v2 x(t-1)]  [T, Hkv*Dh]: the current half into attn_ [T, Vh], and
  // vd_ = W_v2 x(t) [T, Vh] for the successors.
  be_.norm_linears(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.attn_norm, h_.data()},
                   std::array{LinearArgs{t, d, hq * dh, h_.data(), lw.q, WeightView{}, q_.data()},
                              LinearArgs{t, d, hkv * dh, h_.data(), lw.k, WeightView{}, k_.data()},
                              LinearArgs{t, d, vh, h_.data(), lw.v, WeightView{}, attn_.data()},
                              LinearArgs{t, d, vh, h_.data(), lw.v_delayed, WeightView{}, vd_.data()}});
  // c0 = [q0; k0] into qk0_, the predecessors' c0 into c0p_/c0pp_, v_; then the ring stores.
  CcaStateArgs sa;
  sa.tokens = t, sa.q_width = hq * dh, sa.k_width = hkv * dh, sa.value_width = vh;
  sa.q0 = q_.data(), sa.k0 = k_.data(), sa.v_cur = attn_.data(), sa.vd = vd_.data();
  sa.prev1 = in_.device<RecurrentSource>(in_at_.prev1), sa.prev2 = in_.device<RecurrentSource>(in_at_.prev2);
  sa.seq = in_.device<int32_t>(in_at_.seq), sa.slot = in_.device<int32_t>(in_at_.slot);
  sa.ring = cache.recurrent(layer), sa.seq_stride = cache.recurrent_seq_stride(), sa.ring_size = cache.ring();
  sa.qk0 = qk0_.data(), sa.c0_prev = c0p_.data(), sa.c0_prev2 = c0pp_.data(), sa.v = v_.data();
  be_.cca_state(sa);

  be_.cca_conv(CcaConvArgs{t, hq + hkv, dh, qk0_.data(), c0p_.data(), c0pp_.data(), lw.conv1, lw.conv1_bias, lw.conv2,
                           lw.conv2_bias, conv_.data()});
  be_.cca_qk(CcaQkArgs{t, hq, hkv, dh, qk0_.data(), conv_.data(), lw.temperature, q_.data(), k_.data()});
  rope_cache_attend(lw, layer, t, max_keys, cache);                                    // [T, Hq*Dh] in attn_
  be_.linear(LinearArgs{t, hq * dh, d, attn_.data(), lw.o, WeightView{}, o_.data()});  // [T, D]
  be_.residual_scale(
      ResidualScaleArgs{t, d, o_.data(), lw.attn_h_scale, lw.attn_h_bias, lw.attn_r_scale, lw.attn_r_bias, x_.data()});
}

void Transformer::zaya_moe_block(const LayerWeights& lw, int layer, int t) {
  const int d = cfg_.hidden_size, r = cfg_.router_hidden_size;
  int32_t* expert = out_.device<int32_t>(out_at_.expert) + int64_t(layer) * t;  // [T] this layer's routes
  be_.rmsnorm(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.mlp_norm, h_.data()});
  ZayaRouterArgs ra;
  ra.tokens = t, ra.dim = d, ra.router_dim = r, ra.experts = cfg_.num_experts, ra.eps = cfg_.rms_norm_eps;
  ra.x = h_.data(), ra.state_in = layer == 0 ? nullptr : router_state_.data();
  ra.down = lw.router_down, ra.down_bias = lw.router_down_bias, ra.state_scale = lw.router_state_scale;
  ra.norm = lw.router_norm, ra.fc1 = lw.router_fc1, ra.fc1_bias = lw.router_fc1_bias;
  ra.fc2 = lw.router_fc2, ra.fc2_bias = lw.router_fc2_bias, ra.out = lw.router_out;
  ra.balancing_bias = lw.balancing_bias, ra.state_out = router_state_.data();
  ra.expert = expert, ra.weight = moe_weight_.data();
  be_.zaya_router(ra);
  be_.moe(MoeArgs{t, d, cfg_.intermediate_size, cfg_.num_experts, cfg_.skip_route, h_.data(), expert,
                  moe_weight_.data(), lw.experts_gate_up, lw.experts_down, down_.data(), gate_.data()});
  be_.residual_scale(
      ResidualScaleArgs{t, d, down_.data(), lw.mlp_h_scale, lw.mlp_h_bias, lw.mlp_r_scale, lw.mlp_r_bias, x_.data()});
}

// The MoE traffic of the pass from every layer's routes (read back with the pass's outputs).
int64_t Transformer::expert_bytes(int layer) const {
  return zaya_expert_bytes(cfg_, w_.layers.at(size_t(layer)).experts_gate_up.dtype);
}

void Transformer::count_moe_traffic(int t) {
  const int32_t* routes = out_.host<int32_t>(out_at_.expert);  // [Ly, T]
  moe_ = MoeTraffic{0, dense_bytes_, std::vector<int32_t>(routes, routes + size_t(cfg_.num_layers) * size_t(t))};
  for (int layer = 0; layer < cfg_.num_layers; ++layer) {
    const int n = distinct_experts(routes + size_t(layer) * size_t(t), size_t(t), cfg_.num_experts);
    moe_.experts += n;
    moe_.weight_bytes += n * expert_bytes(layer);
  }
}

}  // namespace dllm
