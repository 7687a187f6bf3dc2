#include "engine/model/tokenizer.h"

#include "core/check.h"

namespace dllm {

ByteTokenizer::ByteTokenizer(const ModelConfig& cfg) : bos_(cfg.bos_token_id) {
  DLLM_CHECK(cfg.byte_tokenizer,
             "this model has no tokenizer dllm-bench knows (its config.json does not declare "
             "\"dllm_tokenizer\": \"bytes\"): give the prompt as token ids with --tokens");
}

std::vector<int32_t> ByteTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  if (bos_ >= 0) ids.push_back(bos_);
  for (unsigned char c : text) ids.push_back(int32_t(c));
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id >= 0 && id < 256)
      out.push_back(char(id));
    else
      out += "<|" + std::to_string(id) + "|>";
  }
  return out;
}

}  // namespace dllm
