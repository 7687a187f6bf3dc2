// Prompt suites as JSONL, one prompt per line. Accepted forms (see datasets/README.md):
//   {"id": "...", "category": "...", "prompt": "text", "answer": "..."}     text prompts
//   {"id": "...", "tokens": [256, 72, 105]}                                  token-id prompts
//   {"question_id": 81, "category": "writing", "turns": ["...", ...]}        Spec-Bench / MT-Bench
// "id", "category" and "answer" are optional. Blank lines are skipped. A malformed line is an error
// naming the file and the line.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dllm {

struct Prompt {
  std::string id;
  std::string category;
  std::optional<std::string> text;             // a text prompt (needs a tokenizer)
  std::optional<std::vector<int32_t>> tokens;  // or token ids
  std::optional<std::string> answer;           // the expected answer, where the task has one
};

std::vector<Prompt> load_prompts(const std::string& path);

}  // namespace dllm
