// Transformer::forward(Pass): the one forward pass every decoding strategy uses (DESIGN §3).
#pragma once
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/buffer.h"
#include "engine/core/model.h"
#include "engine/core/pass.h"
#include "engine/decode/kv_cache.h"

namespace dllm {

class Transformer {
 public:
  Transformer(const ModelConfig& cfg, const ModelWeights& w, Backend& backend);

  // Runs `pass` against `cache`: every token attends to its sequence's cache [0, vis.cache_len) and
  // its pass-local intervals; tokens with a cache slot store their K/V there. Fills logits
  // [rows.size(), V] for the pass rows listed in `rows` (every row when `rows` is empty).
  // Throws on token ids outside the vocabulary and slots outside the cache.
  void forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
               std::vector<float>& logits);

  const ModelConfig& config() const { return cfg_; }
  Backend& backend() { return be_; }

 private:
  void validate(const Pass& pass, const KvCache& cache) const;
  void attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache);
  void mlp_block(const LayerWeights& lw, int t);

  const ModelConfig& cfg_;
  Backend& be_;
  const ModelWeights w_;  // be_.resident(weights): views the backend's ops can read
  // Per-pass workspace in the backend's memory, grown as needed; the host staging of the pass.
  std::vector<int32_t> ids_h_, positions_h_, seq_h_, slot_h_;
  std::vector<Visibility> vis_h_;
  Buffer<int32_t> ids_, positions_, seq_, slot_;
  Buffer<Visibility> vis_;
  Buffer<float> x_, h_, q_, k_, v_, attn_, o_, gate_, up_, down_, rows_, logits_;
};

}  // namespace dllm
