#include <climits>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

inline constexpr int kThreads = 256;
inline constexpr int kMaxWarps = kThreads / 32;
inline constexpr int kDimsPerLane = kMaxHeadDim / kWarp;

// Key j of a token's visible list (cache slots from cache_begin, then the first interval, then the
// second; the reference's order) for kv head `kvh`: the rows of K and V.
struct KeyRef {
  const float* k;
  const float* v;
};
__device__ inline KeyRef key_at(const AttentionArgs& a, const Visibility& vis, int t, int kvh, int j) {
  const int64_t row = int64_t(a.kv_heads) * a.head_dim, off = int64_t(kvh) * a.head_dim;
  const int cached = vis.cache_len - vis.cache_begin;
  if (j < cached) {
    const int64_t base = int64_t(a.seq[t]) * a.seq_stride + (vis.cache_begin + j) * row + off;
    return {a.k_cache + base, a.v_cache + base};
  }
  j -= cached;
  const int n1 = vis.first.end - vis.first.begin;
  const int p = j < n1 ? vis.first.begin + j : vis.second.begin + (j - n1);
  return {a.k_pass + p * row + off, a.v_pass + p * row + off};
}

// One block per (token, group of up to kGroupHeads query heads sharing a kv head, chunk of `chunk`
// keys): each key's K and V rows are read once for all the heads of the group. Warps take keys
// round-robin with an online softmax per head; the warps' states are then merged in warp order. Each
// head's arithmetic is the same whatever the group (a head's own dot product, softmax and sums, in
// the same order), so the result depends only on the token's own keys and the chunk size, never on
// the pass size. PARTIAL: write each head's unnormalised state (max, sum, out[Dh]) of the chunk for
// attention_merge_kernel; else write the final output.
inline constexpr int kGroupHeads = 4;

template <bool PARTIAL>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionArgs a, int chunk, float* partial) {
  __shared__ float q_s[kGroupHeads][kMaxHeadDim];
  __shared__ float m_s[kMaxWarps][kGroupHeads], l_s[kMaxWarps][kGroupHeads];
  __shared__ float o_s[kMaxWarps][kGroupHeads][kMaxHeadDim];
  const int group = a.q_heads / a.kv_heads, groups_per_kv = (group + kGroupHeads - 1) / kGroupHeads;
  const int t = int(blockIdx.x), kvh = int(blockIdx.y) / groups_per_kv;
  const int h0 = kvh * group + int(blockIdx.y) % groups_per_kv * kGroupHeads;  // the block's first head
  const int heads = min(kGroupHeads, (kvh + 1) * group - h0);
  const int c = int(blockIdx.z), chunks = int(gridDim.z);
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp, warps = int(blockDim.x) / kWarp;
  const int dh = a.head_dim;
  const Visibility vis = a.vis[t];
  const int n_keys = vis.keys();
  const int begin = c * chunk, end = min(n_keys, begin + chunk);
  const float* q = a.q + (int64_t(t) * a.q_heads + h0) * dh;
  for (int i = int(threadIdx.x); i < heads * dh; i += int(blockDim.x)) q_s[i / dh][i % dh] = q[i];
  __syncthreads();

  float m[kGroupHeads], l[kGroupHeads], acc[kGroupHeads][kDimsPerLane] = {};
  for (int g = 0; g < kGroupHeads; ++g) m[g] = -INFINITY, l[g] = 0.0f;
  for (int j = begin + warp; j < end; j += warps) {
    const KeyRef kv = key_at(a, vis, t, kvh, j);
    for (int g = 0; g < kGroupHeads; ++g) {
      if (g >= heads) break;
      float dot = 0.0f;
      for (int d = lane; d < dh; d += kWarp) dot += q_s[g][d] * kv.k[d];
      const float s = warp_sum(dot) * a.scale;
      const float m_new = fmaxf(m[g], s), corr = expf(m[g] - m_new), p = expf(s - m_new);
      l[g] = l[g] * corr + p;
      for (int r = 0; r < kDimsPerLane; ++r) {
        const int d = lane + r * kWarp;
        if (d < dh) acc[g][r] = acc[g][r] * corr + p * kv.v[d];
      }
      m[g] = m_new;
    }
  }
  for (int g = 0; g < heads; ++g) {
    if (lane == 0) m_s[warp][g] = m[g], l_s[warp][g] = l[g];
    for (int r = 0; r < kDimsPerLane; ++r) {
      const int d = lane + r * kWarp;
      if (d < dh) o_s[warp][g][d] = acc[g][r];
    }
  }
  __syncthreads();

  // Merge the warps in order, per head; a warp (or a whole chunk) with no keys has max -inf and
  // weighs 0.
  for (int g = 0; g < heads; ++g) {
    const int h = h0 + g;
    float big = -INFINITY;
    for (int w = 0; w < warps; ++w) big = fmaxf(big, m_s[w][g]);
    float sum = 0.0f;
    for (int w = 0; w < warps; ++w) sum += m_s[w][g] == -INFINITY ? 0.0f : l_s[w][g] * expf(m_s[w][g] - big);
    for (int d = int(threadIdx.x); d < dh; d += int(blockDim.x)) {
      float o = 0.0f;
      for (int w = 0; w < warps; ++w) o += m_s[w][g] == -INFINITY ? 0.0f : o_s[w][g][d] * expf(m_s[w][g] - big);
      if constexpr (PARTIAL) {
        float* part = partial + ((int64_t(t) * a.q_heads + h) * chunks + c) * (dh + 2);
        if (d == 0) part[0] = big, part[1] = sum;
        part[2 + d] = o;
      } else
        a.out[(int64_t(t) * a.q_heads + h) * dh + d] = sum > 0.0f ? o / sum : 0.0f;  // sees nothing: 0
    }
  }
}

