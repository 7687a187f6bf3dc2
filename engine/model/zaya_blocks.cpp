// The ZAYA1 layer of Transformer::forward (../shared/reference/algorithms.md §3-4,
// engine/model/zaya.md): CCA attention with its recurrent state in the KV cache, then the top-1 MoE
// with the ZAYA router, each merged into the f32 residual stream by learned residual scaling.
#include <algorithm>

#include "engine/core/check.h"
#include "engine/model/transformer.h"
#include "engine/model/zaya.h"

namespace dllm {

// Token t-1 of each token's sequence (prev1_) and token t-2 (prev2_): a token of this pass, a cache
// slot of the committed tokens, or nothing (before the start of the sequence).
void Transformer::zaya_sources(const Pass& pass) {
  const int t = pass.size();
  prev1_.resize(size_t(t)), prev2_.resize(size_t(t));
  auto committed = [](int32_t slot) {
    return slot >= 0 ? Source{Source::Kind::cache, slot} : Source{Source::Kind::zero, 0};
  };
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    if (p.prev == kAfterCache) {
      prev1_[size_t(i)] = committed(p.vis.cache_len - 1);
      prev2_[size_t(i)] = committed(p.vis.cache_len - 2);
    } else {
      prev1_[size_t(i)] = Source{Source::Kind::pass, p.prev};
      prev2_[size_t(i)] = prev1_[size_t(p.prev)];
    }
  }
}

void Transformer::zaya_attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache) {
  const int d = cfg_.hidden_size, hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  const int ch = cfg_.cca_channels(), vh = cfg_.value_shift_width();
  DLLM_ASSERT(cache.recurrent_width() == ch + vh);
  const size_t tc = size_t(t) * ch;
  h_.resize(size_t(t) * d), qk0_.resize(tc), c0p_.resize(tc), c0pp_.resize(tc), conv_.resize(tc);
  q_.resize(size_t(t) * hq * dh), k_.resize(size_t(t) * hkv * dh), v_.resize(k_.size());
  vd_.resize(size_t(t) * vh), attn_.resize(q_.size()), o_.resize(size_t(t) * d);

  be_.rmsnorm(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.attn_norm, h_.data()});  // [T, D]
  // c0 = [q0; k0]  [T, C]: project into q_/k_, then interleave per token.
  be_.linear(LinearArgs{t, d, hq * dh, h_.data(), lw.q, WeightView{}, q_.data()});
  be_.linear(LinearArgs{t, d, hkv * dh, h_.data(), lw.k, WeightView{}, k_.data()});
  for (int i = 0; i < t; ++i) {
    std::copy_n(q_.data() + int64_t(i) * hq * dh, hq * dh, qk0_.begin() + int64_t(i) * ch);
    std::copy_n(k_.data() + int64_t(i) * hkv * dh, hkv * dh, qk0_.begin() + int64_t(i) * ch + hq * dh);
  }
  // v = [W_v x(t); W_v2 x(t-1)]  [T, Hkv*Dh]: the current half now, vd_ = W_v2 x(t) for successors.
  be_.linear(LinearArgs{t, d, vh, h_.data(), lw.v, WeightView{}, attn_.data()});
  be_.linear(LinearArgs{t, d, vh, h_.data(), lw.v_delayed, WeightView{}, vd_.data()});

  // Gather each token's predecessors' [c0; vd] before this pass overwrites any ring entry.
  auto gather = [&](const Source& s, int seq, float* c0, float* vd) {
    const float* c0_src = nullptr;
    const float* vd_src = nullptr;
    if (s.kind == Source::Kind::pass) {
      c0_src = qk0_.data() + int64_t(s.index) * ch, vd_src = vd_.data() + int64_t(s.index) * vh;
    } else if (s.kind == Source::Kind::cache) {
      c0_src = cache.recurrent_read(layer, seq, s.index), vd_src = c0_src + ch;
    }
    c0_src ? std::copy_n(c0_src, ch, c0) : std::fill_n(c0, ch, 0.0f);
    if (vd) vd_src ? std::copy_n(vd_src, vh, vd) : std::fill_n(vd, vh, 0.0f);
  };
  for (int i = 0; i < t; ++i) {
    float* v = v_.data() + int64_t(i) * 2 * vh;
    std::copy_n(attn_.data() + int64_t(i) * vh, vh, v);
    gather(prev1_[size_t(i)], seq_h_[size_t(i)], c0p_.data() + int64_t(i) * ch, v + vh);
    gather(prev2_[size_t(i)], seq_h_[size_t(i)], c0pp_.data() + int64_t(i) * ch, nullptr);
  }
  for (int i = 0; i < t; ++i) {
    if (slot_h_[size_t(i)] < 0) continue;
    float* r = cache.recurrent_write(layer, seq_h_[size_t(i)], slot_h_[size_t(i)]);
    std::copy_n(qk0_.begin() + int64_t(i) * ch, ch, r);
    std::copy_n(vd_.begin() + int64_t(i) * vh, vh, r + ch);
  }

  be_.cca_conv(CcaConvArgs{t, hq + hkv, dh, qk0_.data(), c0p_.data(), c0pp_.data(), lw.conv1, lw.conv1_bias,
                           lw.conv2, lw.conv2_bias, conv_.data()});
  be_.cca_qk(CcaQkArgs{t, hq, hkv, dh, qk0_.data(), conv_.data(), lw.temperature, q_.data(), k_.data()});
  rope_cache_attend(layer, t, max_keys, cache);  // [T, Hq*Dh] in attn_
  be_.linear(LinearArgs{t, hq * dh, d, attn_.data(), lw.o, WeightView{}, o_.data()});  // [T, D]
  be_.residual_scale(ResidualScaleArgs{t, d, o_.data(), lw.attn_h_scale, lw.attn_h_bias, lw.attn_r_scale,
                                       lw.attn_r_bias, x_.data()});
}

