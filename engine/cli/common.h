// Flags and helpers shared by the dllm-bench commands.
#pragma once
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/bench/suite.h"
#include "engine/cli/args.h"
#include "engine/decode/generation.h"
#include "engine/backend/memory.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/chat_format.h"
#include "engine/model/model.h"

namespace dllm::cli {

extern const std::vector<FlagSpec> kModelFlags;      // --model --weights-seed --backend
extern const std::vector<FlagSpec> kChatFlags;       // --chat --system --user --chat-format --chat-date
extern const std::vector<FlagSpec> kSuiteChatFlags;  // --chat --system --chat-format --chat-date, for a suite
extern const std::vector<FlagSpec> kPromptFlags;     // --prompt --tokens and kChatFlags
extern const std::vector<FlagSpec> kSamplerFlags;    // --max-new-tokens --temperature --top-k --top-p --seed
extern const std::vector<FlagSpec> kTidarFlags;      // --block-size --layout --levels ...
extern const std::vector<FlagSpec> kLoadFlags;       // --max-memory --check-weights

std::vector<FlagSpec> concat(std::initializer_list<std::vector<FlagSpec>> groups);

// Parses argv[2..]; prints the usage and returns true when --help was given.
bool parse_or_help(Args& a, int argc, char** argv);

// Loads the model; with --check-weights, scans every weight for NaN/Inf first.
std::unique_ptr<Model> load_model(const Args& a);
// Before the model is loaded (a preset's weights allocated) or anything else allocated: refuses a
// run of this shape whose weights, KV cache and workspace exceed what the backend's memory has free
// (the host's, or the GPU's) or --max-memory.
void check_run_fits(const Args& a, const ModelSummary& model, const RunShape& shape, const Backend& backend);
// The shape of one generation, AR when `tidar` is null, else TiDAR with those options; throws when
// the request does not fit the model (validate_request), before its memory is checked.
RunShape generate_shape(const GenerateRequest& req, const ModelConfig& cfg, const TidarOptions* tidar);
std::string model_spec(const Args& a);
struct ChatPrompt {
  ChatTemplate chat_template;
  ChatTurns turns;
};
// With --chat: --system and --user in the model's chat template (or --chat-format); without it,
// none. Throws on a chat flag without --chat, and on --chat without --user.
std::optional<ChatPrompt> chat_prompt(const Args& a);
// For a prompt suite: with --chat, every text prompt as the user turn after --system in the model's
// chat template; without it, none. Throws on a chat flag (kSuiteChatFlags) without --chat.
std::optional<SuiteChat> suite_chat(const Args& a);
// --tokens as given, or --prompt encoded by the model's tokenizer (find_tokenizer), or the --chat
// prompt encoded by it (encode_chat).
std::vector<int32_t> prompt_ids(const Args& a, const ModelConfig& cfg);
SamplerConfig sampler_config(const Args& a);
// The TiDAR flags, validated against the model (TidarOptions::validate).
TidarOptions tidar_options(const Args& a, const ModelConfig& cfg);
nlohmann::json tidar_options_json(const TidarOptions& o);

}  // namespace dllm::cli
