#include "engine/model/tokenizer.h"

#include <filesystem>

#include "core/check.h"
#include "engine/model/bpe_tokenizer.h"
#include "engine/model/sentencepiece_bpe.h"
#include "engine/model/sentencepiece_model.h"
#include "engine/model/tokenizer_json.h"

namespace dllm {

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

ByteTokenizer::ByteTokenizer(const ModelConfig& cfg) : bos_(cfg.bos_token_id) {
  DLLM_CHECK(cfg.byte_tokenizer, "the config does not declare \"dllm_tokenizer\": \"bytes\"");
}

std::vector<int32_t> ByteTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  if (bos_ >= 0) ids.push_back(bos_);
  const std::vector<int32_t> bytes = encode_text(text);
  ids.insert(ids.end(), bytes.begin(), bytes.end());
  return ids;
}

std::vector<int32_t> ByteTokenizer::encode_text(const std::string& text) const {
  std::vector<int32_t> ids;
  for (unsigned char c : text) ids.push_back(int32_t(c));  // bytes >= 0x80 too (char may be signed)
  return ids;
}

std::string ByteTokenizer::token_bytes(int32_t id) const {
  return id >= 0 && id < 256 ? std::string(1, char(id)) : "<|" + std::to_string(id) + "|>";
}

std::unique_ptr<Tokenizer> read_tokenizer_json(const std::string& path) {
  const nlohmann::json j = tokjson::read_file(path);
  const auto byte_level = [](const nlohmann::json& component) {
    if (tokjson::type_of(component) == "ByteLevel") return true;
    for (const char* list : {"pretokenizers", "decoders"})
      for (const nlohmann::json& step :
           component.is_object() ? component.value(list, nlohmann::json::array()) : nlohmann::json::array())
        if (tokjson::type_of(step) == "ByteLevel") return true;
    return false;
  };
  try {
    if (byte_level(j.value("pre_tokenizer", nlohmann::json())) || byte_level(j.value("decoder", nlohmann::json())))
      return std::make_unique<BpeTokenizer>(path, j);
    return std::make_unique<SentencePieceBpeTokenizer>(path, j);
  } catch (const nlohmann::json::exception& e) {  // a field the readers do not check has another type
    fail(path, ": a field is missing or has the wrong type (", e.what(), "): not a tokenizer.json dllm-bench can read");
  }
}

std::unique_ptr<Tokenizer> find_tokenizer_files(const std::string& dir) {
  const std::filesystem::path json = std::filesystem::path(dir) / "tokenizer.json";
  if (std::filesystem::is_regular_file(json)) return read_tokenizer_json(json.string());
  const std::filesystem::path model = std::filesystem::path(dir) / "tokenizer.model";
  if (std::filesystem::is_regular_file(model)) return load_sentencepiece_model(model.string());
  return nullptr;
}

std::unique_ptr<Tokenizer> find_tokenizer(const std::string& model, const ModelConfig& cfg) {
  if (std::unique_ptr<Tokenizer> files = find_tokenizer_files(model)) return files;
  if (cfg.byte_tokenizer) return std::make_unique<ByteTokenizer>(cfg);
  return nullptr;
}

namespace {

// The length of the UTF-8 sequence lead byte `c` begins, or 0 when it begins none.
int utf8_length(unsigned char c) {
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::string TextStream::push(int32_t id) {
  std::string text = held_ + tok_.token_bytes(id);
  held_.clear();
  // An unfinished code point can only be the last 1..3 bytes: a lead byte and continuation bytes.
  for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back for its lead
    if (utf8_length(c) > int(back)) {
      const size_t keep = text.size() - back;
      held_.assign(text, keep);
      text.erase(keep);
    }
    break;
  }
  return text;
}

std::string TextStream::finish() {
  const bool unfinished = !held_.empty();
  held_.clear();
  return unfinished ? "\xEF\xBF\xBD" : "";
}

}  // namespace dllm