void Transformer::zaya_moe_block(const LayerWeights& lw, int layer, int t) {
  const int d = cfg_.hidden_size, r = cfg_.router_hidden_size;
  router_state_.resize(size_t(t) * r), expert_.resize(size_t(t)), moe_weight_.resize(size_t(t));
  down_.resize(size_t(t) * d);
  be_.rmsnorm(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.mlp_norm, h_.data()});
  ZayaRouterArgs ra;
  ra.tokens = t, ra.dim = d, ra.router_dim = r, ra.experts = cfg_.num_experts, ra.eps = cfg_.rms_norm_eps;
  ra.x = h_.data(), ra.state_in = layer == 0 ? nullptr : router_state_.data();
  ra.down = lw.router_down, ra.down_bias = lw.router_down_bias, ra.state_scale = lw.router_state_scale;
  ra.norm = lw.router_norm, ra.fc1 = lw.router_fc1, ra.fc1_bias = lw.router_fc1_bias;
  ra.fc2 = lw.router_fc2, ra.fc2_bias = lw.router_fc2_bias, ra.out = lw.router_out;
  ra.balancing_bias = lw.balancing_bias, ra.state_out = router_state_.data();
  ra.expert = expert_.data(), ra.weight = moe_weight_.data();
  be_.zaya_router(ra);
  std::vector<bool> touched(size_t(cfg_.num_experts), false);
  for (int32_t e : expert_)
    if (e < cfg_.num_experts && !touched[size_t(e)]) {
      touched[size_t(e)] = true;
      ++moe_.experts;
      moe_.weight_bytes += zaya_expert_bytes(cfg_, lw.experts_gate_up.dtype);
    }
  be_.moe(MoeArgs{t, d, cfg_.intermediate_size, cfg_.num_experts, cfg_.skip_route, h_.data(), expert_.data(),
                  moe_weight_.data(), lw.experts_gate_up, lw.experts_down, down_.data()});
  be_.residual_scale(ResidualScaleArgs{t, d, down_.data(), lw.mlp_h_scale, lw.mlp_h_bias, lw.mlp_r_scale,
                                       lw.mlp_r_bias, x_.data()});
}

}  // namespace dllm
