// dllm-bench export's pieces: a preset written as a Hugging Face folder loads back as the same model
// (config and logits), its generated tokenizer.json encodes as the byte tokenizer, and a bad --out
// leaves nothing behind. (HfParity loads exported folders into transformers, tokenizer included.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/pass.h"
#include "engine/model/bpe_tokenizer.h"
#include "engine/model/config.h"
#include "engine/model/export.h"
#include "engine/model/model.h"
#include "engine/model/tokenizer.h"
#include "ref/model.h"
#include "tests/testing.h"

namespace dllm {
namespace {

namespace fs = std::filesystem;

std::vector<float> prefill_logits(const Model& m, const std::vector<int32_t>& ids) {
  Pass p;
  p.add_causal(0, ids, 0, 0, true);
  return ref::pass_logits<float>(m.config(), m.weights(), {}, p);
}

TEST(Export, APresetLoadsBackAsTheSameModel) {
  for (const char* preset : {"tiny", "tiny-zaya", "tiny-llama-rope-yarn"}) {
    const auto m = Model::random(preset_config(preset), DType::bf16, 3, preset);
    const std::string out = testutil::fresh_dir("export") + "/model";
    EXPECT_EQ(export_model(*m, "", out), "generated") << preset;
    const auto back = Model::load(out);
    EXPECT_EQ(config_to_json(back->config()), config_to_json(m->config())) << preset;
    const std::vector<int32_t> ids = {256, 72, 105, 33, 10, 200};
    EXPECT_EQ(prefill_logits(*back, ids), prefill_logits(*m, ids)) << preset;  // the same bits
    EXPECT_FALSE(fs::exists(fs::path(out).parent_path() / ".model.partial")) << preset;
  }
}

TEST(Export, TheGeneratedTokenizerEncodesAsTheByteTokenizer) {
  EXPECT_EQ(byte_level_symbol(' '), testutil::byte_symbol(' '));
  for (int b = 0; b < 256; ++b) ASSERT_EQ(byte_level_symbol(uint8_t(b)), testutil::byte_symbol(b)) << b;
  const auto m = Model::random(preset_config("tiny"), DType::f32, 1, "tiny");
  const std::string out = testutil::fresh_dir("export_tokenizer") + "/model";
  export_model(*m, "", out);
  const std::unique_ptr<Tokenizer> generated = find_tokenizer(out, m->config());
  ASSERT_TRUE(generated);
  ASSERT_TRUE(dynamic_cast<const BpeTokenizer*>(generated.get()));  // the file, not the config's bytes
  const ByteTokenizer bytes(m->config());
  for (const std::string text : {"", "hello", "h\xC3\xA9llo w\xC3\xB6rld \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
                                 "  tabs\t\tand\n\nnewlines  ", "e\xCC\x81 <b> bos"}) {
    EXPECT_EQ(generated->encode(text), bytes.encode(text)) << text;
    EXPECT_EQ(generated->decode(bytes.encode_text(text)), text) << text;
  }
  // The one difference: the special tokens' names in text are those tokens (as in every real tokenizer).
  EXPECT_EQ(generated->encode("a<eos>"), (std::vector<int32_t>{256, 'a', 257}));
  const nlohmann::json config = byte_tokenizer_config_json(m->config());
  EXPECT_EQ(config.at("bos_token"), "<bos>");
  EXPECT_EQ(config.at("eos_token"), "<eos>");
  EXPECT_EQ(config.at("mask_token"), "<mask>");
}

TEST(Export, ABadOutLeavesNothingBehind) {
  const auto m = Model::random(preset_config("tiny"), DType::f32, 1, "tiny");
  const std::string dir = testutil::fresh_dir("export_bad");
  const auto error_of = [&](const std::string& out) {
    try {
      export_model(*m, "", out);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(dir).find("already exists"), std::string::npos);
  EXPECT_NE(error_of(dir + "/missing/model").find("the parent folder"), std::string::npos);
  // A folder that cannot be written (a file where the folder's parent should be).
  std::ofstream(dir + "/file") << "x";
  EXPECT_NE(error_of(dir + "/file/model"), "no error");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"file"});
}

// A model folder with its own tokenizer.json exports those files unchanged.
TEST(Export, AFolderKeepsItsTokenizerFiles) {
  const auto m = Model::random(preset_config("tiny"), DType::f32, 1, "tiny");
  const std::string src = testutil::fresh_dir("export_src");
  std::ofstream(src + "/tokenizer.json") << testutil::byte_level_tokenizer({{"h", "i"}}).dump();
  std::ofstream(src + "/tokenizer_config.json") << R"({"chat_template": "<|im_start|>"})";
  const std::string out = testutil::fresh_dir("export_dst") + "/model";
  EXPECT_EQ(export_model(*m, src, out), "copied");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(fs::file_size(fs::path(out) / name), fs::file_size(fs::path(src) / name)) << name;
  EXPECT_FALSE(fs::exists(fs::path(out) / "chat_template.jinja"));
}

}  // namespace
}  // namespace dllm
