// The tokenizers without Python: byte-level and SentencePiece-style BPE from small hand-written
// tokenizer.json files (merges by rank, added tokens first, the post-processor's special tokens, byte
// fallback, unk, Metaspace, the decoders, errors that name the component and the file), a
// tokenizer.model's errors, and the text stream that never splits a code point. The expected ids are
// what Hugging Face tokenizers 0.23 gives the same files. Parity on trained tokenizers:
// tools/parity/tokenizer_parity.py.
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

// A Llama-2-style tokenizer.json: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF> (ids 3..258),
// then `tokens` (ids 259...); Prepend "▁" and Replace " " -> "▁"; decoder Replace, ByteFallback, Fuse,
// Strip; <s> before the text.
json spm_tokenizer(const std::vector<std::string>& tokens,
                   const std::vector<std::pair<std::string, std::string>>& merges) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  for (const std::string& t : tokens) vocab[t] = int(vocab.size());
  json merge_list = json::array();
  for (const auto& [l, r] : merges) merge_list.push_back(json::array({l, r}));
  const auto special = [](int id, const char* content) {
    return json{{"id", id}, {"content", content}, {"special", true}, {"normalized", false}};
  };
  return {{"version", "1.0"},
          {"added_tokens", {special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")}},
          {"normalizer", json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
              {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})")},
          {"pre_tokenizer", nullptr},
          {"post_processor", json::parse(R"({"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
              "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}})")},
          {"decoder", json::parse(R"({"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
              {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})")},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", vocab},
            {"merges", merge_list}}}};
}

// ids 259..264
const std::vector<std::string> kSpmTokens = {"▁", "a", "b", "▁a", "ab", "▁ab"};
const std::vector<std::pair<std::string, std::string>> kSpmMerges = {{"▁", "a"}, {"a", "b"}, {"▁a", "b"}};

TEST(SentencePieceBpe, ByteFallbackAndMerges) {
  const auto tok = read_tokenizer_json(write(spm_tokenizer(kSpmTokens, kSpmMerges)));
  EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{1, 264}));
  EXPECT_EQ(tok->encode_text("ab ab"), (std::vector<int32_t>{264, 264}));
  // é is not in the vocab: its two bytes.
  EXPECT_EQ(tok->encode_text("a é"), (std::vector<int32_t>{262, 259, 3 + 0xC3, 3 + 0xA9}));
  // Strip takes the space Prepend put first; after <s> it stays, as in tokenizers.
  EXPECT_EQ(tok->decode(tok->encode_text("a é")), "a é");
  EXPECT_EQ(tok->decode(tok->encode("a é")), "<s> a é");
  // A byte run that is not UTF-8 decodes to one U+FFFD per byte token.
  EXPECT_EQ(tok->decode({3 + 0xC3, 260}),
            "\xEF\xBF\xBD"
            "a");
  // In a stream: "▁" is a space (nothing stripped), a byte token its byte.
  EXPECT_EQ(tok->token_bytes(262), " a");
  EXPECT_EQ(tok->token_bytes(3 + 0xC3), "\xC3");
  TextStream stream(*tok);
  std::vector<std::string> out;
  for (int32_t id : tok->encode_text("a é")) out.push_back(stream.push(id));
  EXPECT_EQ(out, (std::vector<std::string>{" a", " ", "", "é"}));
  EXPECT_THROW(tok->encode("a\xFF"), Error);
}

TEST(SentencePieceBpe, UnknownCharacters) {
  json j = spm_tokenizer(kSpmTokens, kSpmMerges);
  j["model"]["byte_fallback"] = false;
  // fuse_unk joins a run of unknown characters into one <unk>; without it each has its own.
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("axyb"), (std::vector<int32_t>{262, 0, 261}));
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("éa"), (std::vector<int32_t>{259, 0, 260}));
  j["model"]["fuse_unk"] = false;
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("axyb"), (std::vector<int32_t>{262, 0, 0, 261}));
  // Without an unk token they are dropped, and their neighbours merge.
  j["model"]["unk_token"] = nullptr;
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("axyb"), (std::vector<int32_t>{264}));
}

