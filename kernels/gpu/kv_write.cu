#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// One block per token: copies its K/V row [Hkv * Dh] into its cache slot; scratch tokens (slot < 0)
// stay pass-local.
__global__ void __launch_bounds__(kBlockThreads) kv_write_kernel(KvWriteArgs a) {
  const int t = int(blockIdx.x);
  const int32_t slot = a.slot[t];
  if (slot < 0) return;
  const int64_t row = int64_t(a.kv_heads) * a.head_dim;
  const int64_t dst = int64_t(a.seq[t]) * a.seq_stride + int64_t(slot) * row;
  for (int64_t i = threadIdx.x; i < row; i += blockDim.x) {
    kv_store(a.k_cache, a.kv_dtype, dst + i, a.k[t * row + i]);
    kv_store(a.v_cache, a.kv_dtype, dst + i, a.v[t * row + i]);
  }
}

}  // namespace

void kv_write(const KvWriteArgs& a) { launch_per_row("kv_write", kv_write_kernel, a.tokens, a); }

}  // namespace dllm::gpu
