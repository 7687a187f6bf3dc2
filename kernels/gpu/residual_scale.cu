#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// ZAYA1's residual merge, element-wise: r = (h + h_bias) * h_scale [+ (r + r_bias) * r_scale].
__global__ void __launch_bounds__(kBlockThreads) residual_scale_kernel(ResidualScaleArgs a, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % a.dim);
    const float scaled_h = (a.h[i] + a.h_bias.at(0, c)) * a.h_scale.at(0, c);
    a.r[i] = a.r_scale.empty() ? scaled_h : scaled_h + (a.r[i] + a.r_bias.at(0, c)) * a.r_scale.at(0, c);
  }
}

}  // namespace

void residual_scale(const ResidualScaleArgs& a) {
  const int64_t n = int64_t(a.tokens) * a.dim;
  launch_elementwise("residual_scale", residual_scale_kernel, n, a, n);
}

}  // namespace dllm::gpu
