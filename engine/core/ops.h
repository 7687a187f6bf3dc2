// One argument struct per op. The reference (ref/), the CPU kernels and the GPU kernels all take the
// same struct, so a kernel test fills one struct and runs both sides. Pointers are raw and owned by
// the caller; on a GPU backend they are device pointers. Shapes use engine/core/dims.md.
#pragma once
#include <cstdint>

#include "engine/core/dtype.h"

namespace dllm {

// A half-open range [begin, end) of token indices of one pass.
struct Interval {
  int32_t begin = 0;
  int32_t end = 0;
};

// What one token of a pass attends to: its sequence's committed cache [0, cache_len), then two
// intervals of the same pass, in that order (keys are always visited cache, first, second). This
// one form covers prefill, AR steps, TiDAR verify rows and proposal blocks, and batches of
// sequences (DESIGN §3 writes the first interval as [0, a); a batch needs it anywhere in the pass).
struct Visibility {
  int32_t cache_len = 0;
  Interval first;
  Interval second;
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
// pairs (i, i + R/2), angle = position * theta^(-2i/R).
struct RopeArgs {
  int tokens = 0, heads = 0, head_dim = 0, rotary_dim = 0;
  float theta = 10000.0f;
  const int32_t* positions = nullptr;  // [T]
  float* x = nullptr;                  // [T, H, Dh]
};

// Softmax attention with GQA (query head h uses kv head h / (Hq/Hkv)) and Pass visibility.
// Keys/values of the cache come from k_cache/v_cache of the token's sequence; pass-local ones from
// k_pass/v_pass. Cache layout: sequence s, slot j at k_cache[s * seq_stride + j * Hkv * Dh].
struct AttentionArgs {
  int tokens = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  const float* q = nullptr;         // [T, Hq, Dh]
  const float* k_pass = nullptr;    // [T, Hkv, Dh]
  const float* v_pass = nullptr;    // [T, Hkv, Dh]
  const Visibility* vis = nullptr;  // [T]
  const int32_t* seq = nullptr;     // [T] sequence of each token (cache row)
  const float* k_cache = nullptr;   // [B, S, Hkv, Dh] (this layer), may be null if all cache_len == 0
  const float* v_cache = nullptr;   // [B, S, Hkv, Dh]
  int64_t seq_stride = 0;           // floats between sequences in k_cache/v_cache
  float* out = nullptr;             // [T, Hq, Dh]
  // The most keys any token sees (cache_len plus both interval lengths): sizes the GPU kernels' grid,
  // which cannot read vis from the host. Required by the GPU backend; the reference ignores it.
  int max_keys = 0;
};

// Stores the pass's K/V into cache slots; tokens with slot < 0 keep theirs pass-local (scratch).
struct KvWriteArgs {
  int tokens = 0, kv_heads = 0, head_dim = 0;
  const float* k = nullptr;       // [T, Hkv, Dh]
  const float* v = nullptr;       // [T, Hkv, Dh]
  const int32_t* seq = nullptr;   // [T]
  const int32_t* slot = nullptr;  // [T] cache slot, or -1 for scratch
  float* k_cache = nullptr;       // [B, S, Hkv, Dh] (this layer)
  float* v_cache = nullptr;
  int64_t seq_stride = 0;
};

// out = silu(gate) * up
struct SwigluArgs {
  int rows = 0, dim = 0;
  const float* gate = nullptr;  // [rows, dim]
  const float* up = nullptr;    // [rows, dim]
  float* out = nullptr;         // [rows, dim]; may alias gate or up
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

}  // namespace dllm
