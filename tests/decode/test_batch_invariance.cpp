// A token's logits are bitwise identical computed alone (AR, one token per pass), inside a 17-token
// verify pass and inside a 306-token single forward (K = 16, dense levels): the CPU backend's
// contract that makes the lossless gate exact.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/backend/cpu_backend.h"
#include "engine/decode/tidar_layout.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"

using namespace dllm;

TEST(BatchInvariance, AloneInVerifyAndInSingleForwardAreBitwiseEqual) {
  for (const char* preset : {"tiny", "tiny-qwen2"}) {
    auto m = Model::load(std::string("preset:") + preset, 4);
    const ModelConfig& cfg = m->config();
    CpuBackend be;
    Transformer tf(cfg, m->weights(), be);
    const int k = 16, vocab = cfg.vocab_size;
    const std::vector<int32_t> context = {256, 10, 20, 30, 40, 50, 60, 70, 80};
    std::vector<int32_t> drafts;
    for (int i = 0; i < k; ++i) drafts.push_back(int32_t(100 + 3 * i));
    const int32_t anchor = 90, len = int(context.size());
    KvCache cache(cfg, 1, 64);
    Pass prefill;
    prefill.add_causal(0, context, 0, 0, true);
    std::vector<float> logits;
    tf.forward(prefill, cache, {}, logits);
    cache.set_length(0, len);

    // 17-token verify pass.
    Pass verify;
    add_verify_segment(verify, 0, anchor, drafts, len);
    std::vector<float> verify_logits;
    tf.forward(verify, cache, {}, verify_logits);

    // 306-token single forward: verify + 17 proposal blocks.
    Pass single;
    const int v0 = add_verify_segment(single, 0, anchor, drafts, len);
    for (int p = 0; p <= k; ++p) add_proposal_block(single, 0, v0, p, k, cfg.mask_token_id, len, ProposalAttention::bidirectional);
    ASSERT_EQ(single.size(), 306);
    std::vector<float> single_logits;
    tf.forward(single, cache, {}, single_logits);

    // Alone: one token per pass, committing as it goes.
    std::vector<int32_t> seq = {anchor};
    seq.insert(seq.end(), drafts.begin(), drafts.end());
    for (int j = 0; j <= k; ++j) {
      Pass one;
      one.add_causal(0, {seq[size_t(j)]}, len + j, len + j, true);
      std::vector<float> alone;
      tf.forward(one, cache, {}, alone);
      cache.set_length(0, len + j + 1);
      const size_t bytes = size_t(vocab) * sizeof(float);
      EXPECT_EQ(0, std::memcmp(alone.data(), verify_logits.data() + size_t(j) * vocab, bytes)) << preset << " row " << j;
      EXPECT_EQ(0, std::memcmp(alone.data(), single_logits.data() + size_t(j) * vocab, bytes)) << preset << " row " << j;
    }
  }
}
