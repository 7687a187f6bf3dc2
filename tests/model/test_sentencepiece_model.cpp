// A tokenizer.model through the sentencepiece library (built where libsentencepiece-dev is): a small
// BPE model trained here with byte fallback, then encode with <bos>, decode(encode(s)) == s, control
// tokens decoding to nothing, and a stream that holds back a character split over byte pieces.
// Parity with PyPI's sentencepiece on a larger corpus: tools/parity/tokenizer_parity.py.
#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "engine/model/sentencepiece_model.h"
#include "engine/model/tokenizer.h"
#include "engine/model/tokenizer_json.h"
#include "tests/testing.h"

namespace dllm {
namespace {

// The path of a tokenizer.model trained here.
std::string train_model() {
  const std::string dir = testutil::fresh_dir("sentencepiece");
  {
    std::ofstream text(dir + "/train.txt");
    for (int i = 0; i < 200; ++i)
      text << "the quick brown fox jumps over the lazy dog " << i << "\nhello world, hello tokenizer\n";
  }
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + dir + "/train.txt --model_prefix=" + dir +
      "/tokenizer --model_type=bpe --vocab_size=320 --byte_fallback=true --normalization_rule_name=identity "
      "--remove_extra_whitespaces=false --minloglevel=2");
  EXPECT_TRUE(status.ok()) << status.ToString();
  return dir + "/tokenizer.model";
}

std::unique_ptr<Tokenizer> trained_model() { return load_sentencepiece_model(train_model()); }

// A folder whose tokenizer is a tokenizer.model alone exports with it: the copy encodes the same.
TEST(SentencePieceModel, ExportCopiesIt) {
  const std::string dir = testutil::fresh_dir("sentencepiece_export");
  std::string out;
  ASSERT_EQ(testutil::run_cli("export --model preset:tiny-llama --out " + dir + "/a", &out), 0) << out;
  for (const char* generated : {"/a/tokenizer.json", "/a/tokenizer_config.json"})
    std::filesystem::remove(dir + generated);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/a/config.json"));
  cfg.erase("dllm_tokenizer");
  std::ofstream(dir + "/a/config.json") << cfg.dump();
  std::filesystem::copy_file(train_model(), dir + "/a/tokenizer.model");
  ASSERT_EQ(testutil::run_cli("export --model " + dir + "/a --out " + dir + "/b", &out), 0) << out;
  EXPECT_NE(out.find("its tokenizer files"), std::string::npos) << out;
  std::string a, b;
  ASSERT_EQ(testutil::run_cli("tokenize --model " + dir + "/a --text 'hello fox'", &a), 0) << a;
  ASSERT_EQ(testutil::run_cli("tokenize --model " + dir + "/b --text 'hello fox'", &b), 0) << b;
  EXPECT_EQ(a, b);
}

TEST(SentencePieceModel, EncodesDecodesAndStreams) {
  const std::unique_ptr<Tokenizer> tok = trained_model();
  const std::string text = "hello wörld  🙂 the fox";  // ö and 🙂 are not in the training text: bytes
  const std::vector<int32_t> ids = tok->encode(text);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);  // <bos>
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(tok->token_bytes(1), "");  // a control token prints nothing
  EXPECT_EQ(tok->decode({1, 2}), "");
  EXPECT_EQ(tok->token_bytes(1 << 20), "<|1048576|>");
  // The stream keeps the space sentencepiece puts before the text, and never prints half a code point.
  TextStream stream(*tok);
  std::string streamed;
  for (size_t i = 1; i < ids.size(); ++i) {
    const std::string piece = stream.push(ids[i]);
    EXPECT_TRUE(tokjson::is_utf8(piece)) << i;
    streamed += piece;
  }
  EXPECT_EQ(streamed + stream.finish(), " " + text);
  EXPECT_THROW(tok->encode("a\xFF"), Error);
}

}  // namespace
}  // namespace dllm
