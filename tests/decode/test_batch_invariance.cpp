// A token's logits are bitwise identical computed alone (AR, one token per pass), inside a 17-token
// verify pass and inside a 306-token single forward (K = 16, dense levels): the CPU backend's
// contract that makes the lossless gate exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/backend/cpu_backend.h"
#include "engine/decode/tidar_layout.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "kernels/cpu/cpu.h"
#include "ref/model.h"

using namespace dllm;

TEST(BatchInvariance, AloneInVerifyAndInSingleForwardAreBitwiseEqual) {
  for (bool bf16_dot : {false, true})  // cpu, and cpu-bf16 where this CPU has it (bf16 weights)
    for (const char* preset : {"tiny", "tiny-qwen2"}) {
      if (bf16_dot && !cpu::has_bf16_dot()) continue;
      auto m = bf16_dot ? Model::random(preset_config(preset), DType::bf16, 4, std::string("preset:") + preset)
                        : Model::load(std::string("preset:") + preset, 4);
      const ModelConfig& cfg = m->config();
      CpuBackend be(bf16_dot);
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
      for (int p = 0; p <= k; ++p)
        add_proposal_block(single, 0, v0, p, k, cfg.mask_token_id, len, ProposalAttention::bidirectional);
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
        EXPECT_EQ(0, std::memcmp(alone.data(), verify_logits.data() + size_t(j) * vocab, bytes))
            << preset << " row " << j;
        EXPECT_EQ(0, std::memcmp(alone.data(), single_logits.data() + size_t(j) * vocab, bytes))
            << preset << " row " << j;
      }
    }
}

// A pass holding three sequences at different stages (an AR step, a verify segment with a proposal
// block, a prefill), each in its own cache row with its own context: every row equals, bitwise, the
// same sequence's pass computed alone, and matches the full-recompute reference of that sequence.
TEST(BatchInvariance, SequencesSharingAPassDecodeAsAlone) {
  auto m = Model::load("preset:tiny-llama", 2);
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const std::vector<std::vector<int32_t>> contexts = {{256, 5, 6, 7}, {256, 9, 8, 7, 6, 5, 4, 3, 2}, {}};
  const std::vector<int32_t> prompt2 = {256, 70, 71, 72, 73, 74};
  const std::vector<int32_t> drafts = {11, 12, 13, 14};
  // One sequence's part of the pass; `row` is its cache row.
  auto add_part = [&](Pass& p, int row) {
    const int32_t len = int32_t(contexts[size_t(row)].size());
    if (row == 0) return p.add_causal(0, {42}, len, len, true);
    if (row == 1) {
      const int v = add_verify_segment(p, 1, 43, drafts, len);
      add_proposal_block(p, 1, v, 2, 4, cfg.mask_token_id, len, ProposalAttention::bidirectional);
      return v;
    }
    return p.add_causal(2, prompt2, 0, 0, true);
  };
  auto fresh_cache = [&]() {
    KvCache cache(cfg, 3, 32);
    std::vector<float> scratch;
    for (int row = 0; row < 2; ++row) {
      Pass prefill;
      prefill.add_causal(row, contexts[size_t(row)], 0, 0, true);
      tf.forward(prefill, cache, {}, scratch);
      cache.set_length(row, int(contexts[size_t(row)].size()));
    }
    return cache;
  };
  KvCache shared_cache = fresh_cache();
  Pass shared;
  std::vector<int> begin;
  for (int row = 0; row < 3; ++row) begin.push_back(add_part(shared, row));
  std::vector<float> shared_logits;
  tf.forward(shared, shared_cache, {}, shared_logits);
  const size_t v = size_t(cfg.vocab_size);
  for (int row = 0; row < 3; ++row) {
    KvCache cache = fresh_cache();
    Pass alone;
    add_part(alone, row);
    std::vector<float> alone_logits;
    tf.forward(alone, cache, {}, alone_logits);
    EXPECT_EQ(0, std::memcmp(alone_logits.data(), shared_logits.data() + size_t(begin[size_t(row)]) * v,
                             alone_logits.size() * sizeof(float)))
        << "sequence " << row;
    // The reference recomputes the sequence's context and pass with no cache (row 2 has no context:
    // its prefill is the whole sequence).
    Pass ref_pass = alone;
    for (PassToken& t : ref_pass.tokens) t.seq = 0;
    const std::vector<float> want = ref::pass_logits<double>(cfg, m->weights(), contexts[size_t(row)], ref_pass);
    double worst = 0, scale = 1;
    for (size_t i = 0; i < want.size(); ++i)
      worst = std::max(worst, std::fabs(double(alone_logits[i]) - want[i])),
      scale = std::max(scale, std::fabs(double(want[i])));
    EXPECT_LE(worst / scale, 1e-4) << "sequence " << row;
  }
}
