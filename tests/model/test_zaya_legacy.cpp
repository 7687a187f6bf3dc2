// ZAYA1's legacy config.json (engine/model/zaya.md, "The legacy layout"): the conversion's rules,
// and its errors naming the file and the key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/check.h"
#include "engine/model/config.h"
#include "engine/model/zaya_legacy_config.h"

using namespace dllm;
using nlohmann::json;

namespace {

// A tiny ZAYA1 in Zyphra's legacy config.json (2 layers as 4 half layers), with the keys the real
// ones carry that the conversion drops.
json legacy_config() {
  return {{"model_type", "zaya"},
          {"vocab_size", 64},
          {"hidden_size", 16},
          {"ffn_hidden_size", 32},
          {"num_hidden_layers", 4},
          {"num_experts", 2},
          {"num_attention_heads", 4},
          {"num_query_groups", 2},
          {"num_key_value_heads", 2},
          {"head_dim", 8},
          {"kv_channels", 8},
          {"cca_time0", 2},
          {"cca_time1", 2},
          {"max_position_embeddings", 64},
          {"moe_router_topk", 1},
          {"zaya_mlp_expansion", 8},
          {"norm_epsilon", 1e-5},
          {"rope_theta", 5000000.0},
          {"rope_scaling", false},
          {"swa_layers", {0, 0, 0, 0}},
          {"swa_rotary_base", 10000.0},
          {"clamp_temp", true},
          {"zaya_use_mod", true},
          {"zaya_use_eda", true},
          {"activation_func", "swiglu"},
          {"normalization", "RMSNorm"},
          {"add_bias_linear", false},
          {"gated_linear_unit", true},
          {"fused_add_norm", false},
          {"apply_rope_fusion", false},
          {"bias_activation_fusion", false},
          {"mamba_cache_dtype", "float32"},
          {"residual_in_fp32", true},
          {"scale_residual_merge", true},
          {"zaya_high_prec", true},
          {"attention_bias", false},
          {"tie_word_embeddings", true},
          {"mask_token_id", 4}};
}

json default_rope(double theta) {
  return {{"rope_type", "default"}, {"rope_theta", theta}, {"partial_rotary_factor", 0.5}};
}

// legacy_config() as transformers 5's ZayaConfig, written out by hand.
json current_config() {
  return {{"model_type", "zaya"},
          {"vocab_size", 64},
          {"hidden_size", 16},
          {"moe_intermediate_size", 16},
          {"num_hidden_layers", 2},
          {"num_experts", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"head_dim", 8},
          {"cca_time0", 2},
          {"cca_time1", 2},
          {"max_position_embeddings", 64},
          {"num_experts_per_tok", 1},
          {"router_hidden_size", 8},
          {"rms_norm_eps", 1e-5},
          {"layer_types", {"hybrid", "hybrid"}},
          {"rope_parameters", {{"hybrid", default_rope(5e6)}}},
          {"attention_bias", false},
          {"tie_word_embeddings", true},
          {"mask_token_id", 4}};
}

std::string config_error(const json& j) {
  try {
    parse_config(j, "legacy/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << j.dump();
  return "";
}

}  // namespace

TEST(ZayaLegacy, TheTinyConfigConvertsToItsCurrentForm) {
  EXPECT_TRUE(is_zaya_legacy_config(legacy_config()));
  EXPECT_FALSE(is_zaya_legacy_config(current_config()));
  json dense = legacy_config();
  dense["model_type"] = "llama";
  EXPECT_FALSE(is_zaya_legacy_config(dense));
  const json converted = zaya_config_from_legacy(legacy_config(), "legacy/config.json");
  EXPECT_EQ(converted, current_config()) << converted.dump(2);  // every legacy-only key dropped
  EXPECT_EQ(config_to_json(parse_config(legacy_config(), "legacy/config.json")),
            config_to_json(parse_config(current_config(), "current/config.json")));
}

TEST(ZayaLegacy, ConfigKeysFallBackToTheirLegacyNames) {
  json j = legacy_config();
  for (const char* key : {"num_key_value_heads", "head_dim"}) j.erase(key);
  j["num_query_groups"] = 1;
  j["kv_channels"] = 4;
  j["ffn_hidden_size"] = 48;
  j["zaya_mlp_expansion"] = 12;
  j["norm_epsilon"] = 1e-6;
  j["moe_router_topk"] = 3;
  j["rope_theta"] = 2e6;
  json c = zaya_config_from_legacy(j, "c");
  EXPECT_EQ(c["num_key_value_heads"], 1);
  EXPECT_EQ(c["head_dim"], 4);
  EXPECT_EQ(c["moe_intermediate_size"], 24);
  EXPECT_EQ(c["router_hidden_size"], 12);
  EXPECT_EQ(c["rms_norm_eps"], 1e-6);
  EXPECT_EQ(c["num_experts_per_tok"], 3);
  EXPECT_EQ(c["rope_parameters"], json({{"hybrid", default_rope(2e6)}}));
  // The current keys win where both are set; intermediate_size is the fused width like ffn_hidden_size.
  j["num_key_value_heads"] = 2, j["head_dim"] = 8, j["rms_norm_eps"] = 1e-4, j["intermediate_size"] = 64;
  c = zaya_config_from_legacy(j, "c");
  EXPECT_EQ(c["num_key_value_heads"], 2);
  EXPECT_EQ(c["head_dim"], 8);
  EXPECT_EQ(c["rms_norm_eps"], 1e-4);
  EXPECT_EQ(c["moe_intermediate_size"], 32);
  EXPECT_FALSE(c.contains("intermediate_size"));
}

TEST(ZayaLegacy, SlidingLayersFromSwaLayersAndLayerTypes) {
  const auto convert = [](const json& edits) {
    json j = legacy_config();
    j.update(edits);
    return zaya_config_from_legacy(j, "c");
  };
  // One window per half layer: the attention halves' (entries 0, 2) count; legacy windows exclude the
  // current token, sliding_window includes it.
  json c = convert({{"swa_layers", {0, 0, 127, 127}}, {"swa_rotary_base", 20000.0}});
  EXPECT_EQ(c["layer_types"], json({"hybrid", "hybrid_sliding"}));
  EXPECT_EQ(c["sliding_window"], 128);
  EXPECT_EQ(c["rope_parameters"], json({{"hybrid", default_rope(5e6)}, {"hybrid_sliding", default_rope(20000.0)}}));
  // The MoE halves' entries are not read.
  c = convert({{"swa_layers", {0, 7, 127, 0}}});
  EXPECT_EQ(c["layer_types"], json({"hybrid", "hybrid_sliding"}));
  EXPECT_EQ(c["sliding_window"], 128);
  // One window per layer; every layer sliding: one RoPE, at the default sliding base.
  c = convert({{"swa_layers", {63, 63}}});
  EXPECT_EQ(c["layer_types"], json({"hybrid_sliding", "hybrid_sliding"}));
  EXPECT_EQ(c["sliding_window"], 64);
  EXPECT_EQ(c["rope_parameters"], json({{"hybrid_sliding", default_rope(1e4)}}));
  // layer_types of the legacy length, transformers 4 names; the config's sliding_window as is.
  c = convert({{"layer_types", {"sliding_attention", "sliding_attention", "full_attention", "full_attention"}},
               {"sliding_window", 32}});
  EXPECT_EQ(c["layer_types"], json({"hybrid_sliding", "hybrid"}));
  EXPECT_EQ(c["sliding_window"], 32);
  c = convert({{"layer_types", {"hybrid", "hybrid_sliding"}}, {"swa_layers", {0, 0, 15, 15}}});
  EXPECT_EQ(c["layer_types"], json({"hybrid", "hybrid_sliding"}));
  EXPECT_EQ(c["sliding_window"], 16);
  // No sliding layer: no window, whatever the file says.
  c = convert({{"sliding_window", 32}});
  EXPECT_FALSE(c.contains("sliding_window"));
  EXPECT_EQ(c["layer_types"], json({"hybrid", "hybrid"}));
}

TEST(ZayaLegacy, ConfigErrorsNameTheFileAndTheKey) {
  const auto expect_error = [](const json& edits, const std::vector<std::string>& needles) {
    json j = legacy_config();
    j.update(edits);
    const std::string err = config_error(j);
    EXPECT_NE(err.find("legacy/config.json"), std::string::npos) << err;
    for (const std::string& needle : needles) EXPECT_NE(err.find(needle), std::string::npos) << err;
  };
  expect_error({{"num_hidden_layers", 3}}, {"num_hidden_layers", "even"});
  expect_error({{"zaya_use_mod", false}}, {"zaya_use_mod = false"});
  expect_error({{"zaya_use_eda", false}}, {"zaya_use_eda = false"});
  expect_error({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}}, {"rope_scaling"});
  expect_error({{"ffn_hidden_size", 33}}, {"ffn_hidden_size", "even"});
  expect_error({{"ffn_hidden_size", nullptr}}, {"ffn_hidden_size"});
  expect_error({{"swa_layers", {0, 0, 0}}}, {"swa_layers", "4 entries"});
  expect_error({{"swa_layers", {0, 0, 15, 0, 31, 0}}, {"num_hidden_layers", 6}}, {"swa_layers", "different windows"});
  expect_error({{"layer_types", {"hybrid", "chunked_attention"}}}, {"chunked_attention"});
  expect_error({{"layer_types", {"hybrid", "sliding_attention"}}}, {"sliding_window"});
  expect_error({{"moe_router_topk", 2}}, {"num_experts_per_tok"});  // the converted config's own checks
  json no_scaling = legacy_config();
  no_scaling["rope_scaling"] = nullptr;
  EXPECT_NO_THROW(parse_config(no_scaling, "c"));
}
