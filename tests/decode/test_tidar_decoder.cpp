// TiDAR decoding against AR decoding on the same weights (the lossless gate), with real drafts from
// random presets and with an oracle drafter, plus every pass checked against the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/backend/cpu_backend.h"
#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/model.h"
#include "ref/model.h"
#include "tests/decode/verify_replay.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

struct Rig {
  std::unique_ptr<Model> model;
  ModelConfig cfg;
  CpuBackend backend;
  std::unique_ptr<Transformer> tf;
  Rig(const std::string& preset, uint64_t seed) : model(Model::load("preset:" + preset, seed)), cfg(model->config()) {
    tf = std::make_unique<Transformer>(cfg, model->weights(), backend);
  }
  Generation ar(const GenerateRequest& r) { return ArDecoder(*tf).generate(r); }
  Generation tidar(const GenerateRequest& r, const TidarOptions& o) { return TidarDecoder(*tf, o).generate(r); }
};

GenerateRequest request(int prompt_len, int max_new, float temperature, uint64_t seed) {
  GenerateRequest r;
  for (int i = 0; i < prompt_len; ++i) r.prompt.push_back(int32_t((37 * i + 11 * seed + 5) % 256));
  r.max_new_tokens = max_new;
  r.sampler.temperature = temperature;
  r.sampler.seed = seed;
  return r;
}

TidarOptions options(int k, Layout layout, const std::string& levels = "dense") {
  TidarOptions o;
  o.block_size = k;
  o.layout = layout;
  o.levels = parse_levels(levels, k);
  return o;
}

// An oracle drafter: drafts are the AR continuation (so every step can accept all K), except the
// drafts listed in `wrong` (step index, draft index), which are corrupted.
void use_oracle(TidarOptions& o, const GenerateRequest& r, const std::vector<int32_t>& ar_tokens,
                std::vector<std::pair<int, int>> wrong = {}) {
  auto step = std::make_shared<int>(0);
  const int prompt_len = int(r.prompt.size());
  o.draft_hook = [=](int first_position, std::vector<int32_t>& drafts) {
    for (size_t j = 0; j < drafts.size(); ++j) {
      const size_t idx = size_t(first_position - prompt_len) + j;  // generated-token index
      drafts[j] = idx < ar_tokens.size() ? ar_tokens[idx] : 0;
      if (std::find(wrong.begin(), wrong.end(), std::make_pair(*step, int(j))) != wrong.end())
        drafts[j] = (drafts[j] + 1) % 256;
    }
    ++*step;
  };
}

}  // namespace

namespace {

// Greedy and stochastic (argmax drafter) TiDAR equal AR for K = 1, 4, 16, 24, both layouts, dense
// and sparse levels, two seeds and prompt lengths 1, 5, 20.
void expect_lossless_on(const char* preset) {
  struct Case {
    int k;
    Layout layout;
    const char* levels;
  };
  const std::vector<Case> cases = {{1, Layout::single_forward, "dense"}, {4, Layout::single_forward, "dense"},
                                   {4, Layout::two_forward, "dense"},    {16, Layout::single_forward, "P3"},
                                   {16, Layout::single_forward, "P5"},   {16, Layout::two_forward, "dense"},
                                   {24, Layout::two_forward, "dense"},   {24, Layout::single_forward, "0,3,12,24"}};
  int runs = 0;
  {
    for (uint64_t seed : {0u, 1u}) {
      Rig s(preset, seed);
      for (int prompt_len : {1, 5, 20}) {
        for (float temperature : {0.0f, 0.9f}) {
          const GenerateRequest r = request(prompt_len, 24, temperature, seed * 7 + uint64_t(prompt_len));
          const Generation ar = s.ar(r);
          for (const Case& c : cases) {
            const Generation td = s.tidar(r, options(c.k, c.layout, c.levels));
            EXPECT_EQ(td.tokens, ar.tokens) << preset << " seed " << seed << " prompt " << prompt_len << " T "
                                            << temperature << " K " << c.k << " levels " << c.levels;
            EXPECT_EQ(td.stop_reason, ar.stop_reason);
            ++runs;
          }
        }
      }
    }
  }
  EXPECT_EQ(runs, 2 * 3 * 2 * 8);
}

}  // namespace

TEST(Tidar, LosslessEqualsArQwen3) { expect_lossless_on("tiny"); }
TEST(Tidar, LosslessEqualsArLlama) { expect_lossless_on("tiny-llama"); }
TEST(Tidar, LosslessEqualsArQwen2) { expect_lossless_on("tiny-qwen2"); }
TEST(Tidar, LosslessEqualsArZaya) { expect_lossless_on("tiny-zaya"); }
TEST(Tidar, LosslessEqualsArZayaSliding) { expect_lossless_on("tiny-zaya-sliding"); }

TEST(Tidar, DenseSixteenSingleForwardEqualsAr) {
  Rig s("tiny", 3);
  for (float temperature : {0.0f, 1.0f}) {
    const GenerateRequest r = request(6, 20, temperature, 9);
    EXPECT_EQ(s.tidar(r, options(16, Layout::single_forward)).tokens, s.ar(r).tokens);
  }
}

