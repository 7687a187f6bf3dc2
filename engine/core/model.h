// What a model is, independent of where it came from (config.json, a preset) and of the backend:
// its hyper-parameters and views of its weights. A leaf header so that ref/ can run a whole model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace dllm {

enum class Arch { dense };

struct ModelConfig {
  std::string model_type;  // llama | qwen2 | qwen3
  Arch arch = Arch::dense;
  int hidden_size = 0;        // D
  int num_layers = 0;         // Ly
  int num_heads = 0;          // Hq
  int num_kv_heads = 0;       // Hkv
  int head_dim = 0;           // Dh
  int rotary_dim = 0;         // R = partial_rotary_factor * Dh (even)
  int intermediate_size = 0;  // F
  int vocab_size = 0;         // V
  int max_position_embeddings = 0;
  float rope_theta = 10000.0f;
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (qwen2)
  bool qk_norm = false;         // per-head RMSNorm of q and k before RoPE (qwen3)
  // Special tokens (-1 when the config has none).
  int bos_token_id = -1;
  int pad_token_id = -1;
  std::vector<int> eos_token_ids;
  // Diffusion fields.
  int mask_token_id = -1;
  int block_size = 16;  // K
  // The engine's byte tokenizer applies (ids 0..255 are bytes); declared by "dllm_tokenizer": "bytes".
  bool byte_tokenizer = false;

  int64_t kv_floats_per_token() const { return 2LL * num_layers * num_kv_heads * head_dim; }
  bool is_eos(int token) const {
    for (int e : eos_token_ids)
      if (e == token) return true;
    return false;
  }
};

struct LayerWeights {
  WeightView attn_norm;                // [D]
  WeightView q, k, v, o;               // [Hq*Dh, D], [Hkv*Dh, D], [Hkv*Dh, D], [D, Hq*Dh]
  WeightView q_bias, k_bias, v_bias;   // [Hq*Dh], [Hkv*Dh], [Hkv*Dh] (attention_bias only)
  WeightView q_norm, k_norm;           // [Dh] (qk_norm only)
  WeightView mlp_norm;                 // [D]
  WeightView gate, up, down;           // [F, D], [F, D], [D, F]
};

struct ModelWeights {
  WeightView embed;       // [V, D]
  WeightView final_norm;  // [D]
  WeightView lm_head;     // [V, D] (the embedding when tied)
  std::vector<LayerWeights> layers;
};

}  // namespace dllm
