// CCA (ZAYA1's compressed convolutional attention): the recurrent-state gather and ring store, the two
// causal convolutions and the q/k mean term with the L2 norm (ref/cca.cpp). Every block computes one
// token (and head) in an order fixed by the shapes alone, so a token's result does not depend on the
// other tokens of the pass.
#include <cfloat>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// c0 [C] and, when vd is not null, the delayed value [Vh] of token t's predecessor s, by the block.
__device__ inline void cca_gather(const CcaStateArgs& a, int t, RecurrentSource s, float* c0, float* vd) {
  const int qw = a.q_width, kw = a.k_width, c = qw + kw, vh = a.value_width;
  const float* entry = s.kind == RecurrentSource::Kind::cache
                           ? a.ring + int64_t(a.seq[t]) * a.seq_stride + int64_t(s.index % a.ring_size) * (c + vh)
                           : nullptr;
  for (int i = int(threadIdx.x); i < c; i += int(blockDim.x)) {
    float v = 0.0f;
    if (s.kind == RecurrentSource::Kind::pass)
      v = i < qw ? a.q0[int64_t(s.index) * qw + i] : a.k0[int64_t(s.index) * kw + i - qw];
    else if (entry)
      v = entry[i];
    c0[i] = v;
  }
  if (!vd) return;
  for (int i = int(threadIdx.x); i < vh; i += int(blockDim.x)) {
    float v = 0.0f;
    if (s.kind == RecurrentSource::Kind::pass)
      v = a.vd[int64_t(s.index) * vh + i];
    else if (entry)
      v = entry[c + i];
    vd[i] = v;
  }
}

// One block per token: c0 = [q0; k0], its predecessors' c0 and its value [v_cur; vd(prev1)]. Reads the
// pass's q0/k0/vd, never another block's output, and the ring before cca_store_kernel writes it.
__global__ void __launch_bounds__(kBlockThreads) cca_gather_kernel(CcaStateArgs a) {
  const int t = int(blockIdx.x);
  const int qw = a.q_width, kw = a.k_width, c = qw + kw, vh = a.value_width;
  float* qk0 = a.qk0 + int64_t(t) * c;
  float* v = a.v + int64_t(t) * 2 * vh;
  for (int i = int(threadIdx.x); i < c; i += int(blockDim.x))
    qk0[i] = i < qw ? a.q0[int64_t(t) * qw + i] : a.k0[int64_t(t) * kw + i - qw];
  for (int i = int(threadIdx.x); i < vh; i += int(blockDim.x)) v[i] = a.v_cur[int64_t(t) * vh + i];
  cca_gather(a, t, a.prev1[t], a.c0_prev + int64_t(t) * c, v + vh);
  cca_gather(a, t, a.prev2[t], a.c0_prev2 + int64_t(t) * c, nullptr);
}

// One block per token with a cache slot: its [c0; vd] into the ring entry of that slot.
__global__ void __launch_bounds__(kBlockThreads) cca_store_kernel(CcaStateArgs a) {
  const int t = int(blockIdx.x);
  const int32_t slot = a.slot[t];
  if (slot < 0) return;
  const int c = a.q_width + a.k_width, vh = a.value_width;
  float* entry = a.ring + int64_t(a.seq[t]) * a.seq_stride + int64_t(slot % a.ring_size) * (c + vh);
  for (int i = int(threadIdx.x); i < c; i += int(blockDim.x)) entry[i] = a.qk0[int64_t(t) * c + i];
  for (int i = int(threadIdx.x); i < vh; i += int(blockDim.x)) entry[c + i] = a.vd[int64_t(t) * vh + i];
}

