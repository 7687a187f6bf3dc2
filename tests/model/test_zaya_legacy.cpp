// ZAYA1's legacy checkpoint layout (engine/model/zaya.md, "The legacy layout"): a legacy folder
// holding a current folder's weights under the legacy names and shapes gives the same logits, bit
// for bit, in the engine, the reference and the CLI; the config conversion's rules; and what a
// legacy folder that does not match its config says.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/pass.h"
#include "engine/backend/cpu_backend.h"
#include "engine/model/config.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "engine/model/zaya_legacy_config.h"
#include "ref/model.h"
#include "tests/model/ar_steps.h"
#include "tests/testing.h"

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

// The config pair of a sliding first layer: swa_layers' window of 3 earlier tokens is a sliding_window
// of 4, swa_rotary_base its RoPE theta.
std::pair<json, json> sliding_configs() {
  json legacy = legacy_config(), current = current_config();
  legacy["swa_layers"] = {3, 3, 0, 0};
  legacy["swa_rotary_base"] = 100.0;
  current["layer_types"] = {"hybrid_sliding", "hybrid"};
  current["sliding_window"] = 4;
  current["rope_parameters"]["hybrid_sliding"] = default_rope(100.0);
  return {legacy, current};
}

// (current tensor, legacy name) of every tensor a legacy folder stores; current NAME#e is expert e of
// the stacked [E, ...] tensor NAME.
using TensorNames = std::vector<std::pair<std::string, std::string>>;

// Every plain tensor of a current-layout ZAYA1 of `layers` layers and the legacy name it is stored
// under (engine/model/zaya.md's table, written out here, not derived from the engine's mapping).
TensorNames legacy_names(int layers) {
  TensorNames t = {{"model.embed_tokens.weight", "model.embed_tokens.weight"},
                   {"model.norm.weight", "model.final_norm.weight"},
                   {"model.input_hidden_states_scale", "model.layers.0.res_scale.hidden_states_scale"},
                   {"model.input_hidden_states_bias", "model.layers.0.res_scale.hidden_states_bias"}};
  for (int k = 0; k < layers; ++k) {
    const std::string c = "model.layers." + std::to_string(k) + ".";
    const std::string attn = "model.layers." + std::to_string(2 * k) + ".";
    const std::string moe = "model.layers." + std::to_string(2 * k + 1) + ".";
    const std::string next = k + 1 < layers ? "model.layers." + std::to_string(2 * k + 2) + "." : "model.";
    const TensorNames layer = {
        {c + "input_layernorm.weight", attn + "input_norm.weight"},
        {c + "self_attn.qkv_proj.q_proj.weight", attn + "self_attn.qkv.linear_q.weight"},
        {c + "self_attn.qkv_proj.k_proj.weight", attn + "self_attn.qkv.linear_k.weight"},
        {c + "self_attn.qkv_proj.v_proj_current.weight", attn + "self_attn.qkv.val_proj1.weight"},
        {c + "self_attn.qkv_proj.v_proj_delayed.weight", attn + "self_attn.qkv.val_proj2.weight"},
        {c + "self_attn.qkv_proj.conv_qk_depthwise.weight", attn + "self_attn.qkv.conv_qk.0.weight"},
        {c + "self_attn.qkv_proj.conv_qk_depthwise.bias", attn + "self_attn.qkv.conv_qk.0.bias"},
        {c + "self_attn.qkv_proj.conv_qk_grouped.weight", attn + "self_attn.qkv.conv_qk.1.weight"},
        {c + "self_attn.qkv_proj.conv_qk_grouped.bias", attn + "self_attn.qkv.conv_qk.1.bias"},
        {c + "self_attn.qk_norm.temp", attn + "self_attn.qkv.temp"},
        {c + "self_attn.o_proj.weight", attn + "self_attn.o_proj.weight"},
        {c + "post_attention_layernorm.weight", moe + "input_norm.weight"},
        {c + "mlp.gate.down_proj.weight", moe + "zaya_block.router.down_proj.weight"},
        {c + "mlp.gate.down_proj.bias", moe + "zaya_block.router.down_proj.bias"},
        {c + "mlp.gate.router_mlp.norm.weight", moe + "zaya_block.router.rmsnorm_eda.weight"},
        {c + "mlp.gate.router_mlp.fc1.weight", moe + "zaya_block.router.router_mlp.0.weight"},
        {c + "mlp.gate.router_mlp.fc1.bias", moe + "zaya_block.router.router_mlp.0.bias"},
        {c + "mlp.gate.router_mlp.fc2.weight", moe + "zaya_block.router.router_mlp.2.weight"},
        {c + "mlp.gate.router_mlp.fc2.bias", moe + "zaya_block.router.router_mlp.2.bias"},
        {c + "mlp.gate.router_mlp.out_proj.weight", moe + "zaya_block.router.router_mlp.4.weight"},
        {c + "mlp.gate.balancing_biases", moe + "zaya_block.router.balancing_biases"}};
    t.insert(t.end(), layer.begin(), layer.end());
    if (k > 0) t.push_back({c + "mlp.gate.router_states_scale", moe + "zaya_block.router.router_states_scale"});
    for (const char* f : {"hidden_states_scale", "hidden_states_bias", "residual_scale", "residual_bias"}) {
      t.push_back({c + "post_attention_residual_scale." + f, moe + "res_scale." + f});
      t.push_back({c + "post_mlp_residual_scale." + f, next + "res_scale." + f});
    }
  }
  return t;
}

