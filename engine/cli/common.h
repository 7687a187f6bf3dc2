// Flags and helpers shared by the dllm-bench commands.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cli/args.h"
#include "engine/decode/generation.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/model.h"

namespace dllm::cli {

extern const std::vector<FlagSpec> kModelFlags;    // --model --weights-seed --backend
extern const std::vector<FlagSpec> kPromptFlags;   // --prompt --tokens
extern const std::vector<FlagSpec> kSamplerFlags;  // --max-new-tokens --temperature --top-k --top-p --seed
extern const std::vector<FlagSpec> kTidarFlags;    // --block-size --layout --levels ...

std::vector<FlagSpec> concat(std::initializer_list<std::vector<FlagSpec>> groups);

// Parses argv[2..]; prints the usage and returns true when --help was given.
bool parse_or_help(Args& a, int argc, char** argv);

std::unique_ptr<Model> load_model(const Args& a);
std::string model_spec(const Args& a);
std::vector<int32_t> prompt_ids(const Args& a, const ModelConfig& cfg);
SamplerConfig sampler_config(const Args& a);
TidarOptions tidar_options(const Args& a, const ModelConfig& cfg);
nlohmann::json tidar_options_json(const TidarOptions& o);
// Decoded text for models with the byte tokenizer, else "".
std::string text_of(const ModelConfig& cfg, const std::vector<int32_t>& ids);

}  // namespace dllm::cli
