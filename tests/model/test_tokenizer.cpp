// The tokenizers without Python: byte-level BPE from small hand-written tokenizer.json files (merges
// by rank, added tokens first, the post-processor's special tokens, errors that name the component and
// the file) and the text stream that never splits a code point. Parity with Hugging Face tokenizers
// on trained tokenizers: tests/parity/tokenizer_parity.py.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "engine/model/tokenizer.h"
#include "tests/testing.h"

namespace dllm {
namespace {

using nlohmann::json;

std::string write(const json& j) {
  const std::string path = testutil::fresh_dir("tokenizer") + "/tokenizer.json";
  std::ofstream(path) << j.dump();
  return path;
}

std::vector<int32_t> encode(const json& j, const std::string& text) {
  return read_tokenizer_json(write(j))->encode(text);
}

TEST(BpeTokenizer, MergesApplyByRank) {
  // "abc": with b+c ranked first the word is a|bc; with a+b first it is ab|c.
  EXPECT_EQ(encode(testutil::byte_level_tokenizer({{"b", "c"}, {"a", "b"}}), "abc"), (std::vector<int32_t>{'a', 256}));
  EXPECT_EQ(encode(testutil::byte_level_tokenizer({{"a", "b"}, {"b", "c"}}), "abc"), (std::vector<int32_t>{256, 'c'}));
  // Merges build on merges; the leftmost of equal pairs merges first ("aaa" -> aa|a).
  const json j = testutil::byte_level_tokenizer({{"a", "a"}, {"aa", "a"}});
  EXPECT_EQ(encode(j, "aaa"), (std::vector<int32_t>{257}));
  EXPECT_EQ(encode(j, "aa"), (std::vector<int32_t>{256}));
  // A long word (merged in n log n): 100,001 'a' -> 50,000 "aa" first (rank 0), then the last
  // "aa" takes the odd 'a' (rank 1).
  const std::vector<int32_t> long_word = encode(j, std::string(100001, 'a'));
  ASSERT_EQ(long_word.size(), 50000u);
  EXPECT_EQ(long_word.front(), 256);
  EXPECT_EQ(long_word[49998], 256);
  EXPECT_EQ(long_word.back(), 257);
  // The [a, b] pair form reads the same as "a b".
  json pairs = testutil::byte_level_tokenizer({{"b", "c"}, {"a", "b"}});
  pairs["model"]["merges"] = json::array({json::array({"b", "c"}), json::array({"a", "b"})});
  EXPECT_EQ(encode(pairs, "abc"), (std::vector<int32_t>{'a', 256}));
}

TEST(BpeTokenizer, ByteLevelSplitsBeforeMerging) {
  // GPT-2's regex keeps " b" apart from "a": no merge crosses a pre-token boundary.
  const std::string sp = testutil::byte_symbol(' ');
  const json j = testutil::byte_level_tokenizer({{"a", sp}, {sp, "b"}});
  EXPECT_EQ(encode(j, "a b"), (std::vector<int32_t>{'a', 257}));
  // Every byte has a token: text outside ASCII round-trips.
  const std::string text = "naïve 日本 🙂\t\n";
  const auto tok = read_tokenizer_json(write(j));
  EXPECT_EQ(tok->decode(tok->encode(text)), text);
}

TEST(BpeTokenizer, AddedTokensMatchFirstLongestFirst) {
  json j = testutil::byte_level_tokenizer({{"a", "b"}});
  j["added_tokens"] = json::array(
      {{{"id", 300}, {"content", "<x>"}, {"special", true}}, {{"id", 301}, {"content", "<x>ab"}, {"special", false}}});
  const auto tok = read_tokenizer_json(write(j));
  // "<x>ab" beats "<x>"; "ab" beside an added token still merges; "<x" alone is plain text.
  EXPECT_EQ(tok->encode("ab<x>ab<x>ab"), (std::vector<int32_t>{256, 301, 301}));
  EXPECT_EQ(tok->encode("<x>a<x>bab"), (std::vector<int32_t>{300, 'a', 300, 'b', 256}));
  EXPECT_EQ(tok->encode("<x"), (std::vector<int32_t>{'<', 'x'}));
  EXPECT_EQ(tok->decode({300, 256, 301}), "<x>ab<x>ab");
  EXPECT_EQ(tok->token_bytes(999), "<|999|>");
}

TEST(BpeTokenizer, SplitRegexAndTemplate) {
  json j = testutil::byte_level_tokenizer({{"1", "2"}});
  // Digits one at a time (Llama 3 takes up to three), in a Sequence with ByteLevel; <s> before the text.
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\p{N}|[^\\p{N}]+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
  j["added_tokens"] = json::parse(R"([{"id": 400, "content": "<s>", "special": true}])");
  j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [400], "tokens": ["<s>"]}}})");
  EXPECT_EQ(encode(j, "x12"), (std::vector<int32_t>{400, 'x', '1', '2'}));
}

