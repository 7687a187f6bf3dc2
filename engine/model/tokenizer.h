// The byte tokenizer of the project's own small models: ids 0..255 are the bytes, higher ids are
// special tokens declared in config.json (bos/eos/mask/pad). Other models take prompts as ids.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace dllm {

class ByteTokenizer {
 public:
  // Throws when the config does not declare "dllm_tokenizer": "bytes".
  explicit ByteTokenizer(const ModelConfig& cfg);
  // The bytes of `text`, after <bos> when the model has one.
  std::vector<int32_t> encode(const std::string& text) const;
  // Bytes as they are; any other id as <|id|> (EOS included, so nothing is hidden).
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  int bos_;
};

}  // namespace dllm
