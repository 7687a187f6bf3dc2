#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// A candidate for a row's argmax; index -1 when a thread saw no ordered (non-NaN) value.
struct Best {
  float value;
  int32_t index;
};

// The larger value, the lower index on ties. A total order on candidates, so every reduction tree
// gives the same winner as ref::argmax's left-to-right scan.
__device__ inline Best better(Best a, Best b) {
  if (b.index < 0) return a;
  if (a.index < 0) return b;
  return b.value > a.value || (b.value == a.value && b.index < a.index) ? b : a;
}

__device__ inline bool finite(float v) { return fabsf(v) <= 3.402823466e38f; }  // false for NaN and Inf

// One block per row: each thread scans its strided columns (ascending, so a strict > keeps the lowest
// index), warps merge by butterfly, thread 0 merges the warps.
__global__ void argmax_kernel(ArgmaxArgs a) {
  __shared__ float warp_value[1024 / 32];
  __shared__ int32_t warp_index[1024 / 32], warp_non_finite[1024 / 32];
  const float* x = a.x + int64_t(blockIdx.x) * a.dim;
  Best b{0.0f, -1};
  int non_finite = 0;
  for (int c = int(threadIdx.x); c < a.dim; c += int(blockDim.x)) {
    const float v = x[c];
    non_finite += !finite(v);
    if (v == v && (b.index < 0 || v > b.value)) b = Best{v, c};
  }
  for (int m = kWarp / 2; m > 0; m /= 2) {
    const Best other{gpu_shfl_xor(b.value, m), gpu_shfl_xor(int(b.index), m)};
    b = better(b, other);
    non_finite += gpu_shfl_xor(non_finite, m);
  }
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  if (lane == 0) warp_value[warp] = b.value, warp_index[warp] = b.index, warp_non_finite[warp] = non_finite;
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < int(blockDim.x) / kWarp; ++w) {
    b = better(b, Best{warp_value[w], warp_index[w]});
    non_finite += warp_non_finite[w];
  }
  a.index[blockIdx.x] = b.index < 0 ? 0 : b.index;
  a.non_finite[blockIdx.x] = non_finite;
}

}  // namespace

void argmax(const ArgmaxArgs& a) {
  launch_per_row("argmax", argmax_kernel, a.rows, a);
}

}  // namespace dllm::gpu
