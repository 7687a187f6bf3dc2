#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// y += x (the residual stream).
__global__ void __launch_bounds__(kBlockThreads) add_kernel(AddArgs a) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += int64_t(gridDim.x) * blockDim.x)
    a.y[i] += a.x[i];
}

}  // namespace

void add(const AddArgs& a) { launch_elementwise("add", add_kernel, a.n, a); }

}  // namespace dllm::gpu
