// libFuzzer target: the tokenizer.json readers and encode (engine/model/bpe_tokenizer.cpp,
// engine/model/sentencepiece_bpe.cpp). The input is a tokenizer.json, a NUL byte, then a text to
// encode. A tokenizer it accepts must encode the text (or refuse it as invalid UTF-8) and decode and
// stream the ids; a byte-level one into bytes holding the text (the fuzz build has no ICU, so no
// normalizer changes the text; a SentencePiece-style normalizer may).
#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/check.h"
#include "engine/model/bpe_tokenizer.h"
#include "engine/model/tokenizer.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = std::find(data, data + size, uint8_t(0));
  const dllm::fuzz::MemFile file(data, size_t(nul - data));
  const std::string text = nul == data + size ? std::string() : std::string(nul + 1, data + size);
  try {
    const std::unique_ptr<dllm::Tokenizer> tok = dllm::read_tokenizer_json(file.path());
    const std::vector<int32_t> ids = tok->encode(text);
    const std::string decoded = tok->decode(ids);
    dllm::TextStream stream(*tok);
    for (int32_t id : ids) stream.push(id);
    stream.finish();
    if (dynamic_cast<const dllm::BpeTokenizer*>(tok.get()) && decoded.find(text) == std::string::npos) std::abort();
  } catch (const dllm::Error&) {
  }
  return 0;
}
