#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per row: y = x / sqrt(mean(x^2) + eps) * weight.
__global__ void __launch_bounds__(kBlockThreads) rmsnorm_kernel(RmsnormArgs a) {
  __shared__ float factor[1];
  const float* x = a.x + int64_t(blockIdx.x) * a.dim;
  float* y = a.y + int64_t(blockIdx.x) * a.dim;
  rms_factors<1>(x, a.dim, 1, a.dim, a.eps, factor);
  for_block_columns(a.dim, [&](int c) { y[c] = rms_normed(x[c], factor[0], a.weight.at(0, c)); });
}

}  // namespace

void rmsnorm(const RmsnormArgs& a) { launch_per_row("rmsnorm", rmsnorm_kernel, a.rows, a); }

}  // namespace dllm::gpu
