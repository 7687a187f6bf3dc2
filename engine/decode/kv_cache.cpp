#include "engine/decode/kv_cache.h"

#include "engine/core/check.h"

namespace dllm {

KvCache::KvCache(const ModelConfig& cfg, int sequences, int capacity)
    : sequences_(sequences),
      capacity_(capacity),
      layer_stride_(int64_t(capacity) * cfg.num_kv_heads * cfg.head_dim),
      seq_stride_(layer_stride_ * cfg.num_layers),
      k_(size_t(seq_stride_) * size_t(sequences)),
      v_(k_.size()),
      length_(size_t(sequences), 0) {
  DLLM_ASSERT(sequences > 0 && capacity > 0);
}

void KvCache::set_length(int seq, int n) {
  DLLM_CHECK(n >= 0 && n <= capacity_, "KV cache: sequence ", seq, " would hold ", n,
             " tokens but its capacity is ", capacity_,
             ": lower --max-new-tokens or shorten the prompt");
  length_.at(size_t(seq)) = n;
}

}  // namespace dllm