TEST(SentencePieceBpe, IgnoreMergesTakesAWholeWordInTheVocab) {
  // Merges a+b only: "▁ab" is reached by merges only with ignore_merges, which takes the whole word
  // (here the whole normalized text) when the vocab has it.
  json j = spm_tokenizer(kSpmTokens, {{"a", "b"}});
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("ab"), (std::vector<int32_t>{259, 263}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("ab"), (std::vector<int32_t>{264}));
  EXPECT_EQ(read_tokenizer_json(write(j))->encode_text("ab b"), (std::vector<int32_t>{259, 263, 259, 261}));
}

TEST(SentencePieceBpe, NormalizedAddedTokensMatchTheNormalizedText) {
  json j = spm_tokenizer(kSpmTokens, kSpmMerges);
  j["added_tokens"].push_back({{"id", 300}, {"content", "<t>"}, {"special", false}, {"normalized", true}});
  const auto tok = read_tokenizer_json(write(j));
  // The token is matched as Prepend and Replace write it, "▁<t>": after a space, not after "a".
  EXPECT_EQ(tok->encode_text("a <t>"), (std::vector<int32_t>{262, 300}));
  EXPECT_EQ(tok->encode_text("a<t>").front(), 262);
  EXPECT_EQ(tok->encode_text("a<t>").size(), 4u);
  EXPECT_EQ(tok->token_bytes(300), " <t>");
}

TEST(SentencePieceBpe, Metaspace) {
  // vocab <unk> <s> </s> ▁ a b ▁a a▁; merges a+▁ before ▁+a
  const auto metaspace = [](const std::string& scheme, bool split) {
    json j = {
        {"added_tokens", json::array({{{"id", 1}, {"content", "<s>"}, {"special", true}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", split}}},
        {"decoder", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", split}}},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"vocab", {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"▁", 3}, {"a", 4}, {"b", 5}, {"▁a", 6}, {"a▁", 7}}},
          {"merges", json::array({"a ▁", "▁ a"})}}}};
    return read_tokenizer_json(write(j));
  };
  using Ids = std::vector<int32_t>;
  // split: each "▁" begins a word, so a+▁ cannot merge across words.
  EXPECT_EQ(metaspace("first", true)->encode("a b"), (Ids{6, 3, 5}));
  EXPECT_EQ(metaspace("first", false)->encode("a b"), (Ids{3, 7, 5}));
  // first: only the text's first piece gets "▁"; always: every piece; never: none. A piece that
  // already starts with "▁" gets none.
  EXPECT_EQ(metaspace("first", true)->encode("a<s>a"), (Ids{6, 1, 4}));
  EXPECT_EQ(metaspace("first", true)->encode("<s>a"), (Ids{1, 4}));
  EXPECT_EQ(metaspace("always", true)->encode("a<s>a"), (Ids{6, 1, 6}));
  EXPECT_EQ(metaspace("never", true)->encode("a<s>a"), (Ids{4, 1, 4}));
  EXPECT_EQ(metaspace("always", true)->encode(" a"), (Ids{6}));
  // The decoder drops the first token's "▁" unless the scheme is never; a stream keeps it as a space.
  EXPECT_EQ(metaspace("first", true)->decode({6, 3, 5}), "a b");
  EXPECT_EQ(metaspace("first", true)->decode({3, 3, 4}), " a");
  EXPECT_EQ(metaspace("never", true)->decode({6, 3, 5}), " a b");
  EXPECT_EQ(metaspace("first", true)->token_bytes(6), " a");
}

TEST(SentencePieceBpe, GemmaStyleKeepsSpaces) {
  json j = spm_tokenizer(kSpmTokens, kSpmMerges);
  j["normalizer"] = json::parse(R"({"type": "Replace", "pattern": {"String": " "}, "content": "▁"})");
  j["pre_tokenizer"] = json::parse(
      R"({"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false})");
  j["decoder"]["decoders"].erase(3);  // no Strip
  const auto tok = read_tokenizer_json(write(j));
  EXPECT_EQ(tok->encode_text(" ab"), (std::vector<int32_t>{264}));
  EXPECT_EQ(tok->encode_text("ab"), (std::vector<int32_t>{263}));
  EXPECT_EQ(tok->decode(tok->encode_text(" ab a")), " ab a");
}

TEST(SentencePieceBpe, UnsupportedComponentsAreNamed) {
  const json ok = spm_tokenizer(kSpmTokens, kSpmMerges);
  const auto with = [&](const std::string& key, const json& value) {
    json j = ok;
    j[key] = value;
    return j;
  };
  expect_refused(with("normalizer", {{"type", "NFKC"}}), "normalizer NFKC");
  expect_refused(with("normalizer", json::parse(R"({"type": "Replace", "pattern": {"Regex": " +"}, "content": "▁"})")),
                 "normalizer Replace with pattern");
  expect_refused(with("pre_tokenizer", {{"type", "Whitespace"}}), "pre_tokenizer Whitespace");
  expect_refused(with("pre_tokenizer", json::parse(R"({"type": "Split", "pattern": {"String": " "},
      "behavior": "Isolated"})")),
                 "pre_tokenizer Split with behavior Isolated");
  expect_refused(with("pre_tokenizer", json::parse(R"({"type": "Metaspace", "replacement": "▁",
      "prepend_scheme": "sometimes"})")),
                 "prepend_scheme sometimes");
  expect_refused(with("decoder", {{"type", "WordPiece"}}), "decoder WordPiece");
  expect_refused(with("decoder", nullptr), "decoder null");
  expect_refused(with("decoder", json::parse(R"({"type": "Sequence", "decoders": [
      {"type": "Strip", "content": " ", "start": 1, "stop": 0}, {"type": "Fuse"}]})")),
                 "decoder Strip before Fuse");
  expect_refused(with("decoder", json::parse(R"({"type": "Sequence", "decoders": [{"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 0, "stop": 1}]})")),
                 "decoder Strip with stop 1");
  expect_refused(with("model", {{"type", "Unigram"}}), "model Unigram");
  json unk = ok;
  unk["model"]["unk_token"] = "<missing>";
  expect_refused(unk, "unk_token \"<missing>\" is not in the vocab");
  json bad_merge = ok;
  bad_merge["model"]["merges"].push_back("q zz");
  expect_refused(bad_merge, "merge 3");
  // Fields of another JSON type: errors naming the file, not the JSON library's exceptions (fuzz finds).
  expect_refused(with("normalizer", {{"type", 3}}), "normalizer (type 3)");
  expect_refused(with("decoder", {{"type", "Sequence"}, {"decoders", {{{"type", json::array()}}}}}), "(type [])");
  expect_refused(with("pre_tokenizer", {{"type", "Metaspace"}, {"replacement", 5}}), "");
}

