#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per token, one thread per (head, rotary pair). Frequencies and angles are formed in f32
// as in ref/rope.cpp (inv_freq from core/rope.h); cos/sin in double then rounded, so they agree
// with the host's correctly rounded f32 functions.
__global__ void __launch_bounds__(kBlockThreads) rope_kernel(RopeArgs a) {
  const int t = int(blockIdx.x), half = a.rotary_dim / 2;
  const float pos = float(a.positions[t]);
  const int length = a.lengths ? a.lengths[t] : 0;
  for (int k = int(threadIdx.x); k < a.heads * half; k += int(blockDim.x)) {
    const int h = k / half, i = k % half;
    const float inv_freq = rope_inv_freq(a.theta, a.scaling, i, a.rotary_dim, length);
    const float angle = pos * inv_freq;
    const float c = float(cos(double(angle))) * a.scaling.attention_factor;
    const float s = float(sin(double(angle))) * a.scaling.attention_factor;
    float* x = a.x + (int64_t(t) * a.heads + h) * a.head_dim;
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * c - x2 * s;
    x[i + half] = x2 * c + x1 * s;
  }
}

}  // namespace

void rope(const RopeArgs& a) {
  if (a.rotary_dim == 0) return;
  launch_per_row("rope", rope_kernel, a.tokens, a);
}

}  // namespace dllm::gpu
