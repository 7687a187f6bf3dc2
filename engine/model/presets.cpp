// Built-in presets: real shapes (from the models' published config.json) with seeded random
// weights, for throughput work (throughput does not depend on weight values), plus tiny ones for tests.
#include <map>

#include "core/check.h"
#include "engine/model/config.h"
#include "engine/model/model.h"

namespace dllm {

namespace {

using nlohmann::json;

// Byte tokenizer ids shared by the tiny presets and the shipped tiny models.
json byte_vocab() {
  return {{"vocab_size", 264},
          {"bos_token_id", 256},
          {"eos_token_id", 257},
          {"mask_token_id", 258},
          {"pad_token_id", 259},
          {"dllm_tokenizer", "bytes"},
          {"max_position_embeddings", 2048}};
}

json tiny(const std::string& model_type) {
  json j = byte_vocab();
  j.update({{"model_type", model_type},
            {"hidden_size", 64},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 2},
            {"head_dim", 16},
            {"intermediate_size", 128},
            {"rope_theta", 10000.0},
            {"rms_norm_eps", 1e-6},
            {"tie_word_embeddings", model_type == "qwen3"}});
  return j;
}

// tiny-llama with RoPE scaling whose frequency bands all lie within its R = 16 (theta 1e4: wavelengths
// 6.3, 19.9, 62.8, ...): original context 32 (yarn: 64), so llama3 keeps pair 0, blends pair 1 and
// divides the rest, and prompts past the original context see every band.
json tiny_llama_scaled(const json& rope_scaling) {
  json j = tiny("llama");
  j["rope_scaling"] = rope_scaling;
  return j;
}

// The same for yarn, whose context is the original one times the factor (transformers warns otherwise).
json tiny_llama_yarn(const json& rope_scaling) {
  json j = tiny_llama_scaled(rope_scaling);
  j["max_position_embeddings"] =
      int(rope_scaling.at("factor").get<double>()) * rope_scaling.at("original_max_position_embeddings").get<int>();
  return j;
}

// tiny-llama with dynamic NTK RoPE: its frequencies follow the length past max_position_embeddings
// (32), up to the context of 32 x 8 = 256 positions.
json tiny_llama_dynamic() {
  json j = tiny_llama_scaled({{"rope_type", "dynamic"}, {"factor", 8.0}});
  j["max_position_embeddings"] = 32;
  return j;
}

// A small ZAYA1 (CCA + top-1 MoE) for tests: the real structure at toy width.
json tiny_zaya() {
  json j = byte_vocab();
  j.update({{"model_type", "zaya"},
            {"hidden_size", 64},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 2},
            {"head_dim", 16},
            {"moe_intermediate_size", 64},
            {"num_experts", 4},
            {"router_hidden_size", 32},
            {"rope_parameters",
             {{"hybrid", {{"rope_type", "default"}, {"rope_theta", 10000.0}, {"partial_rotary_factor", 0.5}}}}},
            {"rms_norm_eps", 1e-5},
            {"tie_word_embeddings", true}});
  return j;
}

// tiny-zaya with transformers' "hybrid_sliding" layer type in its first layer: a window of 5
// positions, so that short test prompts slide, and a RoPE theta of its own.
json tiny_zaya_sliding() {
  json j = tiny_zaya();
  j["layer_types"] = {"hybrid_sliding", "hybrid"};
  j["sliding_window"] = 5;
  j["rope_parameters"]["hybrid_sliding"] = {
      {"rope_type", "default"}, {"rope_theta", 100.0}, {"partial_rotary_factor", 0.5}};
  return j;
}

