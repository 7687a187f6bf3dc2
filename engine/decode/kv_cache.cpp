#include "engine/decode/kv_cache.h"

#include "engine/core/check.h"

namespace dllm {

KvCache::KvCache(const ModelConfig& cfg, int sequences, int capacity, Memory& memory)
    : sequences_(sequences),
      capacity_(capacity),
      layers_(cfg.num_layers),
      layer_stride_(int64_t(capacity) * cfg.num_kv_heads * cfg.head_dim),
      seq_stride_(layer_stride_ * cfg.num_layers),
      k_(memory, size_t(seq_stride_) * size_t(sequences)),
      v_(memory, k_.size()),
      length_(size_t(sequences), 0) {
  DLLM_ASSERT(sequences > 0 && capacity > 0);
}

void KvCache::set_length(int seq, int n) {
  DLLM_CHECK(n >= 0 && n <= capacity_, "KV cache: sequence ", seq, " would hold ", n,
             " tokens but its capacity is ", capacity_,
             ": lower --max-new-tokens or shorten the prompt");
  length_.at(size_t(seq)) = n;
}

std::vector<float> KvCache::export_prefix(int seq, int n) const {
  DLLM_ASSERT(seq >= 0 && seq < sequences_ && n >= 0 && n <= length(seq));
  const int64_t per_slot = layer_stride_ / capacity_, chunk = int64_t(n) * per_slot;
  std::vector<float> out(size_t(2 * layers_ * chunk));
  float* o = out.data();
  for (const Buffer<float>* kv : {&k_, &v_})
    for (int l = 0; l < layers_; ++l, o += chunk) {
      const float* src = kv->data() + int64_t(seq) * seq_stride_ + int64_t(l) * layer_stride_;
      kv->memory().download(o, src, size_t(chunk) * sizeof(float));
    }
  return out;
}

void KvCache::import_prefix(int seq, const std::vector<float>& prefix, int n) {
  const int64_t per_slot = layer_stride_ / capacity_, chunk = int64_t(n) * per_slot;
  DLLM_ASSERT(seq >= 0 && seq < sequences_ && int64_t(prefix.size()) == 2 * layers_ * chunk);
  set_length(seq, n);
  const float* in = prefix.data();
  for (Buffer<float>* kv : {&k_, &v_})
    for (int l = 0; l < layers_; ++l, in += chunk)
      kv->memory().upload(kv->data() + int64_t(seq) * seq_stride_ + int64_t(l) * layer_stride_, in,
                          size_t(chunk) * sizeof(float));
}

}  // namespace dllm
