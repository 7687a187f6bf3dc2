// config.json (Hugging Face layout) <-> ModelConfig. Every field is validated; an error names the
// file and the field and says what is expected.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "core/model.h"

namespace dllm {

// Parses a config.json object. `source` names the file in error messages.
ModelConfig parse_config(const nlohmann::json& j, const std::string& source);
ModelConfig load_config(const std::string& path);

// The Hugging Face config.json of a ModelConfig (what presets and exported checkpoints carry).
nlohmann::json config_to_json(const ModelConfig& cfg);

}  // namespace dllm
