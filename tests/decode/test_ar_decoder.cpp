#include <gtest/gtest.h>

#include <algorithm>

#include "engine/backend/cpu_backend.h"
#include "core/check.h"
#include "core/rng.h"
#include "engine/decode/ar_decoder.h"
#include "engine/model/model.h"
#include "ref/model.h"

using namespace dllm;

namespace {

// The AR reference: every token from a full recompute of the sequence so far.
std::vector<int32_t> reference_decode(const Model& m, std::vector<int32_t> seq, int n, const SamplerConfig& s) {
  const int vocab = m.config().vocab_size;
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    std::vector<PassToken> full;
    for (size_t j = 0; j < seq.size(); ++j) {
      PassToken t;
      t.token = seq[j], t.position = int32_t(j), t.vis = Visibility{0, {0, int32_t(j) + 1}, {}};
      full.push_back(t);
    }
    const auto logits = ref::model_forward<float>(m.config(), m.weights(), full);
    const int32_t tok =
        sample_token(logits.data() + (seq.size() - 1) * size_t(vocab), vocab, s, 0, uint32_t(seq.size()));
    out.push_back(tok);
    seq.push_back(tok);
  }
  return out;
}

struct Fixture {
  std::unique_ptr<Model> model = Model::load("preset:tiny", 5);
  CpuBackend backend;
  Transformer tf{model->config(), model->weights(), backend};
};

}  // namespace

TEST(ArDecoder, GreedyAndSampledEqualTheReferenceLoop) {
  Fixture f;
  GenerateRequest r;
  r.prompt = {256, 65, 66, 67};
  r.max_new_tokens = 12;
  for (float temp : {0.0f, 0.8f, 1.5f}) {
    r.sampler.temperature = temp;
    r.sampler.seed = 11;
    r.sampler.top_k = temp > 1 ? 50 : 0;
    const Generation g = ArDecoder(f.tf).generate(r);
    auto expect = reference_decode(*f.model, r.prompt, 12, r.sampler);
    // Cut the reference at the first EOS like the decoder does.
    for (size_t i = 0; i < expect.size(); ++i)
      if (f.model->config().is_eos(expect[i])) expect.resize(i);
    EXPECT_EQ(g.tokens, expect) << "temperature " << temp;
    EXPECT_EQ(g.metrics.forwards, int(g.tokens.size()) + (g.stop_reason == "eos" ? 1 : 0));
  }
}

TEST(ArDecoder, StopsAtEosWithoutCountingIt) {
  Fixture f;
  GenerateRequest r;
  r.prompt = {256, 1, 2, 3};
  r.max_new_tokens = 10;
  const Generation full = ArDecoder(f.tf).generate(r);
  ASSERT_EQ(full.tokens.size(), 10u);
  // Declare the 4th generated token an EOS: generation must stop right before it.
  ModelConfig cfg = f.model->config();
  const size_t first = size_t(std::find(full.tokens.begin(), full.tokens.end(), full.tokens[3]) - full.tokens.begin());
  cfg.eos_token_ids = {full.tokens[3]};
  Transformer tf(cfg, f.model->weights(), f.backend);
  const Generation g = ArDecoder(tf).generate(r);
  EXPECT_EQ(g.stop_reason, "eos");
  EXPECT_EQ(g.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + ptrdiff_t(first)));
  EXPECT_EQ(g.metrics.generated_tokens, int(first));
}

TEST(ArDecoder, SameSeedSameTokensAndMetricsAreConsistent) {
  Fixture f;
  GenerateRequest r;
  r.prompt = {256, 9, 8};
  r.max_new_tokens = 20;
  r.sampler.temperature = 1.0f;
  r.sampler.seed = 3;
  const Generation a = ArDecoder(f.tf).generate(r), b = ArDecoder(f.tf).generate(r);
  EXPECT_EQ(a.tokens, b.tokens);
  r.sampler.seed = 4;
  EXPECT_NE(ArDecoder(f.tf).generate(r).tokens, a.tokens);
  if (a.stop_reason == "max_new_tokens") {
    EXPECT_EQ(a.metrics.generated_tokens, 20);
    EXPECT_EQ(a.metrics.forwards, 20);
    EXPECT_EQ(a.metrics.step_seconds.size(), 19u);
  }
}

TEST(ArDecoder, RejectsRequestsTheModelCannotServe) {
  Fixture f;
  GenerateRequest r;
  r.prompt = {};
  EXPECT_THROW(ArDecoder(f.tf).generate(r), Error);
  r.prompt = {5000};
  EXPECT_THROW(ArDecoder(f.tf).generate(r), Error);
  r.prompt = std::vector<int32_t>(2040, 7);
  r.max_new_tokens = 20;  // 2060 > 2048 positions
  try {
    ArDecoder(f.tf).generate(r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_position_embeddings"), std::string::npos);
  }
}
