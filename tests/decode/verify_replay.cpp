#include "tests/decode/verify_replay.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/decode/tidar_decoder.h"
#include "ref/ref.h"
#include "ref/verify.h"

namespace dllm::testutil {

void expect_verification_replays_on_host(Transformer& model, const GenerateRequest& request, int block_size,
                                         float mix_weight, float draft_temperature, const std::string& what) {
  const int k = block_size, v = model.config().vocab_size;
  TidarOptions o;
  o.block_size = k;
  o.layout = Layout::two_forward;
  o.levels = parse_levels("dense", k);
  o.mix_weight = mix_weight;
  o.draft_temperature = draft_temperature;
  std::vector<std::vector<float>> passes;  // draft, verify, draft, verify, ...
  o.pass_hook = [&](const std::vector<int32_t>&, const Pass&, const std::vector<float>& logits) {
    passes.push_back(logits);
  };
  const Generation g = TidarDecoder(model, o).generate(request);
  const ref::VerifyConfig vc{request.sampler, mix_weight, draft_temperature};
  std::vector<int32_t> replay = {g.tokens.front()};
  double kl_sum = 0;
  int positions = 0, len = int(request.prompt.size());
  for (size_t p = 1; p < passes.size(); p += 2) {
    const std::vector<float>& draft = passes[p - 1];
    std::vector<ref::Draft> drafts(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) {
      const float* row = draft.data() + size_t(j + 1) * v;
      drafts[size_t(j)] = ref::Draft{ref::draft_token(row, v, vc, uint32_t(request.sequence), len + 1 + j), row};
    }
    const ref::VerifyOutcome out =
        ref::verify_drafts(passes[p].data(), drafts, v, vc, uint32_t(request.sequence), len + 1);
    for (int j = 0; j < out.accepted; ++j) replay.push_back(drafts[size_t(j)].token);
    replay.push_back(out.next);
    for (int j = 0; j <= std::min(out.accepted, k - 1) && mix_weight != 1.0f; ++j) {
      RowDraw d = request.sampler.draw(0.0);
      d.mix = drafts[size_t(j)].logits, d.mix_weight = mix_weight;
      MixDivergence div;
      ref::sample_divergence(SampleDivergenceArgs{1, v, passes[p].data() + size_t(j) * v, &d, &div});
      kl_sum += div.kl, ++positions;
    }
    len += out.accepted + 1;
  }
  replay.resize(std::min(replay.size(), g.tokens.size()));
  EXPECT_EQ(g.tokens, replay) << what;
  EXPECT_EQ(g.metrics.mixing.positions, positions) << what;
  EXPECT_NEAR(g.metrics.mixing.kl_sum, kl_sum, 1e-9 * std::max(1.0, kl_sum)) << what;
}

}  // namespace dllm::testutil
