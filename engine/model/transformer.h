// Transformer::forward(Pass): the one forward pass every decoding strategy uses (docs/ARCHITECTURE.md).
// A pass is staged (its workspace sized, its description uploaded in one copy), issued (every op, in
// the backend's memory, through the backend's PassRunner, which may replay it as a recorded graph),
// and collected (its [rows] tokens and counts read back in one copy).
#pragma once
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/buffer.h"
#include "engine/backend/packed_arrays.h"
#include "core/model.h"
#include "core/pass.h"
#include "engine/backend/kv_cache.h"
#include "engine/model/pass_logits.h"

namespace dllm {

class Transformer {
 public:
  Transformer(const ModelConfig& cfg, const ModelWeights& w, Backend& backend);

  // Runs `pass` against `cache`: every token attends to its sequence's cache [0, vis.cache_len) and
  // its pass-local intervals (in a sliding-window layer, the part of them within the window); tokens with a cache slot
  // store their K/V there. Returns the logits of the pass rows listed in `rows`, in that order (every row when `rows`
  // is empty), with each row's argmax and its token under `draws` (none, or one per returned row); they stay in the
  // backend's memory and are valid until the next forward. Throws on token ids outside the vocabulary, slots outside
  // the cache, and NaN/Inf logits.
  const PassLogits& forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
                            const std::vector<RowDraw>& draws = {});
  // The same with every returned row copied out: logits [rows.size(), V] (tests and tools).
  void forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows, std::vector<float>& logits);

  const ModelConfig& config() const { return cfg_; }
  // Logits rows handed to the host so far (PassLogits::row): none for greedy, unmixed decoding.
  int64_t logits_rows_read() const { return logits_.rows_read(); }
  Backend& backend() { return be_; }

  // zaya: what the last forward's MoE layers read. `experts`: distinct experts touched, summed over
  // layers (the skip route reads nothing); `weight_bytes`: every non-expert weight plus the touched
  // experts' weights (a 16-token block touches many more experts than one token); `routes`: each
  // layer's route of each pass token, E for the skip route.
  struct MoeTraffic {
    int64_t experts = 0;
    int64_t weight_bytes = 0;
    std::vector<int32_t> routes;  // [Ly, T]
  };
  const MoeTraffic& moe_traffic() const { return moe_; }
  // zaya: bytes of one expert of `layer` (its gate, up and down weights as stored).
  int64_t expert_bytes(int layer) const;

 private:
  // What a pass's issued work depends on besides its data.
  struct PassShape {
    int tokens = 0, rows = 0;
    int max_keys = 0;                     // the most keys a token sees, rounded up to kMaxKeysStep
    bool sampled = false, mixed = false;  // whether the sample / sample_divergence ops run
  };
  // max_keys is rounded up so that decode steps of one size share a shape for kMaxKeysStep steps
  // (any bound at or above the true count is valid for the attention op).
  static constexpr int kMaxKeysStep = 256;

  void validate(const Pass& pass, const KvCache& cache) const;
  // Every workspace sized and the pass's inputs and outputs laid out before any op is issued (a
  // recorded graph cannot allocate); bumps workspace_generation_ when any buffer moved.
  void reserve_workspace(const PassShape& s);
  // The pass description, requested rows and draws written into in_ and uploaded.
  void stage(const Pass& pass, KvCache& cache, const std::vector<int>& rows, const std::vector<RowDraw>& draws);
  void issue(const PassShape& s, KvCache& cache, int& first_non_finite_layer);
  // Whether issue() scans the stream after each layer for NaN/Inf (host memory only).
  bool scans_layers() const { return &be_.memory() == &host_memory(); }
  const PassLogits& collect(const PassShape& s, int first_non_finite_layer);
  void attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  void mlp_block(const LayerWeights& lw, int t);
  // lw's q/k norms (qwen3's) and RoPE on q_/k_, their K/V into the cache, attention with the pass
  // visibility into attn_ [T, Hq*Dh].
  void rope_cache_attend(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  // zaya (engine/model/zaya_blocks.cpp).
  void zaya_sources(const Pass& pass, KvCache& cache);
  void zaya_attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  void zaya_moe_block(const LayerWeights& lw, int layer, int t);
  void count_moe_traffic(int t);

  const ModelConfig& cfg_;
  Backend& be_;
  const ModelWeights w_;  // be_.resident(weights): views the backend's ops can read
  // A pass's inputs, one upload: where each array lies in in_ (byte offsets).
  struct InputLayout {
    size_t ids, positions, seq, slot;  // [T] int32
    size_t vis;                        // [T] Visibility
    size_t sliding_vis;                // [T] Visibility in the sliding-window layers (none without them)
    size_t rope_lengths;               // [T] int32, dynamic RoPE: the longest position + 1 of the token's sequence
    size_t rows;                       // [rows] int32: the pass token each logits row is computed for
    size_t draws;                      // [rows] RowDraw when the pass samples, else empty
    size_t prev1, prev2;               // zaya: [T] RecurrentSource, token t-1 and t-2 of its sequence
  };
  // Its outputs, one download.
  struct OutputLayout {
    size_t argmax, non_finite;  // [rows] int32: the argmax op's indices and non-finite counts
    size_t tokens;              // [rows] int32: the sample op's tokens, when the pass samples
    size_t divergence;          // [rows] MixDivergence, when a row is mixed
    size_t expert;              // zaya: [Ly, T] int32, every layer's routes (MoeTraffic)
  };
  PackedArrays in_, out_;
  InputLayout in_at_{};
  OutputLayout out_at_{};
  // Per-pass workspace in the backend's memory, grown as needed.
  Buffer<float> x_, h_, q_, k_, v_, attn_, o_, gate_, up_, down_, rows_;
  PassLogits logits_;
  float* logits_data_ = nullptr;  // logits_'s [rows, V] storage
  // zaya: the CCA, router and MoE workspace.
  Buffer<float> qk0_, c0p_, c0pp_, conv_, vd_, router_state_, moe_weight_;
  Buffer<float> attention_workspace_;  // the attention op's scratch
  int64_t workspace_generation_ = 0;   // changes whenever a buffer the issued work uses moves
  std::unique_ptr<PassRunner> runner_;
  int64_t dense_bytes_ = 0;  // zaya: bytes of every weight but the experts
  MoeTraffic moe_;
};

}  // namespace dllm