// Merges the chunks of a (token, head) in chunk order.
__global__ void attention_merge_kernel(AttentionArgs a, int chunks, const float* partial) {
  const int t = int(blockIdx.x), h = int(blockIdx.y), dh = a.head_dim;
  const float* part = partial + (int64_t(t) * a.q_heads + h) * chunks * (dh + 2);
  float big = -INFINITY;
  for (int c = 0; c < chunks; ++c) big = fmaxf(big, part[c * (dh + 2)]);
  float sum = 0.0f;
  for (int c = 0; c < chunks; ++c) {
    const float mc = part[c * (dh + 2)];
    if (mc != -INFINITY) sum += part[c * (dh + 2) + 1] * expf(mc - big);
  }
  for (int d = int(threadIdx.x); d < dh; d += int(blockDim.x)) {
    float o = 0.0f;
    for (int c = 0; c < chunks; ++c) {
      const float mc = part[c * (dh + 2)];
      if (mc != -INFINITY) o += part[c * (dh + 2) + 2 + d] * expf(mc - big);
    }
    a.out[(int64_t(t) * a.q_heads + h) * dh + d] = sum > 0.0f ? o / sum : 0.0f;
  }
}

}  // namespace

int attention_chunks(const AttentionArgs& a) { return a.max_keys > 0 ? blocks_for(a.max_keys, kAttentionChunk) : 1; }

size_t attention_workspace_floats(const AttentionArgs& a) {
  return size_t(a.tokens) * size_t(a.q_heads) * size_t(attention_chunks(a)) * size_t(a.head_dim + 2);
}

AttentionVariant pick_attention(const AttentionArgs& a, Reduction r) {
  if (r == Reduction::invariant) return AttentionVariant::split_keys;
  return a.tokens * a.q_heads < 1024 ? AttentionVariant::split_keys : AttentionVariant::single_pass;
}

void attention(const AttentionArgs& a, AttentionVariant v) {
  DLLM_CHECK(a.head_dim <= kMaxHeadDim, "GPU attention takes head_dim up to ", kMaxHeadDim, ", the model has ",
             a.head_dim, ": run it with --backend cpu");
  DLLM_ASSERT(a.kv_heads > 0 && a.q_heads % a.kv_heads == 0 && a.max_keys >= 0);
  if (a.tokens == 0) return;
  const int group = a.q_heads / a.kv_heads;
  const unsigned head_blocks = unsigned(a.kv_heads * ((group + kGroupHeads - 1) / kGroupHeads));
  if (v == AttentionVariant::single_pass) {
    DLLM_LAUNCH(dim3(unsigned(a.tokens), head_blocks, 1), kThreads, attention_kernel<false>)
    (a, INT_MAX, nullptr);
    DLLM_GPU_LAUNCHED("attention");
    return;
  }
  const int chunks = attention_chunks(a);
  DLLM_ASSERT(a.workspace != nullptr);  // attention_workspace_floats(a) floats
  float* part = a.workspace;
  DLLM_LAUNCH(dim3(unsigned(a.tokens), head_blocks, unsigned(chunks)), kThreads, attention_kernel<true>)
  (a, kAttentionChunk, part);
  DLLM_GPU_LAUNCHED("attention (split keys)");
  DLLM_LAUNCH(dim3(unsigned(a.tokens), unsigned(a.q_heads)), 128, attention_merge_kernel)(a, chunks, part);
  DLLM_GPU_LAUNCHED("attention merge");
}

}  // namespace dllm::gpu
