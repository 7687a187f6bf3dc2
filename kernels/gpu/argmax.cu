#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per row (block_argmax).
__global__ void __launch_bounds__(kBlockThreads) argmax_kernel(ArgmaxArgs a) {
  const float* x = a.x + int64_t(blockIdx.x) * a.dim;
  const RowArgmax r = block_argmax([&](int c) { return x[c]; }, a.dim);
  if (threadIdx.x != 0) return;
  a.index[blockIdx.x] = r.index;
  a.non_finite[blockIdx.x] = r.non_finite;
}

}  // namespace

void argmax(const ArgmaxArgs& a) { launch_per_row("argmax", argmax_kernel, a.rows, a); }

}  // namespace dllm::gpu
