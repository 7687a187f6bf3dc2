// libFuzzer target: the prompt-suite JSONL loader (datasets/). Whatever it returns must hold, per
// prompt, exactly one of text or tokens, and only non-negative token ids.
#include <cstdlib>

#include "datasets/prompts.h"
#include "core/check.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dllm::fuzz::MemFile file(data, size);
  try {
    for (const dllm::Prompt& p : dllm::load_prompts(file.path())) {
      if (p.text.has_value() == p.tokens.has_value()) std::abort();
      if (p.tokens)
        for (int32_t id : *p.tokens)
          if (id < 0) std::abort();
    }
  } catch (const dllm::Error&) {
  }
  return 0;
}
