// Byte-level BPE read from a Hugging Face tokenizer.json: the pipeline of GPT-2, Llama 3 and Qwen2/3.
// The components it reads (anything else is refused with an error naming the component and file):
//   normalizer      null, or NFC (through ICU, when the build has it)
//   pre_tokenizer   ByteLevel (use_regex: GPT-2's split regex), or a Sequence of Split (a Regex or
//                   String pattern, behavior Isolated) followed by ByteLevel
//   model           BPE: vocab, merges ("a b" strings or [a, b] pairs) applied by rank, ignore_merges
//   post_processor  null, ByteLevel, TemplateProcessing (the special tokens its single template puts
//                   around the text), or a Sequence of these
//   decoder         ByteLevel
//   added_tokens    matched in the raw text before anything else, the longest at each position
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/model/bpe_merges.h"
#include "engine/model/tokenizer.h"
#include "engine/model/tokenizer_json.h"

namespace dllm {

// The byte-level alphabet's symbol for byte b, as UTF-8: the printable code point that stands for it
// in a byte-level BPE's vocabulary (GPT-2's mapping).
std::string byte_level_symbol(uint8_t b);

class BpeTokenizer : public Tokenizer {
 public:
  // Checks `j`, read from `path` (a tokenizer.json); throws dllm::Error naming the file and the component.
  BpeTokenizer(const std::string& path, const nlohmann::json& j);
  ~BpeTokenizer() override;
  // Throws when `text` is not valid UTF-8.
  std::vector<int32_t> encode(const std::string& text) const override;
  std::vector<int32_t> encode_text(const std::string& text) const override;
  std::string token_bytes(int32_t id) const override;

 private:
  class Regex;  // a compiled PCRE2 pattern
  // Appends the ids of a text without added tokens: normalize, split, map bytes, merge.
  void encode_plain(const std::string& text, std::vector<int32_t>& ids) const;
  // Appends the ids of one pre-token (raw bytes) after the BPE merges.
  void encode_word(const std::string& word, std::vector<int32_t>& ids) const;

  std::string path_;
  [[maybe_unused]] bool nfc_ = false;               // NFC normalizer; read only where ICU is built in
  std::vector<std::unique_ptr<Regex>> splits_;      // applied in order, each to the pieces of the last
  std::unordered_map<std::string, int32_t> vocab_;  // byte-level symbols (UTF-8) -> id
  BpeMerges merges_;
  bool ignore_merges_ = false;           // a whole pre-token in the vocab is taken as is
  std::array<int32_t, 256> byte_ids_{};  // the id of each single byte's symbol
  tokjson::AddedTokens added_;
  tokjson::TextTemplate template_;  // the post-processor's special tokens
  std::vector<std::string> bytes_;  // id -> the bytes it decodes to
  std::vector<bool> known_;         // id -> has a token
};

}  // namespace dllm