const std::map<std::string, json>& presets() {
  static const std::map<std::string, json> p = {
      {"tiny", tiny("qwen3")},
      {"tiny-llama", tiny("llama")},
      {"tiny-qwen2", tiny("qwen2")},
      {"tiny-llama-rope-llama3", tiny_llama_scaled({{"rope_type", "llama3"},
                                                    {"factor", 8.0},
                                                    {"low_freq_factor", 1.0},
                                                    {"high_freq_factor", 4.0},
                                                    {"original_max_position_embeddings", 32}})},
      {"tiny-llama-rope-linear", tiny_llama_scaled({{"rope_type", "linear"}, {"factor", 4.0}})},
      {"tiny-llama-rope-dynamic", tiny_llama_dynamic()},
      // yarn over an original context of 64: pair 0 kept, pairs 1-2 blended, the rest divided by 4;
      // cos and sin times 0.1 ln 4 + 1. The second: its own betas, no truncation and the attention
      // factor from mscale / mscale_all_dim (DeepSeek's form).
      {"tiny-llama-rope-yarn",
       tiny_llama_yarn({{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 64}})},
      {"tiny-llama-rope-yarn-mscale", tiny_llama_yarn({{"rope_type", "yarn"},
                                                       {"factor", 8.0},
                                                       {"original_max_position_embeddings", 64},
                                                       {"beta_fast", 16.0},
                                                       {"beta_slow", 2.0},
                                                       {"truncate", false},
                                                       {"mscale", 1.0},
                                                       {"mscale_all_dim", 0.5}})},
      // Qwen/Qwen3-0.6B config.json
      {"qwen3-0.6b",
       {{"model_type", "qwen3"},
        {"hidden_size", 1024},
        {"num_hidden_layers", 28},
        {"num_attention_heads", 16},
        {"num_key_value_heads", 8},
        {"head_dim", 128},
        {"intermediate_size", 3072},
        {"vocab_size", 151936},
        {"rope_theta", 1000000.0},
        {"rms_norm_eps", 1e-6},
        {"tie_word_embeddings", true},
        {"max_position_embeddings", 40960},
        {"bos_token_id", 151643},
        {"eos_token_id", 151645},
        {"mask_token_id", 151669},
        {"dllm_tokenizer", "bytes"}}},
      // Qwen/Qwen3-1.7B config.json
      {"qwen3-1.7b",
       {{"model_type", "qwen3"},
        {"hidden_size", 2048},
        {"num_hidden_layers", 28},
        {"num_attention_heads", 16},
        {"num_key_value_heads", 8},
        {"head_dim", 128},
        {"intermediate_size", 6144},
        {"vocab_size", 151936},
        {"rope_theta", 1000000.0},
        {"rms_norm_eps", 1e-6},
        {"tie_word_embeddings", true},
        {"max_position_embeddings", 40960},
        {"bos_token_id", 151643},
        {"eos_token_id", 151645},
        {"mask_token_id", 151669},
        {"dllm_tokenizer", "bytes"}}},
      {"tiny-zaya", tiny_zaya()},
      {"tiny-zaya-sliding", tiny_zaya_sliding()},
      // Zyphra/ZAYA1-8B as transformers' ZayaConfig (40 hybrid layers); the mask id is Gemma-3's <mask>.
      {"zaya1-8b",
       {{"model_type", "zaya"},
        {"hidden_size", 2048},
        {"num_hidden_layers", 40},
        {"num_attention_heads", 8},
        {"num_key_value_heads", 2},
        {"head_dim", 128},
        {"moe_intermediate_size", 2048},
        {"num_experts", 16},
        {"router_hidden_size", 256},
        {"vocab_size", 262272},
        {"rms_norm_eps", 1e-5},
        {"tie_word_embeddings", true},
        {"rope_parameters",
         {{"hybrid", {{"rope_type", "default"}, {"rope_theta", 5000000.0}, {"partial_rotary_factor", 0.5}}}}},
        {"max_position_embeddings", 131072},
        {"bos_token_id", 2},
        {"eos_token_id", 106},
        {"pad_token_id", 0},
        {"mask_token_id", 4},
        {"dllm_tokenizer", "bytes"}}},
      // meta-llama/Meta-Llama-3-8B config.json
      {"llama3-8b",
       {{"model_type", "llama"},
        {"hidden_size", 4096},
        {"num_hidden_layers", 32},
        {"num_attention_heads", 32},
        {"num_key_value_heads", 8},
        {"intermediate_size", 14336},
        {"vocab_size", 128256},
        {"rope_theta", 500000.0},
        {"rms_norm_eps", 1e-5},
        {"tie_word_embeddings", false},
        {"max_position_embeddings", 8192},
        {"bos_token_id", 128000},
        {"eos_token_id", 128001},
        {"mask_token_id", 128002},
        {"dllm_tokenizer", "bytes"}}},
      // meta-llama/Llama-3.2-1B config.json (Llama 3.1's RoPE scaling with factor 32)
      {"llama3.2-1b",
       {{"model_type", "llama"},
        {"hidden_size", 2048},
        {"num_hidden_layers", 16},
        {"num_attention_heads", 32},
        {"num_key_value_heads", 8},
        {"head_dim", 64},
        {"intermediate_size", 8192},
        {"vocab_size", 128256},
        {"rope_theta", 500000.0},
        {"rope_scaling",
         {{"rope_type", "llama3"},
          {"factor", 32.0},
          {"low_freq_factor", 1.0},
          {"high_freq_factor", 4.0},
          {"original_max_position_embeddings", 8192}}},
        {"rms_norm_eps", 1e-5},
        {"tie_word_embeddings", true},
        {"max_position_embeddings", 131072},
        {"bos_token_id", 128000},
        {"eos_token_id", 128001},
        {"mask_token_id", 128002},
        {"dllm_tokenizer", "bytes"}}},
  };
  return p;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, j] : presets()) names.push_back(name);
  return names;
}

ModelConfig preset_config(const std::string& name) {
  auto it = presets().find(name);
  if (it == presets().end()) {
    std::string known;
    for (const std::string& n : preset_names()) known += " " + n;
    fail("preset:", name, " is not a preset; known presets:", known);
  }
  return parse_config(it->second, "preset:" + name);
}

}  // namespace dllm
