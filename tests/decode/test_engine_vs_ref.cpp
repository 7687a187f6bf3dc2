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
