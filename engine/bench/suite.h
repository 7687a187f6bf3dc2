// A prompt suite ready to decode: each prompt's token ids and, where the task has one, the expected
// answer as token ids (what task accuracy is scored against).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/chat_format.h"
#include "engine/model/tokenizer.h"

namespace dllm {

struct SuitePrompt {
  std::string id, category;
  std::vector<int32_t> ids;                    // [Tp] prompt token ids
  std::optional<std::vector<int32_t>> answer;  // expected generated tokens (no <bos>, no <eos>)
};

// A suite read as chats: each text prompt is the user turn, after `system` when given, in the
// model's chat template (found in `source`, the model's folder).
struct SuiteChat {
  ChatTemplate chat_template;
  std::optional<std::string> system;
  std::string source;
};

// Loads a JSONL suite (datasets/README.md), keeping the prompts of `categories` (all when empty);
// text prompts and answers through `tok` (the model's tokenizer, find_tokenizer; null: ids only),
// each text prompt as a chat when `chat` is given (token-id prompts are then an error). Throws
// naming the file when nothing is selected.
std::vector<SuitePrompt> load_suite(const std::string& path, const std::vector<std::string>& categories,
                                    const Tokenizer* tok, const SuiteChat* chat = nullptr);

// "a,b,c" -> {"a","b","c"}; "" -> {}.
std::vector<std::string> split_list(const std::string& list);

}  // namespace dllm