void expect_refused(const json& j, const std::string& phrase) {
  const std::string path = write(j);
  try {
    read_tokenizer_json(path);
    FAIL() << "no error for: " << phrase;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(BpeTokenizer, UnsupportedComponentsAreNamed) {
  const json ok = testutil::byte_level_tokenizer({{"a", "b"}});
  const auto with = [&](const std::string& key, const json& value) {
    json j = ok;
    j[key] = value;
    return j;
  };
  expect_refused(with("normalizer", {{"type", "Lowercase"}}), "normalizer Lowercase");
  expect_refused(with("pre_tokenizer", {{"type", "Whitespace"}}), "pre_tokenizer Whitespace");
  expect_refused(with("pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array()}}), "without ByteLevel");
  expect_refused(with("decoder", {{"type", "WordPiece"}}), "decoder WordPiece");
  expect_refused(with("decoder", nullptr), "decoder null");
  expect_refused(with("post_processor", {{"type", "BertProcessing"}}), "post_processor BertProcessing");
  expect_refused(with("model", {{"type", "Unigram"}}), "model Unigram");
  json fallback = ok;
  fallback["model"]["byte_fallback"] = true;
  expect_refused(fallback, "byte_fallback");
  json bad_merge = ok;
  bad_merge["model"]["merges"].push_back("q zz");
  expect_refused(bad_merge, "merge 1");
  json no_byte = ok;
  no_byte["model"]["vocab"].erase(testutil::byte_symbol(0));
  expect_refused(no_byte, "no token for byte 0");
  json split = with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "("}}}, {"behavior", "Isolated"}});
  expect_refused(split, "does not compile");
  split["pre_tokenizer"]["behavior"] = "MergedWithPrevious";
  expect_refused(split, "behavior MergedWithPrevious");
  json clash = ok;
  clash["added_tokens"] = json::parse(R"([{"id": 5, "content": "<x>"}])");
  expect_refused(clash, "id 5 is given to two different tokens");
  json bad_id = ok;
  bad_id["model"]["vocab"]["zz"] = 1e300;
  expect_refused(bad_id, "not a token id");
  json wrong_type = ok;
  wrong_type["added_tokens"] = json::parse(R"([{"id": 300, "content": "<x>", "lstrip": "yes"}])");
  expect_refused(wrong_type, "not a tokenizer.json dllm-bench can read");
  const std::string dir = testutil::fresh_dir("tokenizer");
  std::ofstream(dir + "/tokenizer.json") << "{\"model\": ";
  EXPECT_THROW(read_tokenizer_json(dir + "/tokenizer.json"), Error);
}

TEST(BpeTokenizer, RefusesInvalidUtf8) {
  const auto tok = read_tokenizer_json(write(testutil::byte_level_tokenizer({})));
  for (const std::string bad : {"a\xFF", "\xC3", "\xE0\x80\x80", "\xED\xA0\x80"})
    EXPECT_THROW(tok->encode(bad), Error) << bad;
}

TEST(TextStream, NeverSplitsACodePoint) {
  ModelConfig cfg;
  cfg.byte_tokenizer = true;
  cfg.bos_token_id = -1;
  ByteTokenizer bytes(cfg);
  const std::string text = "aé日🙂";  // 1, 2, 3 and 4 bytes
  TextStream stream(bytes);
  std::vector<std::string> out;
  for (unsigned char c : text) out.push_back(stream.push(c));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "", "é", "", "", "日", "", "", "", "🙂"}));
  EXPECT_EQ(stream.finish(), "");
  // An unfinished code point at the end comes out as U+FFFD; a byte that begins none passes through.
  EXPECT_EQ(stream.push(0xF0), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.push(0xFF), "\xFF");
  // Held bytes that the next token does not continue come out as they are.
  EXPECT_EQ(stream.push(0xC3), "");
  EXPECT_EQ(stream.push('x'), "\xC3x");
}

}  // namespace
}  // namespace dllm
