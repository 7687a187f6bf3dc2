// Sliding-window layers (zaya "hybrid_sliding"): which keys a query keeps (against a brute-force
// filter by position over prefill and TiDAR passes), what the window changes in the logits, and the
// config fields with their errors. The engine against the reference on tiny-zaya-sliding runs in
// test_zaya.cpp, TiDAR's passes and its lossless gate in test_tidar_decoder.cpp, transformers in HfParity.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "core/pass.h"
#include "engine/decode/tidar_layout.h"
#include "engine/model/config.h"
#include "engine/model/model.h"
#include "ref/model.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

// The positions token i sees through `vis`: cache slot s is position s.
std::vector<int32_t> seen_positions(const std::vector<PassToken>& tokens, const Visibility& vis) {
  std::vector<int32_t> out;
  for (int32_t s = vis.cache_begin; s < vis.cache_len; ++s) out.push_back(s);
  for (const Interval& iv : {vis.first, vis.second})
    for (int32_t j = iv.begin; j < iv.end; ++j) out.push_back(tokens[size_t(j)].position);
  return out;
}

void expect_window_keeps_recent_keys(const Pass& pass, int window, const std::string& what) {
  for (int i = 0; i < pass.size(); ++i) {
    const PassToken& t = pass.tokens[size_t(i)];
    std::vector<int32_t> expected;
    for (int32_t p : seen_positions(pass.tokens, t.vis))
      if (p > t.position - window) expected.push_back(p);
    EXPECT_EQ(seen_positions(pass.tokens, sliding_window_visibility(pass.tokens, i, window)), expected)
        << what << " token " << i << " window " << window;
  }
}

std::vector<int32_t> ids(int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(int32_t((29 * i + 7) % 256));
  return out;
}

nlohmann::json sliding_config() { return config_to_json(preset_config("tiny-zaya-sliding")); }

void expect_error(const nlohmann::json& j, const std::string& needle) {
  try {
    parse_config(j, "config.json");
    ADD_FAILURE() << "no error for " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(SlidingWindow, KeepsExactlyTheKeysWithinTheWindow) {
  for (int window : {1, 2, 5, 17, 1000}) {
    Pass prefill;
    prefill.add_causal(0, ids(23), 0, 0, false);
    expect_window_keeps_recent_keys(prefill, window, "prefill");
    Pass step;  // an AR step after 40 cached tokens
    step.add_causal(0, {3}, 40, 40, true);
    expect_window_keeps_recent_keys(step, window, "AR step");
    for (ProposalAttention att : {ProposalAttention::bidirectional, ProposalAttention::causal}) {
      Pass tidar;  // verify 1 + 6 drafts after 30 cached tokens, proposal blocks at levels 0, 3 and 6
      const int verify = add_verify_segment(tidar, 0, 9, ids(6), 30);
      for (int level : {0, 3, 6}) add_proposal_block(tidar, 0, verify, level, 6, 258, 30, att);
      expect_window_keeps_recent_keys(tidar, window, "TiDAR pass");
    }
  }
}

TEST(SlidingWindow, OnlyQueriesPastTheWindowChange) {
  // The same weights with a window of 5 and with one wider than the prompt: the first 5 positions see
  // the same keys (bitwise equal logits); every later one loses keys.
  ModelConfig narrow = preset_config("tiny-zaya-sliding"), wide = narrow;
  ASSERT_EQ(narrow.sliding_window, 5);
  wide.sliding_window = 1000;
  auto a = Model::random(narrow, DType::f32, 4, "narrow"), b = Model::random(wide, DType::f32, 4, "wide");
  Pass p;
  p.add_causal(0, ids(12), 0, 0, false);
  const std::vector<float> la = ref::pass_logits<float>(narrow, a->weights(), {}, p),
                           lb = ref::pass_logits<float>(wide, b->weights(), {}, p);
  const size_t v = size_t(narrow.vocab_size);
  for (int i = 0; i < 12; ++i) {
    const std::vector<float> ra(la.begin() + ptrdiff_t(i * v), la.begin() + ptrdiff_t((i + 1) * v)),
        rb(lb.begin() + ptrdiff_t(i * v), lb.begin() + ptrdiff_t((i + 1) * v));
    if (i < 5)
      EXPECT_EQ(ra, rb) << "position " << i;
    else
      EXPECT_NE(ra, rb) << "position " << i;
  }
}

TEST(SlidingWindow, ConfigFieldsRoundTrip) {
  const ModelConfig c = parse_config(sliding_config(), "config.json");
  EXPECT_EQ(c.sliding_layers, (std::vector<bool>{true, false}));
  EXPECT_EQ(c.sliding_window, 5);
  EXPECT_EQ(c.sliding_rope_theta, 100.0f);
  EXPECT_EQ(c.layer_rope_theta(0), 100.0f);
  EXPECT_EQ(c.layer_rope_theta(1), 10000.0f);
  EXPECT_EQ(config_to_json(c), sliding_config());
  // Without rope_parameters, transformers' defaults for both layer types (5e6 and 1e4).
  nlohmann::json j = sliding_config();
  j.erase("rope_parameters");
  const ModelConfig d = parse_config(j, "config.json");
  EXPECT_EQ(d.rope_theta, 5e6f);
  EXPECT_EQ(d.sliding_rope_theta, 1e4f);
  EXPECT_FALSE(parse_config(config_to_json(preset_config("tiny-zaya")), "c").has_sliding_layers());
}

TEST(SlidingWindow, BadConfigsGiveClearErrors) {
  nlohmann::json j = sliding_config();
  j.erase("sliding_window");
  expect_error(j, "sliding_window is not set");
  j = sliding_config();
  j["sliding_window"] = 0;
  expect_error(j, "sliding_window");
  j = sliding_config();
  j["rope_parameters"].erase("hybrid_sliding");
  expect_error(j, "no \"hybrid_sliding\" object");
  j = sliding_config();
  j["rope_parameters"]["hybrid_sliding"]["partial_rotary_factor"] = 1.0;
  expect_error(j, "must turn as many dimensions");
  j = sliding_config();
  j["rope_parameters"]["hybrid_sliding"]["rope_type"] = "yarn";
  expect_error(j, "plain RoPE");
  j = sliding_config();
  j["layer_types"] = {"hybrid_sliding"};
  expect_error(j, "num_hidden_layers (2) entries");
  j = sliding_config();
  j["layer_types"] = {"sliding_attention", "hybrid"};
  expect_error(j, "\"sliding_attention\" is unknown");
}
