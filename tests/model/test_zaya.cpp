// ZAYA1 (CCA + MoE) in the engine: logits against the full-recompute reference on prefill and AR
// steps, decode from the zero state against prefill, the skip route, the recurrent ring's limit,
// config and checkpoint errors, and the zaya1-8b parameter count.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "engine/backend/cpu_backend.h"
#include "core/check.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/config.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "engine/model/zaya.h"
#include "ref/model.h"
#include "tests/model/ar_steps.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

std::vector<int32_t> prompt(int n, uint32_t seed) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(int32_t((37 * i + 11 * seed + 5) % 256));
  return ids;
}

// Prefill `ids`, then `steps` greedy AR steps; every pass against the f32 and f64 references.
void expect_engine_matches_reference(const Model& m, const std::vector<int32_t>& ids, int steps,
                                     const std::string& what) {
  const ModelConfig& cfg = m.config();
  CpuBackend be;
  Transformer tf(cfg, m.weights(), be);
  KvCache cache(cfg, 1, int(ids.size()) + steps + 1);
  testutil::run_prefill_and_greedy_steps(
      tf, cache, ids, steps,
      [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits,
          const std::string& where) {
        EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<float>(cfg, m.weights(), context, pass)), 1e-5)
            << what << where;
        EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m.weights(), context, pass)), 1e-4)
            << what << where;
      });
}

}  // namespace

TEST(Zaya, EngineMatchesReferenceOnPrefillAndArSteps) {
  for (const char* preset : {"tiny-zaya", "tiny-zaya-sliding"})
    for (DType dtype : {DType::f32, DType::bf16})
      for (uint64_t seed : {0, 1})
        for (int len : {1, 2, 7, 33}) {
          auto m = Model::random(preset_config(preset), dtype, seed, preset);
          expect_engine_matches_reference(
              *m, prompt(len, uint32_t(seed)), 12,
              std::string(preset) + " seed " + std::to_string(seed) + " len " + std::to_string(len));
        }
}

TEST(Zaya, BothSkipRoutesMatchTheReferenceAndDiffer) {
  ModelConfig cfg = preset_config("tiny-zaya");
  std::vector<std::vector<float>> logits;
  for (SkipRoute skip : {SkipRoute::zero, SkipRoute::identity}) {
    cfg.skip_route = skip;
    auto m = Model::random(cfg, DType::f32, 3, "tiny-zaya");
    expect_engine_matches_reference(*m, prompt(40, 3), 4, skip == SkipRoute::zero ? "zero" : "identity");
    Pass p;
    p.add_causal(0, prompt(40, 3), 0, 0, false);
    logits.push_back(ref::pass_logits<float>(m->config(), m->weights(), {}, p));
  }
  EXPECT_NE(logits[0], logits[1]) << "no token of 40 took the skip route";
}

TEST(Zaya, DecodingFromTheZeroStateEqualsPrefill) {
  // Token by token from an empty cache (conv state zero, bias on the zero padding) gives the
  // logits of one prefill pass, bitwise.
  auto m = Model::load("preset:tiny-zaya", 5);
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const std::vector<int32_t> ids = prompt(9, 5);
  KvCache one(cfg, 1, 16), steps(cfg, 1, 16);
  std::vector<float> all, logits;
  Pass prefill;
  prefill.add_causal(0, ids, 0, 0, true);
  tf.forward(prefill, one, {}, all);
  for (int i = 0; i < int(ids.size()); ++i) {
    Pass p;
    p.add_causal(0, {ids[size_t(i)]}, i, i, true);
    tf.forward(p, steps, {}, logits);
    steps.set_length(0, i + 1);
    const std::vector<float> row(all.begin() + i * cfg.vocab_size, all.begin() + (i + 1) * cfg.vocab_size);
    EXPECT_EQ(logits, row) << "position " << i;
  }
}

TEST(Zaya, PassesBeyondTheRecurrentRingAreRejected) {
  auto m = Model::load("preset:tiny-zaya", 0);
  CpuBackend be;
  Transformer tf(m->config(), m->weights(), be);
  GenerateRequest r;
  r.prompt = prompt(4, 0);
  r.max_new_tokens = 300;
  TidarOptions o;
  o.block_size = KvCache::kRecurrentRing;  // verify writes K + 1 slots: one more than the ring keeps
  o.levels = {0};
  try {
    TidarDecoder(tf, o).generate(r);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block size of at most"), std::string::npos) << e.what();
  }
}

