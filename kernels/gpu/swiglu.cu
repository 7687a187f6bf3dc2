#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// out = silu(gate) * up, element-wise (out may alias gate or up: each element is read, then written).
__global__ void __launch_bounds__(kBlockThreads) swiglu_kernel(SwigluArgs a, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a.out[i] = silu_times(a.gate[i], a.up[i]);
}

}  // namespace

void swiglu(const SwigluArgs& a) {
  const int64_t n = int64_t(a.rows) * a.dim;
  launch_elementwise("swiglu", swiglu_kernel, n, a, n);
}

}  // namespace dllm::gpu
