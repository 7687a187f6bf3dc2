// Transformer::forward(Pass): the one forward pass every decoding strategy uses (DESIGN §3).
// A pass is staged (its description uploaded, its workspace sized), issued (every op, in the
// backend's memory, through the backend's PassRunner, which may replay it as a recorded graph), and
// collected (the [rows] tokens and counts read back).
#pragma once
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/buffer.h"
#include "engine/core/model.h"
#include "engine/core/pass.h"
#include "engine/decode/kv_cache.h"
#include "engine/model/pass_logits.h"

namespace dllm {

class Transformer {
 public:
  Transformer(const ModelConfig& cfg, const ModelWeights& w, Backend& backend);

  // Runs `pass` against `cache`: every token attends to its sequence's cache [0, vis.cache_len) and
  // its pass-local intervals; tokens with a cache slot store their K/V there. Returns the logits of
  // the pass rows listed in `rows`, in that order (every row when `rows` is empty), with each row's
  // argmax and its token under `draws` (none, or one per returned row); they stay in the backend's
  // memory and are valid until the next forward. Throws on token ids outside the vocabulary, slots
  // outside the cache, and NaN/Inf logits.
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
  // experts' weights (a 16-token block touches many more experts than one token).
  struct MoeTraffic {
    int64_t experts = 0;
    int64_t weight_bytes = 0;
  };
  const MoeTraffic& moe_traffic() const { return moe_; }

 private:
  // What a pass's issued work depends on besides its data.
  struct PassShape {
    int tokens = 0, rows = 0;
    int max_keys = 0;              // the most keys a token sees, rounded up to kMaxKeysStep
    bool sampled = false, mixed = false;  // whether the sample / sample_divergence ops run
  };
  // max_keys is rounded up so that decode steps of one size share a shape for kMaxKeysStep steps
  // (any bound at or above the true count is valid for the attention op).
  static constexpr int kMaxKeysStep = 256;

  void validate(const Pass& pass, const KvCache& cache) const;
  // The pass description, requested rows and draws staged and uploaded; returns the rounded max_keys.
  int stage(const Pass& pass, KvCache& cache, const std::vector<int>& rows, const std::vector<RowDraw>& draws);
  // Every workspace sized for the pass before any op is issued (a recorded graph cannot allocate);
  // bumps workspace_generation_ when any buffer moved.
  void reserve_workspace(const PassShape& s);
  void issue(const PassShape& s, KvCache& cache, int& first_non_finite_layer);
  const PassLogits& collect(const PassShape& s, int first_non_finite_layer);
  void attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  void mlp_block(const LayerWeights& lw, int t);
  // RoPE on q_/k_, their K/V into the cache, attention with the pass visibility into attn_ [T, Hq*Dh].
  void rope_cache_attend(int layer, int t, int max_keys, KvCache& cache);
  // zaya (engine/model/zaya_blocks.cpp).
  void zaya_sources(const Pass& pass, KvCache& cache);
  void zaya_attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  void zaya_moe_block(const LayerWeights& lw, int layer, int t);
  void count_moe_traffic(int t);

  const ModelConfig& cfg_;
  Backend& be_;
  const ModelWeights w_;  // be_.resident(weights): views the backend's ops can read
  // Per-pass workspace in the backend's memory, grown as needed; the host staging of the pass.
  std::vector<int32_t> ids_h_, positions_h_, seq_h_, slot_h_;
  std::vector<Visibility> vis_h_;
  Buffer<int32_t> ids_, positions_, seq_, slot_;
  Buffer<Visibility> vis_;
  Buffer<float> x_, h_, q_, k_, v_, attn_, o_, gate_, up_, down_, rows_;
  PassLogits logits_;
  Buffer<int32_t> argmax_;  // [2, rows]: the argmax op's indices then non-finite counts, one download
  Buffer<int32_t> tokens_;  // [rows]: the sample op's tokens
  Buffer<RowDraw> draws_;                          // [rows]
  Buffer<MixDivergence> divergence_;               // [rows]
  // zaya: where each token's recurrent predecessors come from (token t-1 and t-2 of its sequence,
  // [T] each, staged on the host), and the CCA, router and MoE workspace in the backend's memory.
  std::vector<RecurrentSource> prev1_h_, prev2_h_;
  Buffer<RecurrentSource> prev1_, prev2_;
  Buffer<float> qk0_, c0p_, c0pp_, conv_, vd_, router_state_, moe_weight_;
  Buffer<int32_t> expert_;        // [Ly, T] every layer's routes, downloaded once per pass (MoeTraffic)
  std::vector<int32_t> expert_h_;
  // The rows the LM head sees ([rows] pass indices), the attention op's scratch, the logits storage.
  std::vector<int32_t> row_index_h_;
  Buffer<int32_t> row_index_;
  Buffer<float> attention_workspace_;
  float* logits_data_ = nullptr;
  int64_t workspace_generation_ = 0;  // changes whenever a buffer the issued work uses moves
  std::unique_ptr<PassRunner> runner_;
  int64_t dense_bytes_ = 0;  // zaya: bytes of every weight but the experts
  MoeTraffic moe_;
};

}  // namespace dllm
