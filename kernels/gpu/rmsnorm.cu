#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per row: y = x / sqrt(mean(x^2) + eps) * weight.
__global__ void rmsnorm_kernel(RmsnormArgs a) {
  const float* x = a.x + int64_t(blockIdx.x) * a.dim;
  float* y = a.y + int64_t(blockIdx.x) * a.dim;
  const float s = row_sum(a.dim, [&](int c) { return x[c] * x[c]; });
  const float inv = 1.0f / sqrtf(s / float(a.dim) + a.eps);
  for_block_columns(a.dim, [&](int c) { y[c] = a.weight.at(0, c) * (x[c] * inv); });
}

}  // namespace

void rmsnorm(const RmsnormArgs& a) { launch_per_row("rmsnorm", rmsnorm_kernel, a.rows, a); }

}  // namespace dllm::gpu
