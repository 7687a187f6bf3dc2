// Zyphra's legacy ZAYA1 config.json (Megatron key names, 2L half layers: ZAYA1-base, ZAYA1-8B-legacy)
// as the transformers 5 ZayaConfig that parse_config reads. A JSON -> JSON conversion; the rules are
// in engine/model/zaya.md ("The legacy layout").
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace dllm {

// Whether `j` is a zaya config in the legacy layout: ffn_hidden_size or zaya_mlp_expansion set and
// moe_intermediate_size not.
bool is_zaya_legacy_config(const nlohmann::json& j);

// The current-layout config of the legacy config `legacy`: layers halved, keys renamed, layer types
// and RoPE per layer type formed, legacy-only keys dropped. Throws naming `source` and the key for a
// config the engine cannot run as ZAYA1.
nlohmann::json zaya_config_from_legacy(const nlohmann::json& legacy, const std::string& source);

}  // namespace dllm
