#include <cmath>
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

namespace {

// Llama 3.1's rope_scaling, as meta-llama/Llama-3.1-8B's config.json spells it.
json llama3_scaling() {
  return {{"factor", 8.0},
          {"low_freq_factor", 1.0},
          {"high_freq_factor", 4.0},
          {"original_max_position_embeddings", 8192},
          {"rope_type", "llama3"}};
}

}  // namespace

TEST(Config, ReadsLlama3RopeScaling) {
  json j = qwen3();
  j["rope_scaling"] = llama3_scaling();
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope_scaling.original_max_positions, 8192);
}

TEST(Config, ReadsYarnRopeScaling) {
  json j = qwen3();  // Qwen3's long-context form
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
  const RopeScaling s = parse_config(j, "cfg.json").rope_scaling;
  EXPECT_EQ(s.type, RopeScalingType::yarn);
  EXPECT_EQ(s.factor, 4.0f);
  EXPECT_EQ(s.original_max_positions, 32768);
  EXPECT_EQ(s.beta_fast, 32.0f);
  EXPECT_EQ(s.beta_slow, 1.0f);
  EXPECT_TRUE(s.truncate);
  EXPECT_FLOAT_EQ(s.attention_factor, float(0.1 * std::log(4.0) + 1.0));  // transformers: 1.138629436111989
  // DeepSeek's form: mscale / mscale_all_dim; an explicit attention_factor wins over both.
  j["rope_scaling"].update({{"mscale", 1.0}, {"mscale_all_dim", 0.5}, {"beta_fast", 16}, {"truncate", false}});
  const RopeScaling d = parse_config(j, "cfg.json").rope_scaling;
  EXPECT_FLOAT_EQ(d.attention_factor, float((0.1 * std::log(4.0) + 1.0) / (0.05 * std::log(4.0) + 1.0)));
  EXPECT_EQ(d.beta_fast, 16.0f);
  EXPECT_FALSE(d.truncate);
  j["rope_scaling"]["attention_factor"] = 0.75;
  EXPECT_EQ(parse_config(j, "cfg.json").rope_scaling.attention_factor, 0.75f);
  // Null betas take the defaults, as transformers' `or 32` does.
  j["rope_scaling"]["beta_fast"] = nullptr;
  EXPECT_EQ(parse_config(j, "cfg.json").rope_scaling.beta_fast, 32.0f);
}

TEST(Config, RopeScalingFormsAgree) {
  json old_key = qwen3();  // "type" instead of "rope_type" (files written before transformers 4.45)
  json scaling = llama3_scaling();
  scaling.erase("rope_type");
  scaling["type"] = "llama3";
  old_key["rope_scaling"] = scaling;
  json v5 = qwen3();  // transformers 5: everything under rope_parameters
  v5["rope_parameters"] = llama3_scaling();
  v5["rope_parameters"]["rope_theta"] = 500000.0;
  json top_original = qwen3();  // original_max_position_embeddings beside the object, not in it
  top_original["rope_scaling"] = llama3_scaling();
  top_original["rope_scaling"].erase("original_max_position_embeddings");
  top_original["original_max_position_embeddings"] = 8192;
  json reference = qwen3();
  reference["rope_scaling"] = llama3_scaling();
  for (const json& j : {old_key, v5, top_original})
    EXPECT_EQ(parse_config(j, "cfg.json").rope_scaling, parse_config(reference, "cfg.json").rope_scaling) << j.dump();
  EXPECT_EQ(parse_config(v5, "cfg.json").rope_theta, 500000.0f);
  json no_original = reference;  // falls back to max_position_embeddings, as transformers does
  no_original["rope_scaling"].erase("original_max_position_embeddings");
  no_original["max_position_embeddings"] = 2048;
  EXPECT_EQ(parse_config(no_original, "cfg.json").rope_scaling.original_max_positions, 2048);
  json linear = qwen3();
  linear["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(parse_config(linear, "cfg.json").rope_scaling.type, RopeScalingType::linear);
  EXPECT_EQ(parse_config(linear, "cfg.json").rope_scaling.factor, 2.0f);
  json null_scaling = qwen3();  // Qwen2 files say "rope_scaling": null
  null_scaling["rope_scaling"] = nullptr;
  EXPECT_EQ(parse_config(null_scaling, "cfg.json").rope_scaling.type, RopeScalingType::none);
}

TEST(Config, BadRopeScalingNamesTheField) {
  auto scaled = [](json scaling) {
    json j = qwen3();
    j["rope_scaling"] = std::move(scaling);
    return j;
  };
  auto llama3_with = [&](const char* key, json v) {
    json s = llama3_scaling();
    if (v.is_null())
      s.erase(key);
    else
      s[key] = std::move(v);
    return scaled(s);
  };
  expect_error(scaled({{"rope_type", "dynamic"}, {"factor", 0.5}}), "factor of type \"dynamic\" must be at least 1");
  json two_dims = scaled({{"rope_type", "dynamic"}, {"factor", 2.0}});
  two_dims["partial_rotary_factor"] = 2.0 / 16;
  expect_error(two_dims, "more than 2 rotary dimensions");
  expect_error(scaled({{"rope_type", "longrope"}, {"factor", 2.0}}), "\"longrope\" is not supported yet");
  expect_error(scaled({{"rope_type", "yarn"}, {"factor", 0.5}}), "factor of type \"yarn\" must be at least 1");
  expect_error(scaled({{"rope_type", "yarn"}, {"factor", 2.0}, {"beta_fast", 1.0}, {"beta_slow", 2.0}}),
               "beta_fast (1) must exceed beta_slow (2)");
  expect_error(scaled({{"rope_type", "yarn"}, {"factor", 2.0}, {"attention_factor", -1.0}}),
               "attention_factor must be positive");
  expect_error(scaled({{"rope_type", "yarn"}, {"factor", 2.0}, {"truncate", 1}}), "\"truncate\" must be true or false");
  expect_error(scaled({{"type", 3}}), "rope_scaling.type must be a string");
  expect_error(scaled("llama3"), "rope_scaling must be an object");
  expect_error(scaled({{"rope_type", "linear"}}), "needs the field \"factor\"");
  expect_error(llama3_with("factor", -1.0), "rope_scaling.factor must be positive");
  expect_error(llama3_with("factor", "8"), "\"factor\" must be a number");
  expect_error(llama3_with("low_freq_factor", nullptr), "needs the field \"low_freq_factor\"");
  expect_error(llama3_with("high_freq_factor", 0.5), "must exceed low_freq_factor");
  expect_error(llama3_with("original_max_position_embeddings", 0), "must be a positive integer");
  json disagree = llama3_with("factor", 8.0);
  disagree["original_max_position_embeddings"] = 4096;
  expect_error(disagree, "disagree");
  json zaya_yarn = qwen3();
  zaya_yarn["model_type"] = "zaya";
  zaya_yarn["moe_intermediate_size"] = 64;
  zaya_yarn["rope_parameters"] = {{"hybrid", {{"rope_type", "longrope"}, {"factor", 4.0}}}};
  expect_error(zaya_yarn, "rope_parameters.hybrid.rope_type \"longrope\"");
}

TEST(Config, RopeScalingRoundTripsThroughJson) {
  json j = qwen3();
  j["rope_scaling"] = llama3_scaling();
  const ModelConfig c = parse_config(j, "cfg.json");
  EXPECT_EQ(parse_config(config_to_json(c), "again").rope_scaling, c.rope_scaling);
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4.0}};
  const ModelConfig d = parse_config(j, "cfg.json");
  EXPECT_EQ(parse_config(config_to_json(d), "again").rope_scaling, d.rope_scaling);
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 3.0},    {"original_max_position_embeddings", 4096},
                       {"mscale", 0.7},       {"beta_slow", 1.5}, {"truncate", false}};
  const ModelConfig y = parse_config(j, "cfg.json");
  EXPECT_EQ(parse_config(config_to_json(y), "again").rope_scaling, y.rope_scaling);
  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4.0}};
  j["max_position_embeddings"] = 2048;
  const ModelConfig n = parse_config(j, "cfg.json");
  EXPECT_EQ(n.rope_scaling.type, RopeScalingType::dynamic);
  EXPECT_EQ(n.rope_scaling.original_max_positions, 2048);  // dynamic scales past max_position_embeddings
  EXPECT_EQ(n.context_length(), 8192);                     // and runs that far
  EXPECT_EQ(parse_config(config_to_json(n), "again").rope_scaling, n.rope_scaling);
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

