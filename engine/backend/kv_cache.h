// The KV cache of a batch of sequences, with an explicit committed length per sequence.
// Slot j of a sequence holds the K/V of its token at position j. Only [0, length) is ever read;
// slots past it (rejected TiDAR drafts) are simply overwritten by a later pass.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend/buffer.h"
#include "core/model.h"

namespace dllm {

class KvCache {
 public:
  // capacity: slots per sequence (S). Memory: 2 * B * Ly * S * Hkv * Dh values of `dtype` (f32, or
  // bf16: Backend::kv_cache_dtype), plus for zaya B * Ly * ring * (C + Vh) floats of recurrent CCA
  // inputs, all in `memory` (the memory of the backend that runs the passes: Transformer::forward
  // checks it).
  KvCache(const ModelConfig& cfg, int sequences, int capacity, Memory& memory, DType dtype = DType::f32);
  // In host memory (the CPU backend).
  KvCache(const ModelConfig& cfg, int sequences, int capacity) : KvCache(cfg, sequences, capacity, host_memory()) {}

  int sequences() const { return sequences_; }
  int capacity() const { return capacity_; }
  int length(int seq) const { return length_.at(size_t(seq)); }
  // Commits [0, n) of a sequence; throws when n exceeds the capacity, or for zaya when the
  // recurrent inputs of slots n-2, n-1 were overwritten.
  void set_length(int seq, int n);

  // zaya's recurrent CCA state (engine/model/zaya.md), kept per slot like
  // the K/V: slot j holds token j's [c0; vd] (its conv input [q0; k0], C floats, and its delayed value
  // projection, Vh floats), in a ring of the last ring() slots of each sequence. The state of a
  // sequence of length L is slots L-2 and L-1, so a TiDAR verify pass that writes slots L..L+K
  // stashes every candidate state and set_length(L + n + 1) commits stash[n]. A pass may therefore
  // reach at most ring() - 2 slots past the committed length (K <= kRecurrentRing - 2).
  static constexpr int kRecurrentRing = 128;
  int ring() const { return ring_; }
  int recurrent_width() const { return recurrent_width_; }  // C + Vh, 0 for dense models
  // Base of a layer's ring, in the cache's memory: [B, ring, C + Vh] with recurrent_seq_stride()
  // floats between sequences; slot j of a sequence is entry j % ring() (CcaStateArgs).
  float* recurrent(int layer) { return recurrent_.data() + int64_t(layer) * ring_ * recurrent_width_; }
  int64_t recurrent_seq_stride() const { return int64_t(layers_) * ring_ * recurrent_width_; }
  // Records that a pass stores slot `slot` of a sequence (in every layer's ring): its ring entry now
  // belongs to that slot.
  void recurrent_stored(int seq, int slot);
  // Whether the ring still holds slot `slot` of a sequence.
  bool recurrent_holds(int seq, int slot) const;

  // Base of a layer's keys/values: [B, S, Hkv, Dh] values of dtype() with seq_stride() values between
  // sequences.
  void* k(int layer) { return k_.data() + int64_t(layer) * layer_stride_ * int64_t(dtype_size(dtype_)); }
  void* v(int layer) { return v_.data() + int64_t(layer) * layer_stride_ * int64_t(dtype_size(dtype_)); }
  DType dtype() const { return dtype_; }
  int64_t seq_stride() const { return seq_stride_; }
  int64_t bytes() const { return int64_t(k_.size() + v_.size()); }
  Memory& memory() const { return k_.memory(); }
  // The K/V of slots [0, n) of a sequence as f32, [2, Ly, n, Hkv, Dh] (then for zaya the recurrent inputs
  // of slots n-2, n-1, [Ly, 2, C + Vh]): a prompt's prefill, to be imported into other sequences
  // (rollouts share it) instead of recomputed.
  std::vector<float> export_prefix(int seq, int n) const;
  // Writes an exported prefix into slots [0, n) of a sequence (rounded to dtype()) and commits them
  // (length n).
  void import_prefix(int seq, const std::vector<float>& prefix, int n);

 private:
  // Floats from the ring's base to the entry of slot `slot` of a sequence in a layer.
  int64_t ring_offset(int layer, int seq, int slot) const;

  int sequences_, capacity_, layers_;
  int64_t layer_stride_, seq_stride_;  // in values
  DType dtype_;
  Buffer<uint8_t> k_, v_;  // [B, Ly, S, Hkv, Dh] values of dtype_, as bytes
  std::vector<int> length_;
  int ring_ = 0, recurrent_width_ = 0;
  Buffer<float> recurrent_;     // [B, Ly, ring, C + Vh]
  std::vector<int> ring_slot_;  // [B, ring] the slot each ring entry holds, -1 for none (host bookkeeping)
};

}  // namespace dllm
