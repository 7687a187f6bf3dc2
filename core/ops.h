// One argument struct per op. The reference (ref/), the CPU kernels and the GPU kernels all take the
// same struct, so a kernel test fills one struct and runs both sides. Pointers are raw and owned by
// the caller; on a GPU backend they are device pointers. Shapes use core/dims.md.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/rope.h"

namespace dllm {

// A half-open range [begin, end) of token indices of one pass.
struct Interval {
  int32_t begin = 0;
  int32_t end = 0;
};

// What one token of a pass attends to: its sequence's committed cache slots [cache_begin, cache_len),
// then two intervals of the same pass, in that order (keys are always visited cache, first, second).
// This one form covers prefill, AR steps, TiDAR verify rows and proposal blocks, and batches of
// sequences (a single sequence's first interval is [0, a); a batch needs it anywhere in the pass).
// cache_begin is 0 except in a sliding-window layer (sliding_window_visibility, core/pass.h).
struct Visibility {
  int32_t cache_len = 0;
  Interval first;
  Interval second;
  int32_t cache_begin = 0;
  DLLM_HD int32_t keys() const {
    return cache_len - cache_begin + (first.end - first.begin) + (second.end - second.begin);
  }
};

// out[t] = table[ids[t]]
struct EmbeddingArgs {
  int tokens = 0, dim = 0;
  const int32_t* ids = nullptr;  // [T]
  WeightView table;              // [V, D]
  float* out = nullptr;          // [T, D]
};

// y = x / sqrt(mean(x^2) + eps) * weight, row by row. Also the q/k norm of Qwen3 (rows = T*H, dim = Dh).
struct RmsnormArgs {
  int rows = 0, dim = 0;
  float eps = 1e-6f;
  const float* x = nullptr;  // [rows, dim]
  WeightView weight;         // [dim]
  float* y = nullptr;        // [rows, dim]; may alias x
};

// y = x W^T + bias. Weights stored [Dout, Din] in f32, f16 or bf16; math in f32 (or f64 in ref).
struct LinearArgs {
  int tokens = 0, in = 0, out = 0;
  const float* x = nullptr;  // [T, Din]
  WeightView weight;         // [Dout, Din]
  WeightView bias;           // [Dout] or empty
  float* y = nullptr;        // [T, Dout]; must not alias x
};

// NeoX (rotate-half) rotary embedding on the first `rotary_dim` dims of every head, in place:
// pairs (i, i + R/2), angle = position * rope_inv_freq(theta, scaling, i, R) (core/rope.h).
struct RopeArgs {
  int tokens = 0, heads = 0, head_dim = 0, rotary_dim = 0;
  float theta = 10000.0f;
  const int32_t* positions = nullptr;  // [T]
  float* x = nullptr;                  // [T, H, Dh]
  RopeScaling scaling;                 // none: theta^(-2i/R) as is
  const int32_t* lengths = nullptr;    // [T] dynamic scaling: the length of each token's call, else null
};

// The KV cache holds f32 (the exact mode) or bf16 values (half the bytes to store and to read; the
// tensor-core attention rounds K and V to bf16 as it stages them, so for it nothing changes). Element
// i of a cache array as f32, and x stored there (bf16: rounded to nearest even).
DLLM_HD float kv_load(const void* cache, DType d, int64_t i) {
  return d == DType::bf16 ? bf16_to_f32(static_cast<const uint16_t*>(cache)[i]) : static_cast<const float*>(cache)[i];
}
DLLM_HD void kv_store(void* cache, DType d, int64_t i, float x) {
  if (d == DType::bf16)
    static_cast<uint16_t*>(cache)[i] = f32_to_bf16(x);
  else
    static_cast<float*>(cache)[i] = x;
}

// Softmax attention with GQA (query head h uses kv head h / (Hq/Hkv)) and Pass visibility.
// Keys/values of the cache come from k_cache/v_cache of the token's sequence; pass-local ones from
// k_pass/v_pass. Cache layout: sequence s, slot j at element s * seq_stride + j * Hkv * Dh of k_cache
// (kv_dtype values).
struct AttentionArgs {
  int tokens = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  const float* q = nullptr;         // [T, Hq, Dh]
  const float* k_pass = nullptr;    // [T, Hkv, Dh]
  const float* v_pass = nullptr;    // [T, Hkv, Dh]
  const Visibility* vis = nullptr;  // [T]
  const int32_t* seq = nullptr;     // [T] sequence of each token (cache row)
  const void* k_cache = nullptr;    // [B, S, Hkv, Dh] (this layer), may be null if all cache_len == 0
  const void* v_cache = nullptr;    // [B, S, Hkv, Dh]
  int64_t seq_stride = 0;           // elements between sequences in k_cache/v_cache
  DType kv_dtype = DType::f32;      // of k_cache and v_cache: f32 or bf16
  float* out = nullptr;             // [T, Hq, Dh]
  // The most keys any token sees (cache_len plus both interval lengths), or any larger bound: sizes
  // the GPU kernels' grid, which cannot read vis from the host. Required by the GPU backend; the
  // reference ignores it.
  int max_keys = 0;
  // The GPU kernels' scratch of Backend::attention_workspace_floats(*this) floats (null when that is
  // 0): partial states of a split over keys. The caller owns it, so a recorded pass keeps its pointer.
  float* workspace = nullptr;
};

// Stores the pass's K/V into cache slots; tokens with slot < 0 keep theirs pass-local (scratch).
struct KvWriteArgs {
  int tokens = 0, kv_heads = 0, head_dim = 0;
  const float* k = nullptr;       // [T, Hkv, Dh]
  const float* v = nullptr;       // [T, Hkv, Dh]
  const int32_t* seq = nullptr;   // [T]
  const int32_t* slot = nullptr;  // [T] cache slot, or -1 for scratch
  void* k_cache = nullptr;        // [B, S, Hkv, Dh] (this layer)
  void* v_cache = nullptr;
  int64_t seq_stride = 0;       // elements between sequences
  DType kv_dtype = DType::f32;  // of k_cache and v_cache: f32 or bf16
};

// RoPE on a pass's queries and keys, then its K/V into the cache: rope(q), rope(k), kv_write(kv), in
// that order, as one op (one kernel on the GPU). q and k turn with the same positions, rotary dims,
// theta, scaling and lengths; kv.k is k.x. With q_norm (k_norm), every head row of q.x (k.x) is first
// normalised in place by rmsnorm (Qwen3's q/k norm): head_norm(q, q_norm), head_norm(k, k_norm).
struct RopeKvWriteArgs {
  RopeArgs q;                     // x: [T, Hq, Dh]
  RopeArgs k;                     // x: [T, Hkv, Dh]
  KvWriteArgs kv;                 // k: k.x; v: [T, Hkv, Dh]
  WeightView q_norm{}, k_norm{};  // [Dh] each, or empty: no norm
  float norm_eps = 1e-6f;
  // The rmsnorm of x's head rows with `weight`, in place: rows = T*H, dim = Dh.
  RmsnormArgs head_norm(const RopeArgs& x, const WeightView& weight) const {
    return RmsnormArgs{x.tokens * x.heads, x.head_dim, norm_eps, x.x, weight, x.x};
  }
};

// out = silu(gate) * up
struct SwigluArgs {
  int rows = 0, dim = 0;
  const float* gate = nullptr;  // [rows, dim]
  const float* up = nullptr;    // [rows, dim]
  float* out = nullptr;         // [rows, dim]; may alias gate or up
};

// Linear on rmsnorm's rows: rmsnorm(norm), then linear with x = norm.y. norm.y is scratch (and so is
// norm.x where y aliases it): a GPU normalises each input while its linear kernel stages it and never
// writes the normalised rows (its first `rows` floats may hold the rows' factors).
struct NormLinearArgs {
  RmsnormArgs norm;   // rows = T, dim = Din; y [T, Din]
  LinearArgs linear;  // tokens = T, in = Din, x = norm.y
};

// Linear on swiglu's output: swiglu(act), then linear with x = act.out. act.out is scratch (and so is
// the gate or up it aliases): a GPU computes each input while its linear kernel stages it and leaves
// act.out unwritten.
struct SwigluLinearArgs {
  SwigluArgs act;     // rows = T, dim = Din; out [T, Din]
  LinearArgs linear;  // tokens = T, in = Din, x = act.out
};

// y += x (the residual stream)
struct AddArgs {
  int64_t n = 0;
  const float* x = nullptr;  // [n]
  float* y = nullptr;        // [n]
};

// Row-wise softmax of x / temperature.
struct SoftmaxArgs {
  int rows = 0, dim = 0;
  float temperature = 1.0f;
  const float* x = nullptr;  // [rows, dim]
  float* y = nullptr;        // [rows, dim]; may alias x
};

// Per row: the lowest index of the row's largest value (NaN never counts as largest; a row of NaN
// only gives 0), and how many of its values are not finite (NaN or +-Inf). Greedy decoding and the
// engine's NaN/Inf check of the logits read only these [rows] integers, never the rows themselves.
struct ArgmaxArgs {
  int rows = 0, dim = 0;
  const float* x = nullptr;       // [rows, dim]
  int32_t* index = nullptr;       // [rows]
  int32_t* non_finite = nullptr;  // [rows]
};

// How one row of logits becomes a token (the sample op). With a mix partner the row is first mixed,
// w * x + (1 - w) * mix elementwise in f32 with every product and the sum rounded (no fused
// multiply-add): TiDAR's logit mixing of an AR row with its draft's diffusion row. temperature 0: the
// row's argmax (ref::argmax). Otherwise the target distribution softmax(x / temperature), cut to the
// top_k most likely tokens (0: all) and then to the shortest prefix of those, by probability with
// ties to the lower id, whose mass reaches top_p of theirs (1: all), sampled by inverse CDF in
// token-id order with the uniform u: the first id whose cumulative probability exceeds u times the
// total.
// With a sampling drafter's row (temperature > 0): TiDAR's rejection sampling of the draft token d
// drawn from q = softmax(draft_row / draft_temperature). With p the target distribution above, the
// token is d when u_accept * q(d) <= p(d) (accepted with probability min(1, p/q)), else a sample of
// normalize(max(p - q, 0)) with u, which is never d.
struct RowDraw {
  float temperature = 0.0f;
  int32_t top_k = 0;
  float top_p = 1.0f;
  double u = 0.0;                    // in [0, 1)
  const float* mix = nullptr;        // [dim] the mix partner, or null
  float mix_weight = 1.0f;           // w
  const float* draft_row = nullptr;  // [dim] the sampling drafter's row, or null
  float draft_temperature = 0.0f;
  int32_t draft_token = 0;
  double u_accept = 0.0;  // in [0, 1)
};

// token[r] = the token row r draws under draws[r].
struct SampleArgs {
  int rows = 0, dim = 0;
  const float* x = nullptr;        // [rows, dim]
  const RowDraw* draws = nullptr;  // [rows]
  int32_t* token = nullptr;        // [rows]
};

// How far logit mixing moved a row's target distribution (the sample_divergence op): for each row whose draw has a mix
// partner, p = the row's own target distribution and q = the mixed row's (the draw's temperature, top-k and top-p;
// temperature 0 counts as a plain softmax), KL(p || q) in nats (q floored at 1e-300), total variation 0.5 * sum |p -
// q|, and whether the two rows' argmaxes agree. {0, 0, 1} without a partner.
struct MixDivergence {
  double kl = 0.0, tv = 0.0;
  int32_t same_top1 = 1;
};
struct SampleDivergenceArgs {
  int rows = 0, dim = 0;
  const float* x = nullptr;        // [rows, dim]
  const RowDraw* draws = nullptr;  // [rows]
  MixDivergence* out = nullptr;    // [rows]
};

// ---- ZAYA1 (engine/model/zaya.md). C = (Hq + Hkv) * Dh conv channels, one group
// per head; Vh = Hkv * Dh / 2 value-shift width; R router width; E experts.

// The two causal kernel-2 convolutions of CCA over c0 = [q0; k0], for tokens whose two conv
// predecessors are given explicitly (zero vectors before the start of the sequence):
//   c1(t) = w1[:, 0] * c0(t-1) + w1[:, 1] * c0(t) + b1           (depthwise)
//   y(t)  = w2[:, :, 0] c1(t-1) + w2[:, :, 1] c1(t) + b2         (full mixing within each head)
// c1(t-1) is recomputed from c0(t-2), c0(t-1), so c1 before the start is b1 (bias on zero padding).
struct CcaConvArgs {
  int tokens = 0, heads = 0, head_dim = 0;  // heads = Hq + Hkv groups of head_dim channels
  const float* x = nullptr;                 // [T, C] c0(t)
  const float* prev = nullptr;              // [T, C] c0(t-1)
  const float* prev2 = nullptr;             // [T, C] c0(t-2)
  WeightView w1;                            // [C, 2] (HF [C, 1, 2])
  WeightView b1;                            // [C]
  WeightView w2;                            // [C * Dh, 2] (HF [C, Dh, 2])
  WeightView b2;                            // [C]
  float* y = nullptr;                       // [T, C]; must not alias the inputs
};

// CCA's q/k after the convolution: the q/k mean term (qres[h] = (q0[h] + k0[h / G]) / 2,
// kres[j] = mean of qres over the G query heads of kv head j), added to the conv output, then L2
// normalisation to sqrt(Dh) (norm clamped at the f32 epsilon) and the per-kv-head temperature on k.
struct CcaQkArgs {
  int tokens = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  const float* qk0 = nullptr;   // [T, C] the projections [q0; k0]
  const float* conv = nullptr;  // [T, C] CcaConv output
  WeightView temperature;       // [Hkv]
  float* q = nullptr;           // [T, Hq, Dh]
  float* k = nullptr;           // [T, Hkv, Dh]
};

// The ZAYA1 router for top-1 routing over E experts plus the skip route (index E):
//   u = W_down x + b_down (+ state * state_scale when `state_in` is given), state_out = u,
//   p = softmax(W3 gelu(W2 gelu(W1 rmsnorm(u) + b1) + b2)), e = argmax(p + balancing_bias),
//   weight = p[e] (not renormalised).
struct ZayaRouterArgs {
  int tokens = 0, dim = 0, router_dim = 0, experts = 0;  // experts excludes the skip route
  float eps = 1e-5f;
  const float* x = nullptr;                 // [T, D]
  const float* state_in = nullptr;          // [T, R] previous layer's router state, or null (first layer)
  WeightView down, down_bias;               // [R, D], [R]
  WeightView state_scale;                   // [R] (with state_in)
  WeightView norm;                          // [R]
  WeightView fc1, fc1_bias, fc2, fc2_bias;  // [R, R], [R], [R, R], [R]
  WeightView out;                           // [E + 1, R]
  WeightView balancing_bias;                // [E + 1] (f32)
  float* state_out = nullptr;               // [T, R]; may alias state_in
  int32_t* expert = nullptr;                // [T] in [0, E]; E = skip
  float* weight = nullptr;                  // [T]
};

// What the skip route (router index E) outputs: zero (transformers, vLLM) or the input times its
// probability (Zyphra's legacy code). engine/model/zaya.md.
enum class SkipRoute { zero, identity };

// Where a token's recurrent predecessor (CCA's token t-1 or t-2 of its sequence) comes from: an
// earlier token of the pass (index: its pass index), a committed slot of its sequence, read from the
// state ring in the KV cache (index: the cache slot), or nothing before the start (zeros).
struct RecurrentSource {
  enum class Kind : int32_t { zero, pass, cache };
  Kind kind = Kind::zero;
  int32_t index = 0;
};

// CCA's recurrent inputs of one layer of a pass. For each token t: c0(t) = [q0(t); k0(t)] into qk0,
// the c0 of its predecessors prev1[t] and prev2[t] into c0_prev and c0_prev2, and its value
// [v_cur(t); vd(prev1[t])] into v (the value shift). Then every token with a cache slot stores its
// own [c0; vd] into ring entry slot % ring_size of its sequence; every gather reads the ring as it
// was before the call. Ring entry r of sequence s: ring[s * seq_stride + r * (C + Vh)], C + Vh floats.
struct CcaStateArgs {
  int tokens = 0, q_width = 0, k_width = 0, value_width = 0;  // Hq*Dh, Hkv*Dh, Vh; C = q_width + k_width
  const float* q0 = nullptr;                                  // [T, Hq*Dh]
  const float* k0 = nullptr;                                  // [T, Hkv*Dh]
  const float* v_cur = nullptr;                               // [T, Vh] W_v x(t)
  const float* vd = nullptr;                                  // [T, Vh] W_v2 x(t), the delayed value its successor uses
  const RecurrentSource* prev1 = nullptr;                     // [T] token t-1 of each token's sequence
  const RecurrentSource* prev2 = nullptr;                     // [T] token t-2
  const int32_t* seq = nullptr;                               // [T]
  const int32_t* slot = nullptr;                              // [T] cache slot, or -1 (scratch: not stored)
  float* ring = nullptr;                                      // [B, ring_size, C + Vh] (this layer)
  int64_t seq_stride = 0;                                     // floats between sequences in ring
  int ring_size = 0;
  float* qk0 = nullptr;       // [T, C]
  float* c0_prev = nullptr;   // [T, C]
  float* c0_prev2 = nullptr;  // [T, C]
  float* v = nullptr;         // [T, 2 * Vh] = [T, Hkv, Dh]
};

// Top-1 SwiGLU experts: y[t] = weight[t] * down_e(silu(gate_e x) * up_e x) with e = expert[t];
// the skip route gives 0 or weight[t] * x[t] (SkipRoute).
struct MoeArgs {
  int tokens = 0, dim = 0, ffn = 0, experts = 0;
  SkipRoute skip = SkipRoute::zero;
  const float* x = nullptr;         // [T, D]
  const int32_t* expert = nullptr;  // [T]
  const float* weight = nullptr;    // [T]
  WeightView gate_up;               // [E * 2F, D]: expert e's gate rows then its up rows (HF [E, 2F, D])
  WeightView down;                  // [E * D, F] (HF [E, D, F])
  float* y = nullptr;               // [T, D]
  // [T, F] silu(gate) * up of each token: the GPU kernel's workspace (required there); the reference
  // and the CPU backend ignore it.
  float* act = nullptr;
};

// ZAYA1's learned residual merge: r = (h + h_bias) * h_scale + (r + r_bias) * r_scale, per channel.
// Without r_scale (empty) it is the input scaling r = (h + h_bias) * h_scale.
struct ResidualScaleArgs {
  int tokens = 0, dim = 0;
  const float* h = nullptr;                     // [T, D]
  WeightView h_scale, h_bias, r_scale, r_bias;  // [D] each
  float* r = nullptr;                           // [T, D] in/out
};

}  // namespace dllm
