#include "engine/cli/common.h"

#include <algorithm>
#include <iostream>

#include "core/check.h"
#include "engine/model/tokenizer.h"

#ifndef DLLM_DEFAULT_MODEL
#define DLLM_DEFAULT_MODEL "models/tiny-tidar"
#endif

namespace dllm::cli {

const std::vector<FlagSpec> kModelFlags = {
    {"--model", "DIR|preset:NAME", "checkpoint folder or built-in preset (default " DLLM_DEFAULT_MODEL ")"},
    {"--weights-seed", "S", "seed of a preset's random weights (default 0)"},
    {"--backend", "NAME",
     "cpu (default); cpu-bf16 (AVX512-BF16 CPUs: linear on inputs rounded to bf16); gpu, gpu-invariant (bitwise "
     "batch-invariant), gpu-mma (matrix units, NVIDIA sm_80+ or AMD gfx90a/gfx94x: linear and attention on "
     "bf16 inputs, a bf16 KV cache), gpu-vendor (linear layers through cuBLASLt) in a GPU build, each also as "
     "NAME-eager (no graphs)"},
};
// How a chat is written, for one prompt or a suite.
const std::vector<FlagSpec> kChatFormatFlags = {
    {"--chat-format", "chatml|llama3|llama3.1|gemma",
     "with --chat: this format instead of the one detected from the model's chat template"},
    {"--chat-date", "DATE",
     "with --chat, llama3.1: the \"Today Date\" of the system turn, e.g. \"26 Jul 2024\" (default: the template's)"},
};
const std::vector<FlagSpec> kChatFlags = concat(
    {{{"--chat", "", "prompt as a chat: --system and --user in the model's chat format (engine/model/chat_format.h)"},
      {"--system", "TEXT", "with --chat: the system turn (none when not given)"},
      {"--user", "TEXT", "with --chat: the user turn"}},
     kChatFormatFlags});
const std::vector<FlagSpec> kSuiteChatFlags =
    concat({{{"--chat", "", "each text prompt of the suite as the user turn of the model's chat template"},
             {"--system", "TEXT", "with --chat: the system turn of every prompt (none when not given)"}},
            kChatFormatFlags});
const std::vector<FlagSpec> kPromptFlags = concat(
    {{{"--prompt", "TEXT", "prompt text (models with a tokenizer.json, a tokenizer.model or the byte tokenizer)"},
      {"--tokens", "IDS", "prompt as comma-separated token ids, e.g. 256,72,105"}},
     kChatFlags});
const std::vector<FlagSpec> kSamplerFlags = {
    {"--max-new-tokens", "N", "tokens to generate at most (default 64)"},
    {"--temperature", "T", "0 = greedy (default 0)"},
    {"--top-k", "K", "keep the K most likely tokens (default 0 = off)"},
    {"--top-p", "P", "keep the smallest set with probability >= P (default 1 = off)"},
    {"--seed", "S", "sampling seed (default 0)"},
};
const std::vector<FlagSpec> kTidarFlags = {
    {"--block-size", "K", "TiDAR drafts per step (default: the model's block_size, else 16)"},
    {"--layout", "single|two", "single forward with proposal blocks (default) or two forwards"},
    {"--levels", "SPEC",
     "proposal levels: dense (default), P3 = 0,6,16, P5 = 0,2,5,10,16, zyphra = 0,4,7,11, or a list"},
    {"--proposal-attention", "MODE", "bidirectional (default) or causal inside proposal blocks"},
    {"--mix-weight", "W", "logit mixing: verify with W*AR + (1-W)*diffusion logits (default 1 = lossless)"},
    {"--draft-temperature", "T", "0 = argmax drafter (default); > 0 samples drafts (rejection sampling)"},
};
const std::vector<FlagSpec> kLoadFlags = {
    {"--max-memory", "SIZE", "refuse to start when weights + KV cache + workspace exceed SIZE (e.g. 2G, 512M)"},
    {"--check-weights", "", "scan every weight for NaN/Inf on load and name the first bad tensor"},
};

std::vector<FlagSpec> concat(std::initializer_list<std::vector<FlagSpec>> groups) {
  std::vector<FlagSpec> all;
  for (const auto& g : groups) all.insert(all.end(), g.begin(), g.end());
  return all;
}

bool parse_or_help(Args& a, int argc, char** argv) {
  a.parse(argc, argv, 2);
  if (a.help()) std::cout << a.usage();
  return a.help();
}

std::string model_spec(const Args& a) { return a.str("--model", DLLM_DEFAULT_MODEL); }

std::unique_ptr<Model> load_model(const Args& a) {
  auto model = Model::load(model_spec(a), uint64_t(a.integer("--weights-seed", 0, 0, INT64_MAX)));
  if (a.has("--check-weights")) model->check_finite();
  return model;
}

void check_run_fits(const Args& a, const ModelSummary& model, const RunShape& shape, const Backend& backend) {
  std::optional<int64_t> max_memory;
  if (a.has("--max-memory")) max_memory = parse_memory_size(a.str("--max-memory", ""), "--max-memory");
  check_memory(memory_need(model.config, model.weight_bytes, shape, backend.kv_cache_dtype(model.config)), max_memory,
               backend.memory_limit(), model.source + " on backend " + backend.name());
}

namespace {

// Whether --chat is given, after checking that every chat flag of `flags` comes with it.
bool chat_given(const Args& a, std::initializer_list<const char*> flags) {
  for (const char* flag : flags) DLLM_CHECK(a.has("--chat") || !a.has(flag), flag, " applies to --chat only");
  return a.has("--chat");
}

// The chat template: the model's, or --chat-format's, with --chat-date.
ChatTemplate chat_template_of(const Args& a) {
  std::optional<ChatFormat> named;
  if (a.has("--chat-format")) named = parse_chat_format(a.str("--chat-format", ""));
  std::optional<std::string> today;
  if (a.has("--chat-date")) today = a.str("--chat-date", "");
  DLLM_CHECK(!today || !today->empty(), "--chat-date: give a date, e.g. \"26 Jul 2024\"");
  const ChatTemplate t = find_chat_template(model_spec(a), named, today);
  DLLM_CHECK(!today || t.format == ChatFormat::llama31, "--chat-date applies to the llama3.1 chat format only, not ",
             chat_format_name(t.format));
  return t;
}

std::optional<std::string> system_turn(const Args& a) {
  return a.has("--system") ? std::optional<std::string>(a.str("--system", "")) : std::nullopt;
}

}  // namespace

std::optional<ChatPrompt> chat_prompt(const Args& a) {
  if (!chat_given(a, {"--system", "--user", "--chat-format", "--chat-date"})) return std::nullopt;
  DLLM_CHECK(a.has("--user"), "--chat needs --user TEXT (the user turn)");
  return ChatPrompt{chat_template_of(a), {system_turn(a), a.str("--user", "")}};
}

std::optional<SuiteChat> suite_chat(const Args& a) {
  if (!chat_given(a, {"--system", "--chat-format", "--chat-date"})) return std::nullopt;
  return SuiteChat{chat_template_of(a), system_turn(a), model_spec(a)};
}

std::vector<int32_t> prompt_ids(const Args& a, const ModelConfig& cfg) {
  DLLM_CHECK(int(a.has("--prompt")) + int(a.has("--tokens")) + int(a.has("--chat")) == 1,
             "give exactly one of --prompt TEXT, --tokens IDS and --chat (with --user TEXT)");
  const std::optional<ChatPrompt> chat = chat_prompt(a);
  if (a.has("--tokens")) return a.int_list("--tokens");
  const std::unique_ptr<Tokenizer> tok = find_tokenizer(model_spec(a), cfg);
  DLLM_CHECK(tok,
             "this model has no tokenizer dllm-bench knows (no tokenizer.json or tokenizer.model in its folder, and "
             "its config.json does not declare \"dllm_tokenizer\": \"bytes\"): give the prompt as token ids with "
             "--tokens");
  if (chat) return encode_chat(*tok, chat->chat_template, chat->turns, model_spec(a));
  return tok->encode(a.str("--prompt", ""));
}

RunShape generate_shape(const GenerateRequest& req, const ModelConfig& cfg, const TidarOptions* tidar) {
  const int64_t prompt = int64_t(req.prompt.size());
  const int lookahead = tidar ? tidar->lookahead() : 0;  // how far the decoder's passes reach
  const int64_t pass = tidar ? tidar->pass_tokens() : 1;
  validate_request(req, cfg, lookahead);
  return RunShape{1, prompt + req.max_new_tokens + lookahead, std::max(prompt, pass)};
}

SamplerConfig sampler_config(const Args& a) {
  SamplerConfig s;
  s.temperature = float(a.number("--temperature", 0.0, 0.0, 100.0));
  s.top_k = int(a.integer("--top-k", 0, 0, INT32_MAX));
  s.top_p = float(a.number("--top-p", 1.0, 1e-6, 1.0));
  s.seed = uint64_t(a.integer("--seed", 0, 0, INT64_MAX));
  return s;
}

TidarOptions tidar_options(const Args& a, const ModelConfig& cfg) {
  TidarOptions o;
  o.block_size = int(a.integer("--block-size", cfg.block_size, 1, 4096));
  o.layout = parse_layout(a.str("--layout", "single"));
  DLLM_CHECK(!(a.has("--levels") && o.layout == Layout::two_forward),
             "--levels applies to the single-forward layout only (drop it or use --layout single)");
  o.levels = parse_levels(a.str("--levels", "dense"), o.block_size);
  const std::string att = a.str("--proposal-attention", "bidirectional");
  DLLM_CHECK(att == "bidirectional" || att == "causal", "--proposal-attention must be bidirectional or causal");
  o.proposal_attention = att == "causal" ? ProposalAttention::causal : ProposalAttention::bidirectional;
  o.mix_weight = float(a.number("--mix-weight", 1.0, 0.0, 1.0));
  o.draft_temperature = float(a.number("--draft-temperature", 0.0, 0.0, 100.0));
  o.validate(cfg);
  return o;
}

nlohmann::json tidar_options_json(const TidarOptions& o) {
  return {{"block_size", o.block_size},
          {"layout", layout_name(o.layout)},
          {"levels", o.levels},
          {"proposal_attention", o.proposal_attention == ProposalAttention::causal ? "causal" : "bidirectional"},
          {"mix_weight", o.mix_weight},
          {"draft_temperature", o.draft_temperature}};
}

}  // namespace dllm::cli