// The per-expert legacy name of expert e of current layer k's gate_up_proj (fc1) or down_proj (fc2).
std::string legacy_expert(int k, int e, const char* fc) {
  return "model.layers." + std::to_string(2 * k + 1) + ".zaya_block.experts.local_experts." + std::to_string(e) +
         ".linear_" + fc + ".weight";
}

void write_json(const std::string& path, const json& j) { std::ofstream(path) << j.dump(2) << "\n"; }

using EditNames = std::function<void(TensorNames&)>;

// `dir`/current: a random current-layout checkpoint of `configs`' current config (by default
// current_config()) stored as `dtype`; `dir`/legacy: the same weights in the legacy layout with the
// legacy config (legacy_config()), `edit` applied to its list of tensors before it is written.
void write_pair(const std::string& dir, DType dtype, uint64_t seed, const EditNames& edit = {},
                const std::pair<json, json>& configs = {legacy_config(), current_config()}) {
  const ModelConfig cfg = parse_config(configs.second, "current config");
  auto current = Model::random(cfg, dtype, seed, "tiny legacy zaya");
  current->save(dir + "/current");
  const Checkpoint ck = Checkpoint::open(dir + "/current");
  TensorNames names = legacy_names(cfg.num_layers);
  EXPECT_EQ(names.size() + 2 * size_t(cfg.num_layers), ck.names().size()) << "the test's table misses a tensor";
  for (int k = 0; k < cfg.num_layers; ++k)
    for (int e = 0; e < cfg.num_experts; ++e) {
      const std::string c = "model.layers." + std::to_string(k) + ".mlp.experts.";
      names.push_back({c + "gate_up_proj#" + std::to_string(e), legacy_expert(k, e, "fc1")});
      names.push_back({c + "down_proj#" + std::to_string(e), legacy_expert(k, e, "fc2")});
    }
  if (edit) edit(names);
  std::vector<TensorToWrite> out;
  for (const auto& [current_name, legacy] : names) {
    const size_t hash = current_name.find('#');
    const TensorInfo& t = ck.get(current_name.substr(0, hash));
    if (hash == std::string::npos) {
      out.push_back({legacy, t.dtype, t.shape, t.data});
      continue;
    }
    const size_t e = std::stoul(current_name.substr(hash + 1)), expert_bytes = t.nbytes / size_t(t.shape[0]);
    out.push_back({legacy, t.dtype, {t.shape[1], t.shape[2]}, static_cast<const uint8_t*>(t.data) + e * expert_bytes});
  }
  std::filesystem::create_directories(dir + "/legacy");
  write_safetensors(dir + "/legacy/model.safetensors", out, {{"format", "pt"}});
  write_json(dir + "/legacy/config.json", configs.first);
}

