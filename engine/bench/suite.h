// A prompt suite ready to decode: each prompt's token ids and, where the task has one, the expected
// answer as token ids (what task accuracy is scored against).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/tokenizer.h"

namespace dllm {

struct SuitePrompt {
  std::string id, category;
  std::vector<int32_t> ids;                    // [Tp] prompt token ids
  std::optional<std::vector<int32_t>> answer;  // expected generated tokens (no <bos>, no <eos>)
};

// Loads a JSONL suite (datasets/README.md), keeping the prompts of `categories` (all when empty);
// text prompts and answers through `tok` (the model's tokenizer, find_tokenizer; null: ids only).
// Throws naming the file when nothing is selected.
std::vector<SuitePrompt> load_suite(const std::string& path, const std::vector<std::string>& categories,
                                    const Tokenizer* tok);

// "a,b,c" -> {"a","b","c"}; "" -> {}.
std::vector<std::string> split_list(const std::string& list);

}  // namespace dllm
