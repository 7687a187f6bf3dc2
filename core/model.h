// What a model is, independent of where it came from (config.json, a preset) and of the backend:
// its hyper-parameters and views of its weights. A leaf header so that ref/ can run a whole model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ops.h"

namespace dllm {

// dense: llama / qwen2 / qwen3. zaya: ZAYA1 (CCA attention, top-1 MoE with the ZAYA router,
// learned residual scaling; docs/zaya.md, engine/model/zaya.md).
enum class Arch { dense, zaya };

struct ModelConfig {
  std::string model_type;  // llama | qwen2 | qwen3 | zaya
  Arch arch = Arch::dense;
  int hidden_size = 0;        // D
  int num_layers = 0;         // Ly
  int num_heads = 0;          // Hq
  int num_kv_heads = 0;       // Hkv
  int head_dim = 0;           // Dh
  int rotary_dim = 0;         // R = partial_rotary_factor * Dh (even)
  int intermediate_size = 0;  // F: the MLP width (per expert for zaya)
  int vocab_size = 0;         // V
  int max_position_embeddings = 0;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;  // rope_scaling / rope_parameters beyond plain RoPE (core/rope.h)
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (qwen2)
  bool qk_norm = false;         // per-head RMSNorm of q and k before RoPE (qwen3)
  // zaya only.
  int num_experts = 0;         // E (the skip route is router class E)
  int router_hidden_size = 0;  // R
  SkipRoute skip_route = SkipRoute::zero;
  // Sliding-window layers (zaya "hybrid_sliding"): layer l is one where sliding_layers[l] (empty: none).
  // Its queries see the keys at positions > position - sliding_window (transformers' sliding_window
  // counts the query itself), and its RoPE turns with sliding_rope_theta, unscaled.
  std::vector<bool> sliding_layers;  // [Ly] or empty
  int sliding_window = 0;
  float sliding_rope_theta = 10000.0f;
  // Special tokens (-1 when the config has none).
  int bos_token_id = -1;
  int pad_token_id = -1;
  std::vector<int> eos_token_ids;
  // Diffusion fields.
  int mask_token_id = -1;
  std::string mask_token_key;  // the config key it came from; "fallback": ZAYA1's default 4; "": none
  int block_size = 16;         // K
  // The engine's byte tokenizer applies (ids 0..255 are bytes); declared by "dllm_tokenizer": "bytes".
  bool byte_tokenizer = false;

  int64_t kv_floats_per_token() const { return 2LL * num_layers * num_kv_heads * head_dim; }
  // zaya: CCA conv channels C = (Hq + Hkv) * Dh and value-shift width Vh = Hkv * Dh / 2.
  int cca_channels() const { return (num_heads + num_kv_heads) * head_dim; }
  int value_shift_width() const { return num_kv_heads * head_dim / 2; }
  // The longest sequence the engine runs: max_position_embeddings, stretched by the factor of a
  // "dynamic" RoPE (whose frequencies follow the length past max_position_embeddings).
  int context_length() const {
    return rope_scaling.type == RopeScalingType::dynamic ? int(double(max_position_embeddings) * rope_scaling.factor)
                                                         : max_position_embeddings;
  }
  bool is_sliding(int layer) const { return !sliding_layers.empty() && sliding_layers[size_t(layer)]; }
  bool has_sliding_layers() const { return !sliding_layers.empty(); }
  float layer_rope_theta(int layer) const { return is_sliding(layer) ? sliding_rope_theta : rope_theta; }
  RopeScaling layer_rope_scaling(int layer) const { return is_sliding(layer) ? RopeScaling{} : rope_scaling; }
  bool is_eos(int token) const {
    for (int e : eos_token_ids)
      if (e == token) return true;
    return false;
  }
};

struct LayerWeights {
  WeightView attn_norm;               // [D]
  WeightView q, k, v, o;              // [Hq*Dh, D], [Hkv*Dh, D], [Hkv*Dh, D], [D, Hq*Dh]
  WeightView q_bias, k_bias, v_bias;  // [Hq*Dh], [Hkv*Dh], [Hkv*Dh] (attention_bias only)
  WeightView q_norm, k_norm;          // [Dh] (qk_norm only)
  WeightView mlp_norm;                // [D]
  WeightView gate, up, down;          // [F, D], [F, D], [D, F]
  // zaya (q, k, o, attn_norm and mlp_norm as above; v is the current-token value projection [Vh, D]).
  WeightView v_delayed;                                             // [Vh, D] value projection of the previous token
  WeightView conv1, conv1_bias;                                     // [C, 2], [C] depthwise
  WeightView conv2, conv2_bias;                                     // [C * Dh, 2], [C] within each head
  WeightView temperature;                                           // [Hkv]
  WeightView attn_h_scale, attn_h_bias, attn_r_scale, attn_r_bias;  // [D] residual merge after attention
  WeightView mlp_h_scale, mlp_h_bias, mlp_r_scale, mlp_r_bias;      // [D] residual merge after the MoE
  WeightView router_down, router_down_bias;                         // [R, D], [R]
  WeightView router_state_scale;                                    // [R] (every layer but the first)
  WeightView router_norm;                                           // [R]
  WeightView router_fc1, router_fc1_bias, router_fc2, router_fc2_bias;  // [R, R], [R]
  WeightView router_out;                                                // [E + 1, R]
  WeightView balancing_bias;                                            // [E + 1]
  WeightView experts_gate_up, experts_down;                             // [E * 2F, D], [E * D, F]
};

struct ModelWeights {
  WeightView embed;                    // [V, D]
  WeightView final_norm;               // [D]
  WeightView lm_head;                  // [V, D] (the embedding when tied)
  WeightView input_scale, input_bias;  // [D] zaya: x = (embed + bias) * scale
  std::vector<LayerWeights> layers;
};

}  // namespace dllm