const std::vector<int32_t> kPrompt = {1, 17, 42, 5, 63, 0, 8, 30, 11};

// The engine's logits (CPU backend) of a prefill of kPrompt and 4 greedy steps, every pass.
std::vector<std::vector<float>> engine_logits(const Model& m) {
  CpuBackend be;
  Transformer tf(m.config(), m.weights(), be);
  KvCache cache(m.config(), 1, int(kPrompt.size()) + 5);
  std::vector<std::vector<float>> all;
  testutil::run_prefill_and_greedy_steps(tf, cache, kPrompt, 4,
                                         [&](const std::vector<int32_t>&, const Pass&, const std::vector<float>& logits,
                                             const std::string&) { all.push_back(logits); });
  return all;
}

std::vector<float> reference_logits(const Model& m) {
  Pass p;
  p.add_causal(0, kPrompt, 0, 0, true);
  return ref::pass_logits<float>(m.config(), m.weights(), {}, p);
}

std::string load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << dir << " loaded";
  return "";
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

TEST(ZayaLegacy, LegacyCheckpointGivesTheCurrentLogitsBitwise) {
  for (DType dtype : {DType::f32, DType::bf16}) {
    const std::string dir = testutil::fresh_dir("zaya_legacy");
    write_pair(dir, dtype, 7);
    const auto current = Model::load(dir + "/current");
    const auto legacy = Model::load(dir + "/legacy");
    const std::string what = dtype_name(dtype);
    EXPECT_EQ(config_to_json(legacy->config()), config_to_json(current->config())) << what;
    EXPECT_EQ(legacy->parameter_count(), current->parameter_count()) << what;
    EXPECT_EQ(legacy->weight_bytes(), current->weight_bytes()) << what;
    const ModelSummary described = describe_model(dir + "/legacy");  // from the legacy headers
    EXPECT_EQ(described.parameters, legacy->parameter_count()) << what;
    EXPECT_EQ(described.weight_bytes, legacy->weight_bytes()) << what;
    EXPECT_EQ(legacy->weights().layers[1].experts_gate_up.dtype, dtype) << what;  // stacked in its own dtype
    EXPECT_EQ(engine_logits(*legacy), engine_logits(*current)) << what;
    EXPECT_EQ(reference_logits(*legacy), reference_logits(*current)) << what;
  }
}

TEST(ZayaLegacy, SlidingLayersGiveTheCurrentLogitsBitwise) {
  const std::string dir = testutil::fresh_dir("zaya_legacy_sliding");
  write_pair(dir, DType::f32, 3, {}, sliding_configs());
  const auto current = Model::load(dir + "/current");
  const auto legacy = Model::load(dir + "/legacy");
  EXPECT_EQ(legacy->config().sliding_layers, (std::vector<bool>{true, false}));
  EXPECT_EQ(config_to_json(legacy->config()), config_to_json(current->config()));
  EXPECT_EQ(engine_logits(*legacy), engine_logits(*current));
  EXPECT_EQ(reference_logits(*legacy), reference_logits(*current));
}