// AR and TiDAR (both layouts; lossless, logit mixing, rejection sampling with a sampling drafter),
// greedy and sampled with top-k and top-p, decide from the tokens the backend drew with each pass:
// not one logits row reaches the host (on a GPU: only token ids come back). A pass hook reads rows,
// which shows the count is live.
TEST(Tidar, DecodingReadsNoLogitsRows) {
  Rig s("tiny", 3);
  for (float temperature : {0.0f, 0.9f}) {
    GenerateRequest r = request(5, 24, temperature, 1);
    r.sampler.top_k = 40, r.sampler.top_p = 0.9f;
    const Generation ar = s.ar(r);
    for (Layout layout : {Layout::single_forward, Layout::two_forward}) {
      EXPECT_EQ(s.tidar(r, options(4, layout)).tokens, ar.tokens) << "T " << temperature;
      TidarOptions mixing = options(4, layout), sampling_drafter = options(4, layout);
      mixing.mix_weight = 0.5f;
      sampling_drafter.draft_temperature = 1.0f;
      EXPECT_GT(s.tidar(r, mixing).metrics.mixing.positions, 0);
      s.tidar(r, sampling_drafter);
    }
  }
  EXPECT_EQ(s.tf->logits_rows_read(), 0);
  TidarOptions hooked = options(4, Layout::single_forward);
  hooked.pass_hook = [](const std::vector<int32_t>&, const Pass&, const std::vector<float>&) {};
  s.tidar(request(5, 24, 0.0f, 1), hooked);
  EXPECT_GT(s.tf->logits_rows_read(), 0);
}

// Verification on the CPU backend (sample-and-match, logit mixing, rejection sampling, both) against
// the host reference verifier on the same rows (verify_replay.h).
TEST(Tidar, VerificationOnTheBackendEqualsTheHostVerifier) {
  Rig s("tiny", 2);
  for (float temperature : {0.0f, 0.8f})
    for (float w : {1.0f, 0.5f})
      for (float draft_temperature : {0.0f, 1.0f})
        testutil::expect_verification_replays_on_host(*s.tf, request(5, 40, temperature, 3), 4, w, draft_temperature,
                                                      "T " + std::to_string(temperature) + " w " + std::to_string(w) +
                                                          " Td " + std::to_string(draft_temperature));
}

TEST(Tidar, OracleDrafterCommitsKPlusOnePerStep) {
  Rig s("tiny", 2);
  for (int k : {1, 4, 16}) {
    for (Layout layout : {Layout::single_forward, Layout::two_forward}) {
      GenerateRequest r = request(5, 1000, 0.0f, 0);
      r.max_new_tokens = 3 * (k + 1) + 1;
      const Generation ar = s.ar(r);
      ASSERT_EQ(ar.stop_reason, "max_new_tokens");
      TidarOptions o = options(k, layout);
      use_oracle(o, r, ar.tokens);
      const Generation td = s.tidar(r, o);
      EXPECT_EQ(td.tokens, ar.tokens);
      // First token from prefill, then three full steps of K+1.
      EXPECT_EQ(td.metrics.accepted_histogram[size_t(k)], 3) << "K " << k;
      const int forwards = layout == Layout::single_forward ? 2 + 3 : 2 + 3 + 3;  // prefill, draft, steps (+ drafts)
      EXPECT_EQ(td.metrics.forwards, forwards - (layout == Layout::two_forward ? 1 : 0)) << "K " << k;
    }
  }
}

TEST(Tidar, RejectionAtEverySlot) {
  Rig s("tiny-llama", 4);
  const int k = 6;
  GenerateRequest r = request(4, 30, 0.0f, 0);
  const Generation ar = s.ar(r);
  for (int slot = 0; slot < k; ++slot) {
    TidarOptions o = options(k, Layout::single_forward);
    use_oracle(o, r, ar.tokens, {{0, slot}});
    const Generation td = s.tidar(r, o);
    EXPECT_EQ(td.tokens, ar.tokens) << "slot " << slot;
    EXPECT_EQ(td.metrics.accepted_histogram[size_t(slot)], 1) << "slot " << slot;
    EXPECT_EQ(td.metrics.slot_verified[size_t(slot)] - td.metrics.slot_accepted[size_t(slot)], 1);
  }
}

