#include <gtest/gtest.h>

#include "core/check.h"
#include "engine/model/config.h"

using namespace dllm;
using nlohmann::json;

namespace {

json qwen3() {
  return {
      {"model_type", "qwen3"},    {"hidden_size", 64},        {"num_hidden_layers", 2},
      {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 16},
      {"intermediate_size", 128}, {"vocab_size", 300},        {"eos_token_id", [] { return json::array({1, 2}); }()},
      {"mask_token_id", 5}};
}

// Expects parse_config to throw with a message containing `phrase` and the source name.
void expect_error(const json& j, const std::string& phrase) {
  try {
    parse_config(j, "cfg.json");
    FAIL() << "no error for: " << phrase;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Config, ParsesQwen3WithDefaults) {
  const ModelConfig c = parse_config(qwen3(), "cfg.json");
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.rotary_dim, 16);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(c.mask_token_id, 5);
  EXPECT_EQ(c.block_size, 16);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
}

TEST(Config, DerivesHeadDimAndKvHeadsForLlama) {
  json j = qwen3();
  j["model_type"] = "llama";
  j.erase("head_dim");
  j.erase("num_key_value_heads");
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_FALSE(c.qk_norm);
}

TEST(Config, Qwen2AlwaysHasQkvBias) {
  json j = qwen3();
  j["model_type"] = "qwen2";
  EXPECT_TRUE(parse_config(j, "cfg.json").attention_bias);
}

TEST(Config, AcceptsTransformers5RopeParameters) {
  json j = qwen3();
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e6}, {"partial_rotary_factor", 0.5}};
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_FLOAT_EQ(c.rope_theta, 5e6f);
  EXPECT_EQ(c.rotary_dim, 8);
}

TEST(Config, RoundTripsThroughJson) {
  const ModelConfig c = parse_config(qwen3(), "cfg.json");
  const ModelConfig d = parse_config(config_to_json(c), "again");
  EXPECT_EQ(config_to_json(c), config_to_json(d));
}

TEST(Config, BadConfigsNameTheProblem) {
  auto with = [](const char* key, json v) {
    json j = qwen3();
    j[key] = std::move(v);
    return j;
  };
  expect_error(with("model_type", "mamba"), "unknown model_type");
  expect_error(with("hidden_size", 0), "must be a positive integer");
  expect_error(with("num_hidden_layers", -3), "must be a positive integer");
  expect_error(with("intermediate_size", "big"), "must be an integer");
  expect_error(with("num_key_value_heads", 3), "must be a multiple of num_key_value_heads");
  expect_error(with("mask_token_id", 300), "outside the vocabulary");
  expect_error(with("rope_scaling", {{"rope_type", "llama3"}}), "rope_scaling is not supported");
  expect_error(with("partial_rotary_factor", 0.3), "even number of dimensions");
  expect_error(with("hidden_act", "gelu"), "hidden_act");
  expect_error(with("dllm_tokenizer", "sentencepiece"), "dllm_tokenizer");
  json missing = qwen3();
  missing.erase("vocab_size");
  expect_error(missing, "\"vocab_size\" is missing");
  json no_head_dim = with("hidden_size", 66);
  no_head_dim.erase("head_dim");
  expect_error(no_head_dim, "give head_dim explicitly");
  expect_error(json::array(), "must be a JSON object");
}
