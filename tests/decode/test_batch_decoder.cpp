// Continuous batching: every sequence of a batch decodes exactly what it decodes alone (AR and TiDAR,
// greedy and stochastic with per-sequence seeds), with ragged acceptance, sequences finishing at
// different steps, joins mid-run, mixed strategies in one pass, and rollouts sharing one prefill.
#include "engine/decode/batch_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "datasets/prompts.h"
#include "engine/backend/cpu_backend.h"
#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/model/model.h"
#include "engine/model/tokenizer.h"

using namespace dllm;

namespace {

struct Rig {
  std::unique_ptr<Model> model;
  CpuBackend backend;
  std::unique_ptr<Transformer> tf;
  explicit Rig(const std::string& spec) : model(Model::load(spec)) {
    tf = std::make_unique<Transformer>(model->config(), model->weights(), backend);
  }
};

TidarOptions tidar(int k, Layout layout, std::vector<int> levels) {
  TidarOptions o;
  o.block_size = k;
  o.layout = layout;
  o.levels = std::move(levels);
  return o;
}

// Requests of different prompt lengths and budgets; `seeded`: temperature 0.9, own seed and stream.
std::vector<GenerateRequest> requests(int n, bool seeded) {
  std::vector<GenerateRequest> out;
  for (int i = 0; i < n; ++i) {
    GenerateRequest r;
    for (int j = 0; j < 2 + 3 * i; ++j) r.prompt.push_back(int32_t((29 * j + 7 * i + 3) % 256));
    r.max_new_tokens = 6 + 5 * (i % 4);
    if (seeded) r.sampler = SamplerConfig{0.9f, 0, 1.0f, uint64_t(100 + i)}, r.sequence = i;
    out.push_back(r);
  }
  return out;
}

using Factory = std::function<std::unique_ptr<SequenceDecoder>(const GenerateRequest&, int index)>;

std::vector<Generation> batched(Transformer& tf, const std::vector<GenerateRequest>& rs, const Factory& make,
                                int max_batch, BatchTrace* trace = nullptr) {
  std::vector<std::unique_ptr<SequenceDecoder>> seqs;
  for (size_t i = 0; i < rs.size(); ++i) seqs.push_back(make(rs[i], int(i)));
  return decode_batch(tf, std::move(seqs), BatchOptions{max_batch, true}, trace);
}

std::vector<Generation> alone(Transformer& tf, const std::vector<GenerateRequest>& rs, const Factory& make) {
  std::vector<Generation> out;
  for (size_t i = 0; i < rs.size(); ++i) {
    std::vector<std::unique_ptr<SequenceDecoder>> one;
    one.push_back(make(rs[i], int(i)));
    out.push_back(std::move(decode_batch(tf, std::move(one), BatchOptions{1, false}, nullptr).front()));
  }
  return out;
}

void expect_same_tokens(const std::vector<Generation>& a, const std::vector<Generation>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens) << what << " sequence " << i;
    EXPECT_EQ(a[i].stop_reason, b[i].stop_reason) << what << " sequence " << i;
    EXPECT_EQ(a[i].metrics.committed_per_step, b[i].metrics.committed_per_step) << what << " sequence " << i;
  }
}

}  // namespace

TEST(BatchDecoder, EverySequenceDecodesWhatItDecodesAlone) {
  for (const char* preset : {"preset:tiny", "preset:tiny-zaya"}) {  // zaya: a recurrent state per cache row
    Rig rig(preset);
    Transformer& tf = *rig.tf;
    const std::vector<std::pair<std::string, Factory>> strategies = {
        {"ar", [&](const GenerateRequest& r, int) { return make_ar_sequence(tf, r); }},
        {"tidar single K4",
         [&](const GenerateRequest& r, int) {
           return make_tidar_sequence(tf, r, tidar(4, Layout::single_forward, {0, 2, 4}));
         }},
        {"tidar two K3",
         [&](const GenerateRequest& r, int) {
           return make_tidar_sequence(tf, r, tidar(3, Layout::two_forward, {0, 1, 2, 3}));
         }},
        {"mixed", [&](const GenerateRequest& r, int i) {
           return i % 2 ? make_ar_sequence(tf, r)
                        : make_tidar_sequence(tf, r, tidar(4, Layout::single_forward, {0, 1, 2, 3, 4}));
         }}};
    for (const auto& [name, make] : strategies)
      for (bool seeded : {false, true}) {
        const std::vector<GenerateRequest> rs = requests(7, seeded);
        const std::vector<Generation> ref = alone(tf, rs, make);
        for (int max_batch : {2, 3, 7}) {
          BatchTrace trace;
          const std::vector<Generation> got = batched(tf, rs, make, max_batch, &trace);
          expect_same_tokens(got, ref, name + (seeded ? " seeded" : " greedy") + " batch " + std::to_string(max_batch));
          EXPECT_LE(*std::max_element(trace.pass_sequences.begin(), trace.pass_sequences.end()), max_batch);
          if (max_batch < 7) {
            EXPECT_GT(trace.pass_sequences.size(), 1u);  // joins happened mid-run
          }
        }
      }
  }
}