// One block per (token, head): the head's depthwise outputs c1(t-1), c1(t) [Dh] into shared memory,
// then one warp per output channel sums its Dh taps (warp_sum order).
__global__ void __launch_bounds__(kBlockThreads) cca_conv_kernel(CcaConvArgs a) {
  __shared__ float c1_prev[kMaxHeadDim];
  __shared__ float c1[kMaxHeadDim];
  const int dh = a.head_dim, t = int(blockIdx.x) / a.heads, base = (int(blockIdx.x) % a.heads) * dh;
  const int64_t row = int64_t(t) * a.heads * dh;
  for (int i = int(threadIdx.x); i < dh; i += int(blockDim.x)) {
    const int c = base + i;
    const float w0 = a.w1.at(c, 0), w1 = a.w1.at(c, 1), b = a.b1.at(0, c);
    c1_prev[i] = w0 * a.prev2[row + c] + w1 * a.prev[row + c] + b;
    c1[i] = w0 * a.prev[row + c] + w1 * a.x[row + c] + b;
  }
  __syncthreads();
  const int lane = int(threadIdx.x) % kWarp, warps = int(blockDim.x) / kWarp;
  for (int o = int(threadIdx.x) / kWarp; o < dh; o += warps) {  // warp-uniform: the whole warp sums
    const int c = base + o;
    float s = 0.0f;
    for (int i = lane; i < dh; i += kWarp) {
      const int64_t w_row = int64_t(c) * dh + i;
      s += a.w2.at(w_row, 0) * c1_prev[i] + a.w2.at(w_row, 1) * c1[i];
    }
    s = warp_sum(s);
    if (lane == 0) a.y[row + c] = s + a.b2.at(0, c);
  }
}

// Element i of head h (query heads first, then kv heads) of token t before the norm: q = conv + qres,
// k = mean of its group's qres (summed in head order, as the reference) + conv.
__device__ inline float cca_qk_value(const CcaQkArgs& a, int t, int h, int i) {
  const int hq = a.q_heads, dh = a.head_dim, g = hq / a.kv_heads;
  const float* qk0 = a.qk0 + int64_t(t) * (hq + a.kv_heads) * dh;
  const float* conv = a.conv + int64_t(t) * (hq + a.kv_heads) * dh;
  const float* k0 = qk0 + hq * dh;
  if (h < hq) return conv[h * dh + i] + (qk0[h * dh + i] + k0[(h / g) * dh + i]) / 2.0f;
  const int j = h - hq;
  float k = 0.0f;
  for (int m = j * g; m < j * g + g; ++m) k += (qk0[m * dh + i] + k0[j * dh + i]) / 2.0f;
  return k / float(g) + conv[h * dh + i];
}

// One block per (token, head): the head's values, their norm (a fixed block tree), the scaled output.
__global__ void __launch_bounds__(kBlockThreads) cca_qk_kernel(CcaQkArgs a) {
  __shared__ float scratch[1024 / 32];
  const int heads = a.q_heads + a.kv_heads, dh = a.head_dim;
  const int t = int(blockIdx.x) / heads, h = int(blockIdx.x) % heads;
  float s = 0.0f;
  for (int i = int(threadIdx.x); i < dh; i += int(blockDim.x)) {
    const float v = cca_qk_value(a, t, h, i);
    s += v * v;
  }
  s = block_sum(s, scratch);
  const float scale = h < a.q_heads ? 1.0f : a.temperature.at(0, h - a.q_heads);
  const float f = sqrtf(float(dh)) / fmaxf(sqrtf(s), FLT_EPSILON) * scale;
  float* out =
      h < a.q_heads ? a.q + (int64_t(t) * a.q_heads + h) * dh : a.k + (int64_t(t) * a.kv_heads + (h - a.q_heads)) * dh;
  for (int i = int(threadIdx.x); i < dh; i += int(blockDim.x)) out[i] = cca_qk_value(a, t, h, i) * f;
}

}  // namespace

void cca_state(const CcaStateArgs& a) {
  launch_per_row("cca_state gather", cca_gather_kernel, a.tokens, a);
  launch_per_row("cca_state store", cca_store_kernel, a.tokens, a);  // after every gather (stream order)
}

void cca_conv(const CcaConvArgs& a) {
  DLLM_CHECK(a.head_dim <= kMaxHeadDim, "the GPU CCA convolution takes head_dim up to ", kMaxHeadDim, ", got ",
             a.head_dim, ": use --backend cpu");
  launch_per_row("cca_conv", cca_conv_kernel, int64_t(a.tokens) * a.heads, a);
}

void cca_qk(const CcaQkArgs& a) {
  launch_per_row("cca_qk", cca_qk_kernel, int64_t(a.tokens) * (a.q_heads + a.kv_heads), a);
}

}  // namespace dllm::gpu
