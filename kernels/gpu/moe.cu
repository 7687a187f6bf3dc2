// Top-1 SwiGLU experts (ref/moe.cpp), grouped by expert: the pass's tokens are cut into chunks of up
// to kMoeGroup tokens that share an expert (experts in order, tokens in pass order within one), and a
// block reads each of its weight rows once for its whole chunk. A 17-token verify pass that touches
// 10 experts streams about 10 experts' weights, not 17. Two launches through the [T, F] workspace act:
// silu(gate) * up, then the weighted down projection. Every output is one warp's dot product in
// warp_dot's fixed order (lane l sums elements l, l + kWarp, ..., then the butterfly) for that token
// alone, so a token's result does not depend on the other tokens of the pass or of its chunk.
//
// Each block finds its chunk itself from the [T] routes (counts per expert, then a scan): no
// workspace and no host round trip; the grid has room for the most chunks a pass can have.
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

inline constexpr int kMoeRows = 8;   // output rows per block (one per warp of 32, two per warp of 64)
inline constexpr int kMoeGroup = 4;  // tokens of one expert per block: each weight row read once for them

// The most chunks T tokens over E experts and the skip route can form: sum over routes of
// ceil(n / G) <= T / G + (routes used) <= ceil(T / G) + min(E + 1, T).
int max_chunks(int tokens, int experts) {
  return blocks_for(tokens, kMoeGroup) + (experts + 1 < tokens ? experts + 1 : tokens);
}

// This block's chunk (blockIdx.y): its route (an expert, or `experts` for the skip route) and up to
// kMoeGroup tokens in pass order; count 0 when the pass has fewer chunks. Routes in [0, experts].
struct Chunk {
  int route, count;
  int tokens[kMoeGroup];
};

__device__ void find_chunk(const MoeArgs& a, Chunk& chunk, int* per_route) {
  const int routes = a.experts + 1;
  for (int r = int(threadIdx.x); r < routes; r += int(blockDim.x)) {
    int n = 0;
    for (int t = 0; t < a.tokens; ++t) n += a.expert[t] == r;
    per_route[r] = n;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    chunk.route = 0, chunk.count = 0;
    int c = int(blockIdx.y);
    for (int r = 0; r < routes; ++r) {
      const int chunks = (per_route[r] + kMoeGroup - 1) / kMoeGroup;
      if (c >= chunks) {
        c -= chunks;
        continue;
      }
      chunk.route = r;  // chunk c of route r: its tokens c * G .. c * G + G - 1, in pass order
      for (int t = 0, seen = 0; t < a.tokens && chunk.count < kMoeGroup; ++t) {
        if (a.expert[t] != r) continue;
        if (seen++ >= c * kMoeGroup) chunk.tokens[chunk.count++] = t;
      }
      break;
    }
  }
  __syncthreads();
}

// One warp's dot products of weight row `row` with x[tokens[k] * stride ..] for the chunk's tokens,
// each in warp_dot's order: bitwise what warp_dot gives each token alone. Every lane must call it.
__device__ inline void warp_dots(const WeightView& w, int64_t row, const float* x, int64_t stride, const Chunk& chunk,
                                 int n, float* out) {
  float s[kMoeGroup] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = int(threadIdx.x) % kWarp; i < n; i += kWarp) {
    const float wi = w.at(row, i);
    for (int k = 0; k < chunk.count; ++k) s[k] += wi * x[chunk.tokens[k] * stride + i];
  }
  for (int k = 0; k < chunk.count; ++k) out[k] = warp_sum(s[k]);
}

// Block (rows r0.., chunk): act[t, r] = silu(gate_e x_t)[r] * (up_e x_t)[r]; nothing for the skip route.
__global__ void moe_act_kernel(MoeArgs a) {
  __shared__ Chunk chunk;
  __shared__ int per_route[kMaxExperts + 1];
  find_chunk(a, chunk, per_route);
  const int e = chunk.route;
  if (chunk.count == 0 || e == a.experts) return;
  const int f = a.ffn, lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  const int r0 = int(blockIdx.x) * kMoeRows, r_end = min(r0 + kMoeRows, f);
  for (int r = r0 + int(threadIdx.x) / kWarp; r < r_end; r += warps) {  // warp-uniform
    float g[kMoeGroup], u[kMoeGroup];
    warp_dots(a.gate_up, int64_t(e) * 2 * f + r, a.x, a.dim, chunk, a.dim, g);
    warp_dots(a.gate_up, int64_t(e) * 2 * f + f + r, a.x, a.dim, chunk, a.dim, u);
    if (lane == 0)
      for (int k = 0; k < chunk.count; ++k)
        a.act[int64_t(chunk.tokens[k]) * f + r] = g[k] / (1.0f + expf(-g[k])) * u[k];
  }
}

// Block (outputs o0.., chunk): y[t, o] = weight[t] * (down_e act_t)[o]; the skip route gives 0 or
// weight[t] * x[t, o].
__global__ void moe_down_kernel(MoeArgs a) {
  __shared__ Chunk chunk;
  __shared__ int per_route[kMaxExperts + 1];
  find_chunk(a, chunk, per_route);
  const int e = chunk.route, d = a.dim;
  if (chunk.count == 0) return;
  const int o0 = int(blockIdx.x) * kMoeRows, o_end = min(o0 + kMoeRows, d);
  if (e == a.experts) {
    for (int k = 0; k < chunk.count; ++k) {
      const int t = chunk.tokens[k];
      for (int o = o0 + int(threadIdx.x); o < o_end; o += int(blockDim.x))
        a.y[int64_t(t) * d + o] = a.skip == SkipRoute::identity ? a.weight[t] * a.x[int64_t(t) * d + o] : 0.0f;
    }
    return;
  }
  const int lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  for (int o = o0 + int(threadIdx.x) / kWarp; o < o_end; o += warps) {  // warp-uniform
    float s[kMoeGroup];
    warp_dots(a.down, int64_t(e) * d + o, a.act, a.ffn, chunk, a.ffn, s);
    if (lane == 0)
      for (int k = 0; k < chunk.count; ++k) a.y[int64_t(chunk.tokens[k]) * d + o] = a.weight[chunk.tokens[k]] * s[k];
  }
}

}  // namespace

void moe(const MoeArgs& a) {
  if (a.tokens == 0) return;
  DLLM_ASSERT(a.act != nullptr);  // the [T, F] workspace
  DLLM_CHECK(a.experts <= kMaxExperts, "the GPU MoE kernel takes at most ", kMaxExperts, " experts, got ", a.experts);
  const int chunks = max_chunks(a.tokens, a.experts);
  DLLM_CHECK(chunks <= 65535, "the GPU MoE kernel takes at most 65535 chunks of tokens per pass, got ", chunks);
  const dim3 act_grid(unsigned(blocks_for(a.ffn, kMoeRows)), unsigned(chunks));
  if (a.ffn > 0) {
    DLLM_LAUNCH(act_grid, kBlockThreads, moe_act_kernel)(a);
    DLLM_GPU_LAUNCHED("moe act");
  }
  const dim3 down_grid(unsigned(blocks_for(a.dim, kMoeRows)), unsigned(chunks));
  if (a.dim > 0) {
    DLLM_LAUNCH(down_grid, kBlockThreads, moe_down_kernel)(a);
    DLLM_GPU_LAUNCHED("moe down");
  }
}

}  // namespace dllm::gpu