namespace {

// Zyphra's TiDAR keys for the mask token, in the order its code reads them.
const std::vector<std::string> kMaskKeys = {"tidar_mask_token_id", "parallel_drafting_mask_token_id",
                                            "draft_mask_token_id", "bidirectional_mask_token_id", "mask_token_id"};

json zaya_without_mask() {
  json j = qwen3();
  j["model_type"] = "zaya";
  j["moe_intermediate_size"] = 64;
  j.erase("mask_token_id");
  return j;
}

}  // namespace

TEST(Config, MaskTokenFollowsZyphrasKeyOrder) {
  for (size_t first = 0; first < kMaskKeys.size(); ++first) {
    json j = zaya_without_mask();
    for (size_t k = first; k < kMaskKeys.size(); ++k) j[kMaskKeys[k]] = int(10 + k);  // later keys must lose
    const ModelConfig c = parse_config(j, "cfg.json");
    EXPECT_EQ(c.mask_token_id, int(10 + first)) << kMaskKeys[first];
    EXPECT_EQ(c.mask_token_key, kMaskKeys[first]);
  }
  json null_first = zaya_without_mask();  // a null key counts as unset
  null_first["tidar_mask_token_id"] = nullptr;
  null_first["draft_mask_token_id"] = 7;
  EXPECT_EQ(parse_config(null_first, "cfg.json").mask_token_key, "draft_mask_token_id");
  json bad = zaya_without_mask();
  bad["parallel_drafting_mask_token_id"] = 300;
  expect_error(bad, "\"parallel_drafting_mask_token_id\" = 300 is outside the vocabulary");
}

TEST(Config, ZayaWithoutMaskKeyFallsBackTo4AndWarns) {
  testing::internal::CaptureStderr();
  const ModelConfig c = parse_config(zaya_without_mask(), "cfg.json");
  const std::string warning = testing::internal::GetCapturedStderr();
  EXPECT_EQ(c.mask_token_id, 4);
  EXPECT_EQ(c.mask_token_key, "fallback");
  EXPECT_NE(warning.find("cfg.json"), std::string::npos) << warning;
  for (const std::string& key : kMaskKeys) EXPECT_NE(warning.find(key), std::string::npos) << warning;
}

TEST(Config, DenseReadsTheSameKeysButHasNoFallback) {
  json j = qwen3();
  j.erase("mask_token_id");
  testing::internal::CaptureStderr();
  const ModelConfig none = parse_config(j, "cfg.json");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(none.mask_token_id, -1);
  EXPECT_EQ(none.mask_token_key, "");
  j["tidar_mask_token_id"] = 9;
  EXPECT_EQ(parse_config(j, "cfg.json").mask_token_id, 9);
  EXPECT_EQ(parse_config(j, "cfg.json").mask_token_key, "tidar_mask_token_id");
}