TEST(SentencePieceModel, ErrorsNameTheFile) {
  const std::string dir = testutil::fresh_dir("tokenizer");
  std::ofstream(dir + "/tokenizer.model") << "not a model";
  try {
    find_tokenizer_files(dir);
    FAIL() << "no error for a bad tokenizer.model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/tokenizer.model"), std::string::npos) << e.what();
  }
  // A tokenizer.json beside it is read first.
  std::ofstream(dir + "/tokenizer.json") << spm_tokenizer(kSpmTokens, kSpmMerges).dump();
  EXPECT_EQ(find_tokenizer_files(dir)->encode("ab"), (std::vector<int32_t>{1, 264}));
  EXPECT_EQ(find_tokenizer_files(testutil::fresh_dir("tokenizer")), nullptr);
}

// Bytes above 0x7F are ids 128..255 whether or not char is signed (encode_text once gave negative ids).
TEST(ByteTokenizer, EveryByteIsItsId) {
  ModelConfig cfg;
  cfg.byte_tokenizer = true;
  cfg.bos_token_id = 256;
  ByteTokenizer bytes(cfg);
  EXPECT_EQ(bytes.encode_text("a\xC3\xA9\xFF"), (std::vector<int32_t>{'a', 0xC3, 0xA9, 0xFF}));
  EXPECT_EQ(bytes.encode("a\xC3\xA9\xFF"), (std::vector<int32_t>{256, 'a', 0xC3, 0xA9, 0xFF}));
  EXPECT_EQ(bytes.decode(bytes.encode_text("a\xC3\xA9\xFF")), "a\xC3\xA9\xFF");
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