TEST(Zaya, BadConfigsGiveClearErrors) {
  const nlohmann::json good = {
      {"model_type", "zaya"},     {"hidden_size", 64}, {"num_hidden_layers", 2},      {"num_attention_heads", 4},
      {"num_key_value_heads", 2}, {"head_dim", 16},    {"moe_intermediate_size", 32}, {"num_experts", 4},
      {"router_hidden_size", 16}, {"vocab_size", 300}};
  EXPECT_NO_THROW(parse_config(good, "t"));
  EXPECT_EQ(parse_config(good, "t").rotary_dim, 8);  // partial_rotary_factor 0.5 by default
  auto expect_error = [&](nlohmann::json j, const std::string& needle) {
    try {
      parse_config(j, "config.json");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  nlohmann::json j = good;
  j["num_key_value_heads"] = 3;
  expect_error(j, "multiple of num_key_value_heads");
  j = good;
  j["rope_parameters"] = {{"hybrid", {{"rope_type", "default"}, {"rope_theta", 1e4}, {"partial_rotary_factor", 1.5}}}};
  expect_error(j, "partial_rotary_factor");
  j = good;
  j["num_experts_per_tok"] = 2;
  expect_error(j, "num_experts_per_tok");
  j = good;
  j["layer_types"] = {"hybrid", "hybrid_sliding"};
  expect_error(j, "hybrid_sliding");
  j = good;
  j["zaya_skip_route"] = "drop";
  expect_error(j, "zaya_skip_route");
}

TEST(Zaya, CheckpointRoundTripAndMissingRouterTensor) {
  auto m = Model::load("preset:tiny-zaya", 2);
  const std::string dir = testutil::fresh_dir("zaya-ckpt");
  m->save(dir);
  auto back = Model::load(dir);
  EXPECT_EQ(back->config().skip_route, SkipRoute::zero);
  EXPECT_EQ(back->parameter_count(), m->parameter_count());
  Pass p;
  p.add_causal(0, prompt(6, 2), 0, 0, false);
  EXPECT_EQ(ref::pass_logits<float>(back->config(), back->weights(), {}, p),
            ref::pass_logits<float>(m->config(), m->weights(), {}, p));
  // Drop the second layer's router state scale.
  const std::string missing = "model.layers.1.mlp.gate.router_states_scale";
  std::vector<TensorToWrite> kept;
  {
    const Checkpoint ck = Checkpoint::open(dir);
    for (const std::string& name : ck.names()) {
      const TensorInfo& t = ck.get(name);
      if (name != missing) kept.push_back({name, t.dtype, t.shape, t.data});
    }
    const std::string other = testutil::fresh_dir("zaya-missing");
    std::filesystem::copy_file(dir + "/config.json", other + "/config.json");
    write_safetensors(other + "/model.safetensors", kept, {});
    try {
      Model::load(other);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
  }
}

TEST(Zaya, Zaya1_8bParameterCountWithoutAllocating) {
  const ModelSummary s = describe_model("preset:zaya1-8b");
  // 40 x (5.58M CCA + 0.66M router + 201.3M experts) + 537M tied embedding.
  EXPECT_NEAR(double(s.parameters) / 1e9, 8.84, 0.01);
  EXPECT_EQ(s.config.num_experts, 16);
  EXPECT_EQ(s.config.rotary_dim, 64);
  // One token uses 1 of 16 experts per layer: 0.75B without the 0.54B embedding (Zyphra: 760M active).
  EXPECT_NEAR(double(zaya_active_parameters(s) - int64_t(s.config.vocab_size) * s.config.hidden_size) / 1e9, 0.75,
              0.01);
  EXPECT_NEAR(zaya_pass_estimate(s, 1).experts_per_layer, 16.0 / 17.0, 1e-9);
  EXPECT_GT(zaya_pass_estimate(s, 17).weight_bytes, 4 * zaya_pass_estimate(s, 1).weight_bytes);
}

TEST(Zaya, MoeTrafficGrowsWithThePass) {
  // Distinct experts touched and weight bytes read by passes of T tokens: a TiDAR block touches
  // many more experts than an AR step.
  auto m = Model::load("preset:tiny-zaya", 1);
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const int64_t expert_bytes = zaya_expert_bytes(cfg, DType::f32), dense = zaya_dense_bytes(m->weights());
  EXPECT_EQ(dense + cfg.num_layers * cfg.num_experts * expert_bytes, m->weight_bytes());
  double last = 0;
  std::string line;
  for (int t : {1, 17, 68, 306}) {
    KvCache cache(cfg, 1, t);
    Pass p;
    p.add_causal(0, prompt(t, 7), 0, 0, true);
    std::vector<float> logits;
    tf.forward(p, cache, {0}, logits);
    const Transformer::MoeTraffic& moe = tf.moe_traffic();
    EXPECT_EQ(moe.weight_bytes, dense + moe.experts * expert_bytes);
    const double per_layer = double(moe.experts) / cfg.num_layers;
    EXPECT_LE(per_layer, cfg.num_experts);
    EXPECT_GE(per_layer, last);
    last = per_layer;
    line += " T=" + std::to_string(t) + ": " + std::to_string(per_layer);
  }
  EXPECT_GT(last, 1.5);
  std::cout << "tiny-zaya experts per layer per pass:" << line << "\n";
}
