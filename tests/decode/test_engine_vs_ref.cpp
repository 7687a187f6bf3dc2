// Engine logits against the full-recompute reference: prefill and 32 AR steps, on random presets,
// several seeds and prompt lengths 1, 7, 33.
//
// Tolerance: max |engine - ref| / max(1, max |ref|) <= 1e-5 against the f32 reference and <= 1e-4
// against the f64-accumulation reference (the f32 rounding of a forward over <= 66 tokens).
#include <gtest/gtest.h>

#include "engine/backend/cpu_backend.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "ref/model.h"
#include "tests/model/ar_steps.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

constexpr double kTolF32 = 1e-5, kTolF64 = 1e-4;

void expect_matches_reference(const Model& m, const std::vector<int32_t>& context, const Pass& pass,
                              const std::vector<float>& engine, const std::string& what) {
  const auto r32 = ref::pass_logits<float>(m.config(), m.weights(), context, pass);
  const auto r64 = ref::pass_logits<double>(m.config(), m.weights(), context, pass);
  EXPECT_LE(testutil::max_rel_diff(engine, r32), kTolF32) << what;
  EXPECT_LE(testutil::max_rel_diff(engine, r64), kTolF64) << what;
}

}  // namespace

TEST(EngineVsRef, PrefillAnd32ArSteps) {
  for (const char* preset : {"tiny", "tiny-llama", "tiny-qwen2"}) {
    for (uint64_t seed : {0, 1, 2}) {
      auto m = Model::random(preset_config(preset), DType::bf16, seed, preset);
      const ModelConfig& cfg = m->config();
      CpuBackend be;
      Transformer tf(cfg, m->weights(), be);
      for (int len : {1, 7, 33}) {
        const std::string what = std::string(preset) + " seed " + std::to_string(seed) + " len " + std::to_string(len);
        KvCache cache(cfg, 1, len + 33);
        testutil::run_prefill_and_greedy_steps(
            tf, cache, testutil::random_ints(size_t(len), 0, cfg.vocab_size, uint32_t(seed * 100 + len)), 32,
            [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits,
                const std::string& where) { expect_matches_reference(*m, context, pass, logits, what + where); });
      }
    }
  }
}

// Dynamic NTK RoPE (tiny-llama-rope-dynamic: context 32 stretched to 256): a prefill is one call, so
// its tokens turn by the prompt's length, as the reference's one call over the sequence does.
TEST(EngineVsRef, DynamicRopePrefillIsOneCall) {
  auto m = Model::random(preset_config("tiny-llama-rope-dynamic"), DType::bf16, 1, "dynamic");
  CpuBackend be;
  Transformer tf(m->config(), m->weights(), be);
  for (int len : {20, 33, 120}) {
    KvCache cache(m->config(), 1, len);
    Pass p;
    p.add_causal(0, testutil::random_ints(size_t(len), 0, m->config().vocab_size, uint32_t(len)), 0, 0, true);
    std::vector<float> logits;
    tf.forward(p, cache, {}, logits);
    expect_matches_reference(*m, {}, p, logits, "dynamic prefill len " + std::to_string(len));
  }
}

// Each sequence of a batched pass turns by its own longest position, so it computes what it computes
// alone (transformers' one call would take the longest over the batch).
TEST(EngineVsRef, DynamicRopeSequencesOfAPassTurnByTheirOwnLength) {
  auto m = Model::random(preset_config("tiny-llama-rope-dynamic"), DType::f32, 2, "dynamic");
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const std::vector<int32_t> a = testutil::random_ints(90, 0, cfg.vocab_size, 1),
                             b = testutil::random_ints(12, 0, cfg.vocab_size, 2);
  auto alone = [&](const std::vector<int32_t>& ids) {
    KvCache cache(cfg, 1, int(ids.size()));
    Pass p;
    p.add_causal(0, ids, 0, 0, true);
    std::vector<float> logits;
    tf.forward(p, cache, {}, logits);
    return logits;
  };
  KvCache cache(cfg, 2, 90);
  Pass both;
  both.add_causal(0, a, 0, 0, true);
  both.add_causal(1, b, 0, 0, true);
  std::vector<float> logits;
  tf.forward(both, cache, {}, logits);
  std::vector<float> expected = alone(a), second = alone(b);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(logits, expected);
}

// A bf16 KV cache (Backend::kv_cache_dtype; the CPU kernels read it too): the logits of a prefill and
// AR steps stay within the bf16 rounding of K and V of the f64 reference, and differ from an f32
// cache's (the rounding happened). A prefix exported from it and imported into another bf16 cache
// gives the next step the same bits.
TEST(EngineVsRef, Bf16KvCache) {
  constexpr double kTolBf16 = 2e-2;  // K and V with 8 significant bits over a tiny model's forward
  auto m = Model::random(preset_config("tiny"), DType::bf16, 5, "tiny");
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const std::vector<int32_t> prompt = testutil::random_ints(7, 0, cfg.vocab_size, 5);
  std::vector<std::vector<float>> steps[2];  // [f32, bf16 cache] the logits of every pass
  for (DType kv : {DType::f32, DType::bf16}) {
    KvCache cache(cfg, 1, 20, host_memory(), kv);
    testutil::run_prefill_and_greedy_steps(
        tf, cache, prompt, 8,
        [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits,
            const std::string& where) {
          steps[kv == DType::bf16].push_back(logits);
          if (kv == DType::bf16) {
            EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m->weights(), context, pass)),
                      kTolBf16)
                << "bf16 cache" << where;
          }
        });
    if (kv == DType::f32) continue;
    // the prefix of the prompt, exported and imported: the next step's bits
    KvCache copy(cfg, 1, 20, host_memory(), DType::bf16);
    copy.import_prefix(0, cache.export_prefix(0, 7), 7);
    cache.set_length(0, 7);
    std::vector<std::vector<float>> next;
    for (KvCache* c : {&cache, &copy}) {
      Pass p;
      p.add_causal(0, {prompt[0]}, 7, 7, true);
      next.emplace_back();
      tf.forward(p, *c, {}, next.back());
    }
    EXPECT_EQ(next[0], next[1]) << "an imported bf16 prefix";
  }
  EXPECT_EQ(steps[0].front(), steps[1].front()) << "a prefill reads no cache";
  EXPECT_NE(steps[0].back(), steps[1].back()) << "the bf16 cache was not read as bf16";
}
