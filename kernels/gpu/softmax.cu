#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per row: y = softmax(x / temperature).
__global__ void __launch_bounds__(kBlockThreads) softmax_kernel(SoftmaxArgs a) {
  const float* x = a.x + int64_t(blockIdx.x) * a.dim;
  float* y = a.y + int64_t(blockIdx.x) * a.dim;
  const float m = row_max(a.dim, [&](int c) { return x[c] / a.temperature; });
  const float s = row_sum(a.dim, [&](int c) { return expf(x[c] / a.temperature - m); });
  for_block_columns(a.dim, [&](int c) { y[c] = expf(x[c] / a.temperature - m) / s; });
}

}  // namespace

void softmax(const SoftmaxArgs& a) { launch_per_row("softmax", softmax_kernel, a.rows, a); }

}  // namespace dllm::gpu
