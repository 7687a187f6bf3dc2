// What the two tokenizer.json readers share (byte-level BPE, engine/model/bpe_tokenizer.h, and
// SentencePiece-style BPE, engine/model/sentencepiece_bpe.h): reading the file, token ids, the
// merges list, the added tokens and how they cut a text, the post-processor's special tokens, and
// UTF-8 helpers.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dllm::tokjson {

using nlohmann::json;

// The parsed file; throws naming `path` when it cannot be read or is not a JSON object.
json read_file(const std::string& path);

// A component's "type", "null" for null, "(no type)" for an object without one.
std::string type_of(const json& component);

// Throws: `component` `what` is not supported, naming the file and the tokenizers dllm-bench reads.
[[noreturn]] void refuse(const std::string& path, const std::string& component, const std::string& what);

// A token id read from the file: an integer in 0..2^22 (real vocabularies hold up to a few 100k).
int32_t token_id(const json& v, const std::string& path, const std::string& what);

// True when j[key] is absent, null or "".
bool null_or_empty(const json& j, const char* key);

// model.merges: "a b" strings or [a, b] pairs, in rank order.
std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& path);

// The added and special tokens: matched in a text before anything else, the longest at each position.
class AddedTokens {
 public:
  struct Token {
    std::string content;
    int32_t id;
  };
  AddedTokens() = default;
  // The tokens of `added_tokens` for which keep(token's JSON) is true; throws on an lstrip, rstrip or
  // single_word token (not supported).
  AddedTokens(const json& added_tokens, const std::string& path, const std::function<bool(const json&)>& keep);
  // Cuts `text` at the tokens: on_text(piece, offset in text) for the text between them (never
  // empty), on_token(id) for each token, in order.
  void split(const std::string& text, const std::function<void(const std::string&, size_t)>& on_text,
             const std::function<void(int32_t)>& on_token) const;
  const std::vector<Token>& tokens() const { return tokens_; }
  // Replaces each token's content by f(content) (the normalized form a normalized token matches).
  void transform(const std::function<std::string(const std::string&)>& f);

 private:
  void index();                                         // sorts the tokens longest first and fills by_first_byte_
  std::vector<Token> tokens_;                           // longest first
  std::array<std::vector<size_t>, 256> by_first_byte_;  // the tokens starting with each byte, in order
};

// The special tokens the post-processor puts before and after the text (TemplateProcessing's single
// template; ByteLevel adds none). Throws on any other post-processor.
struct TextTemplate {
  TextTemplate() = default;
  TextTemplate(const json& post_processor, const std::string& path);
  std::vector<int32_t> prefix, suffix;
};

// The length of the valid UTF-8 sequence at s[i], or 0 when none begins there.
size_t utf8_sequence(const std::string& s, size_t i);
bool is_utf8(const std::string& s);
// Throws when `text` is not valid UTF-8, naming the first bad byte and the tokenizer file.
void check_utf8(const std::string& text, const std::string& path);
void append_utf8(std::string& out, uint32_t cp);
// The code points of a UTF-8 string known to be valid (JSON strings are).
std::vector<uint32_t> code_points(const std::string& s);

}  // namespace dllm::tokjson
