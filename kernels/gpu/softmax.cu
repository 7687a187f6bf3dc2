#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per row: y = softmax(x / temperature). Max and sum are fixed block trees.
__global__ void softmax_kernel(SoftmaxArgs a) {
  __shared__ float scratch[1024 / 32];
  const int r = int(blockIdx.x);
  const float* x = a.x + int64_t(r) * a.dim;
  float* y = a.y + int64_t(r) * a.dim;
  float m = -INFINITY;
  for (int c = int(threadIdx.x); c < a.dim; c += int(blockDim.x)) m = fmaxf(m, x[c] / a.temperature);
  m = block_max(m, scratch);
  float s = 0.0f;
  for (int c = int(threadIdx.x); c < a.dim; c += int(blockDim.x)) s += expf(x[c] / a.temperature - m);
  s = block_sum(s, scratch);  // ends with a barrier: every x is read before y (may alias) is written
  for (int c = int(threadIdx.x); c < a.dim; c += int(blockDim.x)) y[c] = expf(x[c] / a.temperature - m) / s;
}

}  // namespace

void softmax(const SoftmaxArgs& a) {
  launch_per_row("softmax", softmax_kernel, a.rows, a);
}

}  // namespace dllm::gpu
