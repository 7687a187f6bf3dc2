#include "engine/backend/kv_cache.h"

#include <algorithm>

#include "core/check.h"
#include "core/ops.h"

namespace dllm {

KvCache::KvCache(const ModelConfig& cfg, int sequences, int capacity, Memory& memory, DType dtype)
    : sequences_(sequences),
      capacity_(capacity),
      layers_(cfg.num_layers),
      layer_stride_(int64_t(capacity) * cfg.num_kv_heads * cfg.head_dim),
      seq_stride_(layer_stride_ * cfg.num_layers),
      dtype_(dtype),
      k_(memory, size_t(seq_stride_) * size_t(sequences) * dtype_size(dtype)),
      v_(memory, k_.size()),
      length_(size_t(sequences), 0),
      recurrent_(memory) {
  DLLM_ASSERT(sequences > 0 && capacity > 0 && (dtype == DType::f32 || dtype == DType::bf16));
  if (cfg.arch == Arch::zaya) {
    ring_ = std::min(capacity, kRecurrentRing);
    recurrent_width_ = cfg.cca_channels() + cfg.value_shift_width();
    recurrent_.resize(size_t(sequences) * size_t(layers_) * size_t(ring_) * size_t(recurrent_width_));  // zeroed
    ring_slot_.assign(size_t(sequences) * size_t(ring_), -1);
  }
}

void KvCache::set_length(int seq, int n) {
  DLLM_CHECK(n >= 0 && n <= capacity_, "KV cache: sequence ", seq, " would hold ", n, " tokens but its capacity is ",
             capacity_, ": lower --max-new-tokens or shorten the prompt");
  for (int slot = std::max(0, n - 2); slot < n && ring_ > 0; ++slot)
    DLLM_CHECK(ring_slot_[size_t(seq) * size_t(ring_) + size_t(slot % ring_)] == slot,
               "KV cache: the recurrent CCA state of position ", slot, " of sequence ", seq,
               " was overwritten: a zaya pass may reach at most ", ring_ - 2,
               " positions past the committed length (use a block size of at most ", ring_ - 2, ")");
  length_.at(size_t(seq)) = n;
}

void KvCache::recurrent_stored(int seq, int slot) {
  DLLM_ASSERT(ring_ > 0 && seq >= 0 && seq < sequences_ && slot >= 0 && slot < capacity_);
  ring_slot_[size_t(seq) * size_t(ring_) + size_t(slot % ring_)] = slot;
}

int64_t KvCache::ring_offset(int layer, int seq, int slot) const {
  return int64_t(seq) * recurrent_seq_stride() + (int64_t(layer) * ring_ + slot % ring_) * recurrent_width_;
}

bool KvCache::recurrent_holds(int seq, int slot) const {
  DLLM_ASSERT(ring_ > 0 && seq >= 0 && seq < sequences_ && slot >= 0);
  return ring_slot_[size_t(seq) * size_t(ring_) + size_t(slot % ring_)] == slot;
}

std::vector<float> KvCache::export_prefix(int seq, int n) const {
  DLLM_ASSERT(seq >= 0 && seq < sequences_ && n >= 0 && n <= length(seq));
  const int64_t per_slot = layer_stride_ / capacity_, chunk = int64_t(n) * per_slot;
  std::vector<float> out(size_t(2 * layers_ * chunk));
  float* o = out.data();
  const size_t size = dtype_size(dtype_);
  std::vector<uint8_t> stored(size_t(chunk) * size);
  for (const Buffer<uint8_t>* kv : {&k_, &v_})
    for (int l = 0; l < layers_; ++l, o += chunk) {
      const uint8_t* src = kv->data() + (int64_t(seq) * seq_stride_ + int64_t(l) * layer_stride_) * int64_t(size);
      kv->memory().download(stored.data(), src, stored.size());
      for (int64_t i = 0; i < chunk; ++i) o[i] = kv_load(stored.data(), dtype_, i);
    }
  for (int l = 0; l < layers_ && ring_ > 0; ++l)
    for (int slot = n - 2; slot < n; ++slot) {
      const size_t at = out.size();
      out.resize(at + size_t(recurrent_width_), 0.0f);
      if (slot < 0) continue;  // before the start: zeros
      DLLM_ASSERT(recurrent_holds(seq, slot));
      recurrent_.memory().download(out.data() + at, recurrent_.data() + ring_offset(l, seq, slot),
                                   size_t(recurrent_width_) * sizeof(float));
    }
  return out;
}

void KvCache::import_prefix(int seq, const std::vector<float>& prefix, int n) {
  const int64_t per_slot = layer_stride_ / capacity_, chunk = int64_t(n) * per_slot;
  DLLM_ASSERT(seq >= 0 && seq < sequences_ && n <= capacity_ &&
              int64_t(prefix.size()) == 2 * layers_ * chunk + int64_t(layers_) * 2 * recurrent_width_);
  const float* in = prefix.data();
  const size_t size = dtype_size(dtype_);
  std::vector<uint8_t> stored(size_t(chunk) * size);
  for (Buffer<uint8_t>* kv : {&k_, &v_})
    for (int l = 0; l < layers_; ++l, in += chunk) {
      for (int64_t i = 0; i < chunk; ++i) kv_store(stored.data(), dtype_, i, in[i]);
      kv->memory().upload(kv->data() + (int64_t(seq) * seq_stride_ + int64_t(l) * layer_stride_) * int64_t(size),
                          stored.data(), stored.size());
    }
  for (int l = 0; l < layers_ && ring_ > 0; ++l)
    for (int slot = n - 2; slot < n; ++slot, in += recurrent_width_)
      if (slot >= 0) {
        recurrent_.memory().upload(recurrent_.data() + ring_offset(l, seq, slot), in,
                                   size_t(recurrent_width_) * sizeof(float));
        recurrent_stored(seq, slot);
      }
  set_length(seq, n);
}

}  // namespace dllm
