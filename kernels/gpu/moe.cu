// Top-1 SwiGLU experts (ref/moe.cpp), token by token: each token's FFN runs through its own expert's
// weights, in two launches through the [T, F] workspace act: silu(gate) * up, then the weighted down
// projection. Every output is one warp's fixed-order dot product, so a token's result does not depend
// on the other tokens of the pass.
//
// Correctness first: a pass of T tokens streams T experts' weights even where tokens share an expert.
// A grouped-by-expert version (tokens sorted by expert, one tile of tokens per touched expert) would
// read each touched expert once per pass and could use the matrix units: for a 17-token verify pass
// about 10 experts' weights instead of 17, and GEMM instead of GEMV arithmetic intensity.
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

inline constexpr int kMoeRows = 8;  // output rows per block (one per warp of 32, two per warp of 64)

// Block (rows r0.., token t): act[t, r] = silu(gate_e x_t)[r] * (up_e x_t)[r]; nothing for the skip route.
__global__ void moe_act_kernel(MoeArgs a) {
  const int t = int(blockIdx.y), e = a.expert[t];
  if (e == a.experts) return;
  const int f = a.ffn, lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  const int r0 = int(blockIdx.x) * kMoeRows, r_end = min(r0 + kMoeRows, f);
  const float* x = a.x + int64_t(t) * a.dim;
  for (int r = r0 + int(threadIdx.x) / kWarp; r < r_end; r += warps) {  // warp-uniform
    const float g = warp_dot(a.gate_up, int64_t(e) * 2 * f + r, x, a.dim);
    const float u = warp_dot(a.gate_up, int64_t(e) * 2 * f + f + r, x, a.dim);
    if (lane == 0) a.act[int64_t(t) * f + r] = g / (1.0f + expf(-g)) * u;
  }
}

// Block (outputs o0.., token t): y[t, o] = weight[t] * (down_e act_t)[o]; the skip route gives 0 or
// weight[t] * x[t, o].
__global__ void moe_down_kernel(MoeArgs a) {
  const int t = int(blockIdx.y), e = a.expert[t], d = a.dim;
  const float w = a.weight[t];
  const int o0 = int(blockIdx.x) * kMoeRows, o_end = min(o0 + kMoeRows, d);
  float* y = a.y + int64_t(t) * d;
  if (e == a.experts) {
    for (int o = o0 + int(threadIdx.x); o < o_end; o += int(blockDim.x))
      y[o] = a.skip == SkipRoute::identity ? w * a.x[int64_t(t) * d + o] : 0.0f;
    return;
  }
  const int lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  const float* act = a.act + int64_t(t) * a.ffn;
  for (int o = o0 + int(threadIdx.x) / kWarp; o < o_end; o += warps) {  // warp-uniform
    const float s = warp_dot(a.down, int64_t(e) * d + o, act, a.ffn);
    if (lane == 0) y[o] = w * s;
  }
}

}  // namespace

void moe(const MoeArgs& a) {
  if (a.tokens == 0) return;
  DLLM_ASSERT(a.act != nullptr);  // the [T, F] workspace
  DLLM_CHECK(a.tokens <= 65535, "the GPU MoE kernel takes at most 65535 tokens per pass, got ", a.tokens);
  const dim3 act_grid(unsigned(blocks_for(a.ffn, kMoeRows)), unsigned(a.tokens));
  if (a.ffn > 0) {
    DLLM_LAUNCH(act_grid, kBlockThreads, moe_act_kernel)(a);
    DLLM_GPU_LAUNCHED("moe act");
  }
  const dim3 down_grid(unsigned(blocks_for(a.dim, kMoeRows)), unsigned(a.tokens));
  if (a.dim > 0) {
    DLLM_LAUNCH(down_grid, kBlockThreads, moe_down_kernel)(a);
    DLLM_GPU_LAUNCHED("moe down");
  }
}

}  // namespace dllm::gpu