TEST(BatchDecoder, RaggedAcceptanceAndEosOnTheShippedModel) {
  Rig rig(DLLM_SOURCE_DIR "/models/tiny-tidar");
  Transformer& tf = *rig.tf;
  const ModelConfig& cfg = rig.model->config();
  std::vector<GenerateRequest> rs;
  for (const Prompt& p : load_prompts(DLLM_SOURCE_DIR "/datasets/tasks/heldout.jsonl")) {
    if (rs.size() == 8) break;
    GenerateRequest r;
    r.prompt = ByteTokenizer(cfg).encode(*p.text);
    r.max_new_tokens = 64;
    rs.push_back(r);
  }
  const Factory make = [&](const GenerateRequest& r, int) {
    return make_tidar_sequence(tf, r, tidar(16, Layout::single_forward, {0, 6, 16}));
  };
  const std::vector<Generation> ref = alone(tf, rs, make);
  const std::vector<Generation> got = batched(tf, rs, make, 4);
  expect_same_tokens(got, ref, "tiny-tidar P3 batch 4");
  int eos = 0;
  std::vector<std::vector<int>> steps;
  for (const Generation& g : got) eos += g.stop_reason == "eos", steps.push_back(g.metrics.committed_per_step);
  EXPECT_GE(eos, 4);              // sequences end at their own EOS, at different steps
  EXPECT_NE(steps[0], steps[1]);  // and advance by different amounts
  // The batch is the lossless gate too: TiDAR in a batch equals AR alone.
  for (size_t i = 0; i < rs.size(); ++i) EXPECT_EQ(got[i].tokens, ArDecoder(tf).generate(rs[i]).tokens) << i;
}

TEST(BatchDecoder, RolloutsShareThePromptPrefill) {
  for (const char* preset : {"preset:tiny", "preset:tiny-zaya"}) {  // zaya: the prefill carries its CCA state
    Rig rig(preset);
    Transformer& tf = *rig.tf;
    std::vector<GenerateRequest> rs;
    for (int i = 0; i < 5; ++i) {  // 5 sampled completions of one prompt, each with its own stream
      GenerateRequest r;
      r.prompt = {256, 40, 41, 42, 43, 44, 45};
      r.max_new_tokens = 12;
      r.sampler = SamplerConfig{1.0f, 0, 1.0f, 7};
      r.sequence = i;
      rs.push_back(r);
    }
    for (const bool use_tidar : {false, true}) {
      const Factory make = [&](const GenerateRequest& r, int) {
        return use_tidar ? make_tidar_sequence(tf, r, tidar(4, Layout::single_forward, {0, 4}))
                         : make_ar_sequence(tf, r);
      };
      BatchTrace trace;
      const std::vector<Generation> got = batched(tf, rs, make, 2, &trace);
      expect_same_tokens(got, alone(tf, rs, make), use_tidar ? "tidar rollouts" : "ar rollouts");
      EXPECT_EQ(trace.shared_prefills, 4);      // one prefill, four imports
      EXPECT_NE(got[0].tokens, got[1].tokens);  // different streams, different samples
      if (!use_tidar) {  // AR steps are 1 token per sequence: the only pass of 7+ tokens is the one prefill
        EXPECT_EQ(std::count_if(trace.pass_tokens.begin(), trace.pass_tokens.end(), [](int t) { return t >= 7; }), 1);
      }
    }
  }
}

TEST(BatchDecoder, BadBatchesAreRejected) {
  Rig rig("preset:tiny");
  EXPECT_THROW(decode_batch(*rig.tf, {}, BatchOptions{}, nullptr), Error);
  std::vector<std::unique_ptr<SequenceDecoder>> one;
  one.push_back(make_ar_sequence(*rig.tf, requests(1, false)[0]));
  EXPECT_THROW(decode_batch(*rig.tf, std::move(one), BatchOptions{0, true}, nullptr), Error);
}
