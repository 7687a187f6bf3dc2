#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// x[h, i], x[h, i + R/2] of every head turned by (cos, sin) of pair i.
__device__ void rotate(float* x, int heads, int head_dim, int half, const float (*cs)[2]) {
  for (int k = int(threadIdx.x); k < heads * half; k += int(blockDim.x)) {
    const int h = k / half, i = k % half;
    float* row = x + int64_t(h) * head_dim;
    const float c = cs[i][0], s = cs[i][1], x1 = row[i], x2 = row[i + half];
    row[i] = x1 * c - x2 * s;
    row[i + half] = x2 * c + x1 * s;
  }
}

// The head rows x[h, :] normalised in place with `weight` when it is given: rmsnorm_kernel's factor
// of each row (rms_factors, kHeadsAtOnce rows side by side, each in that kernel's order) and its
// product, so every row has the bits of the rmsnorm kernel's.
__device__ void head_norm(float* x, int heads, int head_dim, const WeightView& weight, float eps) {
  constexpr int kHeadsAtOnce = 8;
  __shared__ float factors[kHeadsAtOnce];
  if (weight.empty()) return;
  for (int h0 = 0; h0 < heads; h0 += kHeadsAtOnce) {
    float* rows = x + int64_t(h0) * head_dim;  // [n, Dh]
    const int n = min(kHeadsAtOnce, heads - h0);
    rms_factors<kHeadsAtOnce>(rows, head_dim, n, head_dim, eps, factors);
    for (int k = int(threadIdx.x); k < n * head_dim; k += int(blockDim.x))
      rows[k] = rms_normed(rows[k], factors[k / head_dim], weight.at(0, k % head_dim));
  }
}

// One block per token: its cos and sin per rotary pair (the values rope_kernel forms), its query and
// key heads normalised (the q/k norms given) and turned, then its K and V rows into its cache slot
// (none for a scratch token).
__global__ void __launch_bounds__(kBlockThreads) rope_kv_write_kernel(RopeKvWriteArgs a) {
  __shared__ float cs[kMaxHeadDim / 2][2];
  const int t = int(blockIdx.x), half = a.q.rotary_dim / 2;
  float* q = a.q.x + int64_t(t) * a.q.heads * a.q.head_dim;  // [Hq, Dh]
  float* k = a.k.x + int64_t(t) * a.k.heads * a.k.head_dim;  // [Hkv, Dh]
  head_norm(q, a.q.heads, a.q.head_dim, a.q_norm, a.norm_eps);
  head_norm(k, a.k.heads, a.k.head_dim, a.k_norm, a.norm_eps);
  const float pos = float(a.q.positions[t]);
  const int length = a.q.lengths ? a.q.lengths[t] : 0;
  for (int i = int(threadIdx.x); i < half; i += int(blockDim.x)) {
    const float angle = pos * rope_inv_freq(a.q.theta, a.q.scaling, i, a.q.rotary_dim, length);
    cs[i][0] = float(cos(double(angle))) * a.q.scaling.attention_factor;
    cs[i][1] = float(sin(double(angle))) * a.q.scaling.attention_factor;
  }
  __syncthreads();  // cos and sin formed, every head normalised
  rotate(q, a.q.heads, a.q.head_dim, half, cs);
  rotate(k, a.k.heads, a.k.head_dim, half, cs);
  const int32_t slot = a.kv.slot[t];
  if (slot < 0) return;
  __syncthreads();  // every key head turned before the row is copied
  const int64_t row = int64_t(a.kv.kv_heads) * a.kv.head_dim;
  const int64_t dst = int64_t(a.kv.seq[t]) * a.kv.seq_stride + int64_t(slot) * row;
  for (int64_t i = threadIdx.x; i < row; i += blockDim.x) {
    kv_store(a.kv.k_cache, a.kv.kv_dtype, dst + i, a.kv.k[t * row + i]);
    kv_store(a.kv.v_cache, a.kv.kv_dtype, dst + i, a.kv.v[t * row + i]);
  }
}

}  // namespace

void rope_kv_write(const RopeKvWriteArgs& a) {
  DLLM_ASSERT(a.q.tokens == a.k.tokens && a.k.tokens == a.kv.tokens && a.q.positions == a.k.positions &&
              a.q.rotary_dim == a.k.rotary_dim && a.q.theta == a.k.theta && a.q.scaling == a.k.scaling &&
              a.q.lengths == a.k.lengths && a.kv.k == a.k.x && a.q.head_dim <= kMaxHeadDim);
  launch_per_row("rope_kv_write", rope_kv_write_kernel, a.q.tokens, a);
}

}  // namespace dllm::gpu