TEST(Tidar, EosAndMaxNewTokensInsideABlock) {
  Rig s("tiny", 6);
  GenerateRequest r = request(3, 40, 0.0f, 0);
  const Generation ar = s.ar(r);
  // EOS: declare the 7th generated token an end-of-sequence token.
  const int32_t eos = ar.tokens[6];
  const size_t cut = size_t(std::find(ar.tokens.begin(), ar.tokens.end(), eos) - ar.tokens.begin());
  ModelConfig cfg = s.cfg;
  cfg.eos_token_ids = {eos};
  Transformer tf(cfg, s.model->weights(), s.backend);
  TidarOptions o = options(16, Layout::single_forward);
  use_oracle(o, r, ar.tokens);
  const Generation with_eos = TidarDecoder(tf, o).generate(r);
  EXPECT_EQ(with_eos.stop_reason, "eos");
  EXPECT_EQ(with_eos.tokens, std::vector<int32_t>(ar.tokens.begin(), ar.tokens.begin() + ptrdiff_t(cut)));
  EXPECT_EQ(with_eos.tokens, ArDecoder(tf).generate(r).tokens);
  // max_new_tokens = 10 inside the first block of 17: trimmed.
  r.max_new_tokens = 10;
  TidarOptions o2 = options(16, Layout::single_forward);
  use_oracle(o2, r, ar.tokens);
  const Generation trimmed = s.tidar(r, o2);
  EXPECT_EQ(trimmed.tokens, std::vector<int32_t>(ar.tokens.begin(), ar.tokens.begin() + 10));
  EXPECT_EQ(trimmed.metrics.generated_tokens, 10);
  EXPECT_EQ(trimmed.stop_reason, "max_new_tokens");
}

TEST(Tidar, MixWeightOneEqualsLosslessAndZeroAcceptsEverything) {
  Rig s("tiny-qwen2", 1);
  for (float temperature : {0.0f, 0.8f}) {
    const GenerateRequest r = request(7, 30, temperature, 5);
    TidarOptions lossless = options(4, Layout::single_forward), mix1 = lossless;
    mix1.mix_weight = 1.0f;
    const Generation a = s.tidar(r, lossless), b = s.tidar(r, mix1);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.metrics.accepted_histogram, b.metrics.accepted_histogram);
    EXPECT_EQ(b.tokens, s.ar(r).tokens);
  }
  // w = 0 verifies the drafts against their own logits: greedy accepts every draft.
  TidarOptions mix0 = options(4, Layout::two_forward);
  mix0.mix_weight = 0.0f;
  const Generation g = s.tidar(request(7, 41, 0.0f, 5), mix0);
  const auto& h = g.metrics.accepted_histogram;
  EXPECT_EQ(std::accumulate(h.begin(), h.end() - 1, int64_t(0)), 0) << "a step rejected a draft at w = 0";
}

// For zaya this checks the recurrent CCA state: stash per verify position, commit stash[n], proposal
// blocks continuing after verify[p]; for tiny-zaya-sliding, the window over cache and pass keys.
TEST(Tidar, EveryPassMatchesTheFullRecomputeReference) {
  for (const char* preset : {"tiny", "tiny-zaya", "tiny-zaya-sliding"})
    for (Layout layout : {Layout::single_forward, Layout::two_forward}) {
      for (ProposalAttention att : {ProposalAttention::bidirectional, ProposalAttention::causal}) {
        Rig s(preset, 8);
        GenerateRequest r = request(6, 30, 0.0f, 0);
        const Generation ar = s.ar(r);
        TidarOptions o = options(5, layout, "0,2,5");
        o.proposal_attention = att;
        use_oracle(o, r, ar.tokens, {{0, 0}, {1, 3}, {2, 1}, {3, 4}});  // mixed accept/reject sequences
        int passes = 0;
        o.pass_hook = [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits) {
          const auto expect = ref::pass_logits<float>(s.cfg, s.model->weights(), context, pass);
          EXPECT_LE(testutil::max_rel_diff(logits, expect), 1e-5) << preset << " pass " << passes;
          ++passes;
        };
        EXPECT_EQ(s.tidar(r, o).tokens, ar.tokens);
        EXPECT_GE(passes, 6);
      }
    }
}

TEST(Tidar, RejectsBadOptions) {
  Rig s("tiny", 0);
  EXPECT_THROW(parse_levels("0,6,16", 8), Error);  // 16 > K
  EXPECT_THROW(parse_levels("2,6", 8), Error);     // no level 0
  EXPECT_THROW(parse_levels("0,6,3", 8), Error);   // not increasing
  EXPECT_THROW(parse_levels("0,x", 8), Error);
  EXPECT_EQ(parse_levels("P5", 16), (std::vector<int>{0, 2, 5, 10, 16}));
  TidarOptions o;
  o.block_size = 0;
  EXPECT_THROW(TidarDecoder(*s.tf, o), Error);
  ModelConfig no_mask = s.cfg;
  no_mask.mask_token_id = -1;
  Transformer tf(no_mask, s.model->weights(), s.backend);
  EXPECT_THROW(TidarDecoder(tf, TidarOptions{}), Error);
  ModelConfig dynamic = s.cfg;  // a pass past the context turns by its own reach: verify rows would not be AR's
  dynamic.rope_scaling.type = RopeScalingType::dynamic, dynamic.rope_scaling.factor = 2.0f;
  dynamic.rope_scaling.original_max_positions = dynamic.max_position_embeddings;
  Transformer dyn(dynamic, s.model->weights(), s.backend);
  try {
    TidarDecoder(dyn, TidarOptions{});
    ADD_FAILURE() << "no error for a dynamic RoPE";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--strategy ar"), std::string::npos) << e.what();
  }
  // K so large that the passes would leave the context.
  GenerateRequest r = request(5, 1000, 0.0f, 0);
  TidarOptions big = options(600, Layout::single_forward, "0");
  EXPECT_THROW(s.tidar(r, big), Error);
}