TEST(ZayaLegacy, AMisplacedTensorChangesTheLogits) {
  // The comparison above can fail: the last two residual scalings exchanged (layer 1's
  // post-attention one read as its post-MLP one and back), or the experts of a layer swapped, load
  // fine and give other logits.
  const std::string dir = testutil::fresh_dir("zaya_legacy_swapped");
  const auto swap_legacy = [](const std::string& a, const std::string& b) {
    return [a, b](TensorNames& names) {
      for (auto& [current, legacy] : names) legacy = legacy == a ? b : legacy == b ? a : legacy;
    };
  };
  for (const auto& [what, edit] :
       {std::pair<std::string, EditNames>{
            "residual", swap_legacy("model.layers.3.res_scale.residual_scale", "model.res_scale.residual_scale")},
        std::pair<std::string, EditNames>{"experts",
                                          swap_legacy(legacy_expert(0, 0, "fc1"), legacy_expert(0, 1, "fc1"))}}) {
    const std::string sub = dir + "/" + what;
    write_pair(sub, DType::f32, 7, edit);
    EXPECT_NE(reference_logits(*Model::load(sub + "/legacy")), reference_logits(*Model::load(sub + "/current")))
        << what;
  }
}

TEST(ZayaLegacy, TheCliReadsALegacyFolderAsTheCurrentOne) {
  const std::string dir = testutil::fresh_dir("zaya_legacy_cli");
  write_pair(dir, DType::bf16, 9);
  std::string out;
  for (const char* which : {"current", "legacy"}) {
    ASSERT_EQ(testutil::run_cli(std::string("logits --model ") + dir + "/" + which + " --tokens 1,17,42,5 --out " +
                                    dir + "/" + which + ".npy",
                                &out),
              0)
        << out;
  }
  const auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(dir + "/legacy.npy"), bytes(dir + "/current.npy"));
  // export writes the current layout: a converter.
  ASSERT_EQ(testutil::run_cli("export --model " + dir + "/legacy --out " + dir + "/exported", &out), 0) << out;
  EXPECT_TRUE(Checkpoint::open(dir + "/exported").find("model.layers.1.mlp.experts.gate_up_proj"));
  EXPECT_EQ(reference_logits(*Model::load(dir + "/exported")), reference_logits(*Model::load(dir + "/current")));
}

TEST(ZayaLegacy, CheckpointErrorsNameTheLegacyTensor) {
  const std::string dir = testutil::fresh_dir("zaya_legacy_errors");
  // An expert's tensor missing.
  const std::string missing = legacy_expert(1, 1, "fc2");
  write_pair(dir + "/missing", DType::f32, 1,
             [&](TensorNames& names) { std::erase_if(names, [&](const auto& n) { return n.second == missing; }); });
  std::string err = load_error(dir + "/missing/legacy");
  EXPECT_NE(err.find(missing), std::string::npos) << err;
  EXPECT_NE(err.find("model.layers.1.mlp.experts.down_proj"), std::string::npos) << err;
  // Tensors the model does not read: a third expert, and layer 0's residual scaling (legacy layer 0
  // carries only the input scaling).
  const std::vector<std::string> extras = {legacy_expert(0, 2, "fc1"), "model.layers.0.res_scale.residual_scale"};
  for (size_t i = 0; i < extras.size(); ++i) {
    const std::string& extra = extras[i];
    const std::string sub = dir + "/extra" + std::to_string(i);
    write_pair(sub, DType::f32, 1, [&](TensorNames& names) { names.push_back({"model.norm.weight", extra}); });
    err = load_error(sub + "/legacy");
    EXPECT_NE(err.find(extra), std::string::npos) << err;
    EXPECT_NE(err.find("1 tensor(s) are not part of"), std::string::npos) << err;
  }
  // Experts of one layer stored unalike.
  write_pair(dir + "/unalike", DType::f32, 1, [&](TensorNames& names) {
    for (auto& [current, legacy] : names)
      if (legacy == legacy_expert(0, 1, "fc2")) current = "model.layers.0.mlp.experts.gate_up_proj#1";
  });
  err = load_error(dir + "/unalike/legacy");
  EXPECT_NE(err.find(legacy_expert(0, 1, "fc2")), std::string::npos) << err;
  EXPECT_NE(err.find("share dtype and shape"), std::string::npos) << err;
}
