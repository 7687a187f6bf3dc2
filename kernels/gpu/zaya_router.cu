// The ZAYA1 router (ref/zaya_router.cpp): one block per token runs the whole chain (down projection
// with the carried state, RMSNorm, the two GELU layers, the class logits, softmax and the biased
// argmax) in shared memory. Every dot product is one warp's fixed-order sum, so a token's route does
// not depend on the other tokens of the pass.
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// Exact (erf) GELU, as torch.nn.GELU().
__device__ inline float gelu(float v) { return 0.5f * v * (1.0f + erff(v / sqrtf(2.0f))); }

// y[r] = f(dot(w row r, x) + bias[r]) for r < rows, one warp per row (a warp-uniform loop); f is GELU
// when `activate`. x and y are shared arrays of the block.
__device__ inline void router_layer(const WeightView& w, const WeightView& bias, const float* x, int in, int rows,
                                    bool activate, float* y) {
  const int lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  for (int r = int(threadIdx.x) / kWarp; r < rows; r += warps) {
    const float s = warp_dot(w, r, x, in);
    if (lane == 0) {
      const float v = bias.empty() ? s : s + bias.at(0, r);
      y[r] = activate ? gelu(v) : v;
    }
  }
}

__global__ void __launch_bounds__(kBlockThreads) zaya_router_kernel(ZayaRouterArgs a) {
  __shared__ float u[kMaxRouterDim];  // the state, then the fc1 output
  __shared__ float h[kMaxRouterDim];  // the normed state, then the fc2 output
  __shared__ float logits[kMaxExperts + 1];
  __shared__ float scratch[1024 / 32];
  const int t = int(blockIdx.x), r = a.router_dim, classes = a.experts + 1;
  const int lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  // u = W_down x + b_down (+ state_in * state_scale); state_out = u (each element read, then written,
  // by the same lane: state_out may alias state_in).
  const float* x = a.x + int64_t(t) * a.dim;
  for (int i = int(threadIdx.x) / kWarp; i < r; i += warps) {
    const float s = warp_dot(a.down, i, x, a.dim);
    if (lane == 0) {
      float v = s + a.down_bias.at(0, i);
      if (a.state_in) v = v + a.state_in[int64_t(t) * r + i] * a.state_scale.at(0, i);
      u[i] = v;
      a.state_out[int64_t(t) * r + i] = v;
    }
  }
  __syncthreads();
  float ss = 0.0f;
  for (int i = int(threadIdx.x); i < r; i += int(blockDim.x)) ss += u[i] * u[i];
  ss = block_sum(ss, scratch);
  const float inv = 1.0f / sqrtf(ss / float(r) + a.eps);
  for (int i = int(threadIdx.x); i < r; i += int(blockDim.x)) h[i] = a.norm.at(0, i) * (u[i] * inv);
  __syncthreads();
  router_layer(a.fc1, a.fc1_bias, h, r, r, true, u);
  __syncthreads();
  router_layer(a.fc2, a.fc2_bias, u, r, r, true, h);
  __syncthreads();
  router_layer(a.out, WeightView{}, h, r, classes, false, logits);
  __syncthreads();
  if (threadIdx.x != 0) return;
  // Softmax and the choice in class order, as the reference; the bias changes the choice only.
  float max = logits[0];
  for (int e = 1; e < classes; ++e) max = fmaxf(max, logits[e]);
  float sum = 0.0f;
  for (int e = 0; e < classes; ++e) sum += expf(logits[e] - max);
  int best = 0;
  float best_p = 0.0f, best_score = 0.0f;
  for (int e = 0; e < classes; ++e) {
    const float p = expf(logits[e] - max) / sum;
    const float score = p + a.balancing_bias.at(0, e);
    if (e == 0 || score > best_score) best = e, best_p = p, best_score = score;
  }
  a.expert[t] = best;
  a.weight[t] = best_p;
}

}  // namespace

void zaya_router(const ZayaRouterArgs& a) {
  DLLM_CHECK(a.router_dim <= kMaxRouterDim && a.experts <= kMaxExperts,
             "the GPU ZAYA router takes router_hidden_size up to ", kMaxRouterDim, " and up to ", kMaxExperts,
             " experts, got ", a.router_dim, " and ", a.experts, ": use --backend cpu");
  launch_per_row("zaya_router", zaya_router_kernel, a.tokens, a);
}

}  // namespace dllm::gpu
