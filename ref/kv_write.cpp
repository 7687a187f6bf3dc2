#include "ref/ref.h"

namespace dllm::ref {

void kv_write(const KvWriteArgs& a) {
  const int64_t row = int64_t(a.kv_heads) * a.head_dim;
  for (int t = 0; t < a.tokens; ++t) {
    if (a.slot[t] < 0) continue;  // scratch: pass-local only
    const int64_t dst = int64_t(a.seq[t]) * a.seq_stride + int64_t(a.slot[t]) * row;
    for (int64_t i = 0; i < row; ++i) {
      kv_store(a.k_cache, a.kv_dtype, dst + i, a.k[t * row + i]);
      kv_store(a.v_cache, a.kv_dtype, dst + i, a.v[t * row + i]);
    }
  }
}

}  // namespace dllm::ref
