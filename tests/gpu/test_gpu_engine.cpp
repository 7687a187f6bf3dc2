// The whole engine on the GPU: logits of every pass (prefill, AR steps, TiDAR verify and proposal
// rows) against the full-recompute reference; a token's logits alone, in a 17-token and in a
// 306-token pass (bitwise with gpu-invariant); TiDAR on the GPU against AR on the GPU (the lossless
// gate: exact with gpu-invariant, near-tie forensics with gpu; greedy and sampled decoding read back
// no logits rows); the same for ZAYA1 (tiny-zaya and
// models/tiny-tidar-zaya). Skipped when no GPU is visible.
#include <algorithm>
#include <functional>

#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/batch_decoder.h"
#include "engine/decode/equivalence.h"
#include "engine/backend/memory.h"
#include "engine/bench/kernel_parity.h"
#include "engine/decode/sampler.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "kernels/gpu/device.h"
#include "ref/model.h"
#include "tests/decode/verify_replay.h"
#include "tests/model/ar_steps.h"
#include "tests/gpu/gpu_testing.h"
#include "tests/testing.h"

using namespace dllm;
using namespace dllm::gputest;

namespace {

// Against the f64 reference the engine's f32 rounding over a short forward stays below this (the
// CPU engine's tolerance, tests/decode/test_engine_vs_ref.cpp).
constexpr double kTolF64 = 1e-4;
// gpu-mma rounds every linear's inputs to bf16 (8 significant bits): its logits stay within
// this of the f64 reference over a tiny model's forward.
constexpr double kTolMma = 2e-2;

std::vector<int32_t> prompt_of(int n, int vocab, uint32_t seed) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(int32_t((37 * i + 11 * seed + 5) % uint32_t(vocab)));
  return ids;
}

// On the emulator the TiDAR tests below run sizes chosen so that TiDAR still accepts a draft, takes a
// step after it (from the cache, and for zaya the recurrent state, committed past the accepted drafts)
// and rejects a draft; the decode is deterministic there, and this checks the sizes still do all three.
void expect_accepts_and_rejects_on_emulator(const Generation& td, const std::string& what) {
  if (!gpu::emulated()) return;
  const std::vector<int>& steps = td.metrics.committed_per_step;  // n accepted drafts commit n + 1
  EXPECT_TRUE(steps.size() > 1 && std::any_of(steps.begin(), steps.end() - 1, [](int c) { return c > 1; }))
      << what << ": no accepted draft with a step after it; the emulator's size is too small";
  int64_t verified = 0, accepted = 0;
  for (size_t i = 0; i < td.metrics.slot_verified.size(); ++i)
    verified += td.metrics.slot_verified[i], accepted += td.metrics.slot_accepted[i];
  EXPECT_GT(verified, accepted) << what << ": no rejected draft; the emulator's size is too small";
}

// A prefill of `seq`, then 8 greedy AR steps (3 on the emulator: the step state, for zaya its
// recurrent slots L-2 and L-1, then comes from the prefill alone, from prefill and step, and from
// steps alone), the logits of every pass finite and against the f64 reference; `after_prefill` runs
// between the two.
void expect_prefill_and_ar_steps_match(Transformer& tf, const Model& m, Memory& memory, const std::vector<int32_t>& seq,
                                       const std::string& what, const std::function<void()>& after_prefill = {}) {
  const ModelConfig& cfg = m.config();
  const int steps = sized(8, 3);
  KvCache cache(cfg, 1, int(seq.size()) + steps + 1, memory);
  testutil::run_prefill_and_greedy_steps(
      tf, cache, seq, steps,
      [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits,
          const std::string& where) {
        expect_finite(logits, what + where);
        EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m.weights(), context, pass)), kTolF64)
            << what << where;
      },
      after_prefill);
}

// A prefill of `prompt` and greedy AR steps (8, 3 on the emulator) on `be`, its graphs replaying the
// steps: every pass's logits within kTolMma of the f64 reference.
void expect_steps_within_the_bf16_rule(const Model& m, GpuBackend& be, const std::vector<int32_t>& prompt) {
  const ModelConfig& cfg = m.config();
  Transformer tf(cfg, m.weights(), be);
  KvCache cache(cfg, 1, int(prompt.size()) + 10, be.memory(), be.kv_cache_dtype(cfg));
  testutil::run_prefill_and_greedy_steps(
      tf, cache, prompt, sized(8, 3),
      [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits,
          const std::string& where) {
        EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m.weights(), context, pass)), kTolMma)
            << be.name() << where;
      });
  EXPECT_GT(be.graph_stats().launched, 0) << be.name() << ": no step replayed as a graph";
}

// The logits of every pass of a 100-token prefill and greedy AR steps (8, 3 on the emulator: past 64
// keys, so the tiles attention splits its keys) on a fresh cache of `kv` values.
std::vector<std::vector<float>> logits_of_a_run(Transformer& tf, Memory& memory, DType kv) {
  std::vector<std::vector<float>> logits;
  KvCache cache(tf.config(), 1, 110, memory, kv);
  testutil::run_prefill_and_greedy_steps(tf, cache, prompt_of(100, tf.config().vocab_size, 9), sized(8, 3),
                                         [&](const std::vector<int32_t>&, const Pass&, const std::vector<float>& l,
                                             const std::string&) { logits.push_back(l); });
  return logits;
}

void expect_same_passes(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b,
                        const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) expect_bitwise(a[i], b[i], what + ": pass " + std::to_string(i));
}

std::unique_ptr<Model> tiny_tidar() { return Model::load(std::string(DLLM_SOURCE_DIR) + "/models/tiny-tidar"); }

}  // namespace

TEST(GpuEngine, PrefillAndArStepsMatchTheReference) {
  DLLM_REQUIRE_GPU();
  for (const char* backend : {"gpu", "gpu-invariant"})
    for (const char* preset : {"tiny", "tiny-llama", "tiny-qwen2"}) {
      auto m = Model::random(preset_config(preset), DType::bf16, 1, preset);
      const ModelConfig& cfg = m->config();
      GpuBackend be(std::string(backend) == "gpu" ? gpu::Reduction::fast : gpu::Reduction::invariant);
      Transformer tf(cfg, m->weights(), be);
      for (int len : {1, 7, 33})
        expect_prefill_and_ar_steps_match(tf, *m, be.memory(), prompt_of(len, cfg.vocab_size, uint32_t(len)),
                                          std::string(backend) + " " + preset + " len " + std::to_string(len));
    }
}

TEST(GpuEngine, EveryTidarPassMatchesTheReference) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar();
  const ModelConfig& cfg = m->config();
  GpuBackend be(gpu::Reduction::fast);
  Transformer tf(cfg, m->weights(), be);
  TidarOptions o;
  o.levels = parse_levels("P3", o.block_size);
  int passes = 0;
  o.pass_hook = [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits) {
    EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m->weights(), context, pass)), kTolF64)
        << "pass " << passes;
    ++passes;
  };
  GenerateRequest r;
  r.prompt = prompt_of(9, 256, 3);
  r.max_new_tokens = 40;
  TidarDecoder(tf, o).generate(r);
  EXPECT_GT(passes, 1);
}

// gpu-mma (matrix units for passes of 16+ tokens, and for attention): the report's kernel-parity
// audit passes, its linear rows at 17 and 68 tokens and its attention rows under the bf16 rule; a
// 33-token prefill runs the mma variant (its logits then differ from gpu's: bf16 rounding) and stays within kTolMma of
// the f64 reference, and so do AR steps replayed as graphs.
TEST(GpuEngine, MmaBackendStaysWithinTheBf16Rule) {
  DLLM_REQUIRE_GPU();
  ASSERT_TRUE(gpu::mma_available()) << "every test device and the emulator have matrix units";
  auto m = Model::random(preset_config("tiny"), DType::bf16, 3, "tiny");
  const ModelConfig& cfg = m->config();
  GpuBackend mma(gpu::Reduction::fast_mma), fast(gpu::Reduction::fast);
  for (const auto& r : kernel_parity(mma, cfg, m->weights())) EXPECT_TRUE(r["pass"].get<bool>()) << r.dump();
  const std::vector<int32_t> prompt = prompt_of(33, cfg.vocab_size, 5);
  Pass prefill;
  prefill.add_causal(0, prompt, 0, 0, true);
  std::vector<std::vector<float>> logits;
  for (GpuBackend* be : {&mma, &fast}) {
    Transformer tf(cfg, m->weights(), *be);
    KvCache cache(cfg, 1, 33, be->memory());
    logits.emplace_back();
    tf.forward(prefill, cache, {}, logits.back());
  }
  EXPECT_LE(testutil::max_rel_diff(logits[0], ref::pass_logits<double>(cfg, m->weights(), {}, prefill)), kTolMma);
  EXPECT_NE(logits[0], logits[1]) << "the mma variant did not run";
  // AR steps replayed as graphs (the tiles attention's split over keys and the mma linear's split-K
  // count their blocks in device globals, which each replay must find back at 0)
  expect_steps_within_the_bf16_rule(*m, mma, prompt_of(100, cfg.vocab_size, 7));
}

// gpu-mma keeps its KV cache in bf16 where its attention takes the tensor-core tiles
// (Backend::kv_cache_dtype): the tiles stage K and V as bf16 anyway, so the logits of a prefill and
// AR steps (a 100-token context: the split over keys) have the bits of an f32 cache's.
TEST(GpuEngine, MmaBackendsBf16CacheGivesTheF32CachesBits) {
  DLLM_REQUIRE_GPU();
  auto m = Model::random(preset_config("tiny-llama"), DType::bf16, 8, "tiny-llama");
  const ModelConfig& cfg = m->config();
  GpuBackend be(gpu::Reduction::fast_mma);
  if (!be.rounds_attention_inputs())
    GTEST_SKIP() << "the tiles attention variant needs matrix units: " << gpu::kMmaNeeds;
  ASSERT_EQ(be.kv_cache_dtype(cfg), DType::bf16);
  Transformer tf(cfg, m->weights(), be);
  expect_same_passes(logits_of_a_run(tf, be.memory(), DType::bf16), logits_of_a_run(tf, be.memory(), DType::f32),
                     "bf16 against f32 cache");
}

// gpu-vendor (every linear through cuBLASLt; the reference on the emulator): the kernel-parity audit
// passes under the bf16-inputs rule, and a prefill and AR steps, replayed as graphs, stay within
// kTolMma of the f64 reference.
TEST(GpuEngine, VendorBackendStaysWithinTheBf16Rule) {
  DLLM_REQUIRE_GPU();
  if (!gpu::vendor_linear_available()) GTEST_SKIP() << "this build has no vendor linear: " << gpu::kVendorLinearNeeds;
  auto m = Model::random(preset_config("tiny-qwen2"), DType::bf16, 4, "tiny-qwen2");  // q/k/v biases too
  const ModelConfig& cfg = m->config();
  GpuBackend be(gpu::Reduction::fast, true, true);
  ASSERT_EQ(be.name(), "gpu-vendor");
  for (const auto& r : kernel_parity(be, cfg, m->weights())) EXPECT_TRUE(r["pass"].get<bool>()) << r.dump();
  expect_steps_within_the_bf16_rule(*m, be, prompt_of(9, cfg.vocab_size, 6));
}

// Token 0 of a pass after a 20-token context sees the same keys alone, first of 17 and first of 306.
TEST(GpuEngine, ShapeInvariance) {
  DLLM_REQUIRE_GPU();
  auto m = Model::random(preset_config("tiny"), DType::bf16, 2, "tiny");
  const ModelConfig& cfg = m->config();
  const std::vector<int32_t> context = prompt_of(20, cfg.vocab_size, 1);
  for (gpu::Reduction red : {gpu::Reduction::invariant, gpu::Reduction::fast}) {
    GpuBackend be(red);
    Transformer tf(cfg, m->weights(), be);
    std::vector<std::vector<float>> token0;
    for (int t : {1, 17, 306}) {
      KvCache cache(cfg, 1, 20 + t, be.memory());
      Pass prefill;
      prefill.add_causal(0, context, 0, 0, true);
      std::vector<float> logits;
      tf.forward(prefill, cache, {0}, logits);
      cache.set_length(0, 20);
      Pass p;
      p.add_causal(0, prompt_of(t, cfg.vocab_size, 2), 20, 20, false);
      tf.forward(p, cache, {0}, logits);
      token0.push_back(logits);
    }
    if (red == gpu::Reduction::invariant) {
      expect_bitwise(token0[1], token0[0], "gpu-invariant: 17 tokens vs alone");
      expect_bitwise(token0[2], token0[0], "gpu-invariant: 306 tokens vs alone");
    } else {
      EXPECT_LE(testutil::max_rel_diff(token0[1], token0[0]), kTolF64) << "gpu: 17 tokens vs alone";
      EXPECT_LE(testutil::max_rel_diff(token0[2], token0[0]), kTolF64) << "gpu: 306 tokens vs alone";
    }
  }
}

// The lossless gate on the GPU: greedy and stochastic (argmax drafter) TiDAR equal AR token for token
// with gpu-invariant; with gpu a mismatch must be a numerical near tie, never a bug.
TEST(GpuEngine, LosslessGateTidarEqualsAr) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar();
  const ModelConfig& cfg = m->config();
  for (gpu::Reduction red : {gpu::Reduction::invariant, gpu::Reduction::fast}) {
    GpuBackend be(red);
    Transformer tf(cfg, m->weights(), be);
    for (Layout layout : {Layout::single_forward, Layout::two_forward})
      for (float temperature : {0.0f, 0.9f})
        for (uint32_t seed : sized<std::vector<uint32_t>>({0, 1}, {0})) {
          GenerateRequest r;
          r.prompt = prompt_of(5 + int(seed) * 7, 256, seed);
          // The emulator: greedy still more than one block of 16 (a whole block is accepted); stochastic,
          // whose drafts are mostly rejected there, up to the step after its first accepted draft (token 10).
          r.max_new_tokens = sized(48, temperature == 0.0f ? 20 : 11);
          r.sampler.temperature = temperature;
          r.sampler.seed = seed;
          TidarOptions o;
          o.layout = layout;
          o.levels = parse_levels(layout == Layout::single_forward ? "P3" : "dense", o.block_size);
          const int64_t rows_read = tf.logits_rows_read();
          const Generation ar = ArDecoder(tf).generate(r);
          const Generation td = TidarDecoder(tf, o).generate(r);
          const std::string what = be.name() +
                                   (layout == Layout::single_forward ? " single forward" : " two forwards") + " T " +
                                   std::to_string(temperature) + " seed " + std::to_string(seed);
          // Greedy and sampled decoding on the GPU read back token ids only (argmax or sample), never a row.
          EXPECT_EQ(tf.logits_rows_read(), rows_read) << what << ": logits rows came back";
          expect_accepts_and_rejects_on_emulator(td, what);
          if (red == gpu::Reduction::invariant) {
            EXPECT_EQ(td.tokens, ar.tokens) << what;
          } else {
            const Equivalence e = compare_outputs(tf, r.prompt, ar.tokens, td.tokens);
            EXPECT_NE(e.verdict, "bug") << what << ": first divergence at " << e.first_divergence << ", AR margin "
                                        << e.ar_margin;
          }
        }
  }
}

// Logit mixing and rejection sampling on the GPU (decided on the device: tokens and divergences read
// back, no rows) against the host reference verifier replaying the same rows (verify_replay.h).
TEST(GpuEngine, VerificationOnTheGpuEqualsTheHostVerifier) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar();
  GpuBackend be(gpu::Reduction::fast);
  Transformer tf(m->config(), m->weights(), be);
  for (float temperature : {0.0f, 0.8f}) {
    GenerateRequest r;
    r.prompt = prompt_of(6, 256, 2);
    r.max_new_tokens = sized(48, 16);
    r.sampler.temperature = temperature;
    r.sampler.seed = 9;
    for (float draft_temperature : {0.0f, 1.0f})
      testutil::expect_verification_replays_on_host(
          tf, r, 16, 0.5f, draft_temperature,
          "T " + std::to_string(temperature) + " Td " + std::to_string(draft_temperature));
  }
}

// A GPU run's memory plan is checked against the device's free memory (on the emulator: the host's
// available memory, where its allocations live): a need above it is refused naming the GPU.
TEST(GpuEngine, MemoryPlanChecksTheDevicesFreeMemory) {
  DLLM_REQUIRE_GPU();
  GpuBackend be(gpu::Reduction::fast);
  const std::optional<MemoryLimit> limit = be.memory_limit();
  ASSERT_TRUE(limit.has_value());
  const gpu::DeviceMemory m = gpu::device_memory();
  EXPECT_GT(limit->bytes, 0);
  EXPECT_LE(limit->bytes, int64_t(m.total));
  MemoryNeed need;
  need.kv_cache = int64_t(m.total) + 1;
  try {
    check_memory(need, std::nullopt, limit, "a test run");
    ADD_FAILURE() << "a plan larger than the device was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("free memory of GPU 0"), std::string::npos) << e.what();
  }
}

// Greedy AR on the GPU against greedy AR on the CPU: the same tokens, or a near tie where they part.
TEST(GpuEngine, ArOnGpuEqualsArOnCpu) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar();
  const ModelConfig& cfg = m->config();
  auto cpu = make_backend("cpu");
  Transformer tf_cpu(cfg, m->weights(), *cpu);
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf_gpu(cfg, m->weights(), be);
  GenerateRequest r;
  r.prompt = prompt_of(11, 256, 4);
  r.max_new_tokens = 64;
  const Generation c = ArDecoder(tf_cpu).generate(r), g = ArDecoder(tf_gpu).generate(r);
  const Equivalence e = compare_outputs(tf_cpu, r.prompt, c.tokens, g.tokens);
  EXPECT_NE(e.verdict, "bug") << "first divergence at " << e.first_divergence << ", AR margin " << e.ar_margin;
}

TEST(GpuEngine, BackendNamesAndErrors) {
  DLLM_REQUIRE_GPU();
  EXPECT_EQ(make_backend("gpu")->name(), "gpu");
  EXPECT_EQ(make_backend("gpu-invariant")->name(), "gpu-invariant");
  EXPECT_EQ(make_backend("gpu-eager")->name(), "gpu-eager");
  EXPECT_EQ(make_backend("gpu-invariant-eager")->name(), "gpu-invariant-eager");
  EXPECT_FALSE(dynamic_cast<GpuBackend&>(*make_backend("gpu-eager")).graphs());
  EXPECT_TRUE(dynamic_cast<GpuBackend&>(*make_backend("gpu")).graphs());
  if (gpu::mma_available())
    EXPECT_EQ(make_backend("gpu-mma")->name(), "gpu-mma");
  else
    EXPECT_THROW(make_backend("gpu-mma"), Error);
  if (gpu::vendor_linear_available())
    EXPECT_EQ(make_backend("gpu-vendor-eager")->name(), "gpu-vendor-eager");
  else
    EXPECT_THROW(make_backend("gpu-vendor"), Error);
  EXPECT_THROW(make_backend("gpu2"), Error);
  EXPECT_THROW(make_backend("cpu-eager"), Error);
  // The device the report's provenance names: device 0, as visible_devices() describes it.
  const std::optional<BackendDevice> d = make_backend("gpu")->device();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->name, gpu::visible_devices().front().name);
  EXPECT_EQ(d->warp_size, gpu::visible_devices().front().warp_size);
  EXPECT_EQ(d->emulated, gpu::emulated());
  EXPECT_FALSE(make_backend("cpu")->device().has_value());
  EXPECT_THROW(make_backend("-eager"), Error);
}

// ---- ZAYA1 (CCA + top-1 MoE) on the GPU: the tiny-zaya preset and the shipped tiny-tidar-zaya.

namespace {

std::unique_ptr<Model> tiny_tidar_zaya() {
  return Model::load(std::string(DLLM_SOURCE_DIR) + "/models/tiny-tidar-zaya");
}

}  // namespace

TEST(GpuEngine, ZayaPrefillAndArStepsMatchTheReference) {
  DLLM_REQUIRE_GPU();
  std::vector<std::pair<std::string, std::unique_ptr<Model>>> models;
  models.emplace_back("tiny-zaya bf16", Model::random(preset_config("tiny-zaya"), DType::bf16, 1, "tiny-zaya"));
  models.emplace_back("tiny-zaya f32", Model::random(preset_config("tiny-zaya"), DType::f32, 2, "tiny-zaya"));
  models.emplace_back("tiny-zaya-sliding bf16",
                      Model::random(preset_config("tiny-zaya-sliding"), DType::bf16, 3, "tiny-zaya-sliding"));
  models.emplace_back("tiny-tidar-zaya", tiny_tidar_zaya());
  for (const char* backend : {"gpu-invariant", "gpu"})
    for (const auto& [name, m] : models) {
      const ModelConfig& cfg = m->config();
      GpuBackend be(std::string(backend) == "gpu" ? gpu::Reduction::fast : gpu::Reduction::invariant);
      Transformer tf(cfg, m->weights(), be);
      for (int len : {1, 2, 7, 33}) {
        const std::string what = std::string(backend) + " " + name + " len " + std::to_string(len);
        expect_prefill_and_ar_steps_match(tf, *m, be.memory(), prompt_of(len, 256, uint32_t(len)), what, [&] {
          EXPECT_GT(tf.moe_traffic().experts, 0) << what << ": the MoE metric counts the routes read back";
        });
      }
    }
}

// Passes replayed as graphs (GpuBackend's default: a pass shape's second occurrence is recorded, later
// ones launch the graph) give bitwise the logits and tokens of the same passes issued op by op, for
// both reductions (the emulator: gpu, whose kernel variants change with the pass size) and both
// architectures: AR steps of one shape with new positions, tokens and cache lengths each time, and
// whole TiDAR decodes (their uploads, draws and draft rows change every step).
TEST(GpuEngine, GraphReplaysEqualPassesIssuedOpByOp) {
  DLLM_REQUIRE_GPU();
  std::vector<std::pair<std::string, std::unique_ptr<Model>>> models;
  models.emplace_back("tiny-tidar", tiny_tidar());
  models.emplace_back("tiny-tidar-zaya", tiny_tidar_zaya());
  using Reductions = std::vector<gpu::Reduction>;
  for (gpu::Reduction red :
       sized(Reductions{gpu::Reduction::invariant, gpu::Reduction::fast}, Reductions{gpu::Reduction::fast}))
    for (const auto& [name, m] : models) {
      const ModelConfig& cfg = m->config();
      GpuBackend direct(red, false), graphs(red, true);
      Transformer tf_direct(cfg, m->weights(), direct), tf_graphs(cfg, m->weights(), graphs);
      const std::string what = graphs.name() + " " + name;
      const std::vector<int32_t> prompt = prompt_of(7, 256, 3);
      const int steps = sized(8, 4);
      std::vector<std::vector<float>> want;
      KvCache cache_direct(cfg, 1, int(prompt.size()) + steps + 1, direct.memory());
      testutil::run_prefill_and_greedy_steps(
          tf_direct, cache_direct, prompt, steps,
          [&](const std::vector<int32_t>&, const Pass&, const std::vector<float>& logits, const std::string&) {
            want.push_back(logits);
          });
      size_t pass = 0;
      KvCache cache_graphs(cfg, 1, int(prompt.size()) + steps + 1, graphs.memory());
      testutil::run_prefill_and_greedy_steps(
          tf_graphs, cache_graphs, prompt, steps,
          [&](const std::vector<int32_t>&, const Pass&, const std::vector<float>& logits, const std::string& where) {
            ASSERT_LT(pass, want.size());
            expect_bitwise(logits, want[pass++], what + where);
          });
      // One shape for every step: recorded at the second step, launched from then on.
      EXPECT_EQ(graphs.graph_stats().recorded, 1) << what;
      EXPECT_EQ(graphs.graph_stats().launched, steps - 1) << what;
      EXPECT_EQ(direct.graph_stats().launched, 0) << what;

      GenerateRequest r;
      r.prompt = prompt;
      r.max_new_tokens = sized(40, 12);
      r.sampler.temperature = 0.9f;
      r.sampler.seed = 5;
      TidarOptions o;
      o.levels = parse_levels("P3", o.block_size);
      o.mix_weight = 0.5f;
      const int64_t launched = graphs.graph_stats().launched;
      const Generation td_direct = TidarDecoder(tf_direct, o).generate(r);
      const Generation td_graphs = TidarDecoder(tf_graphs, o).generate(r);
      EXPECT_EQ(td_graphs.tokens, td_direct.tokens) << what << " TiDAR, mixing and sampling";
      EXPECT_GT(graphs.graph_stats().launched, launched) << what << ": the TiDAR steps ran no graph";
    }
}

// The MoE metric on the GPU (routes downloaded once per pass) equals the CPU's on the same pass.
TEST(GpuEngine, ZayaMoeTrafficEqualsTheCpus) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar_zaya();
  const ModelConfig& cfg = m->config();
  auto cpu = make_backend("cpu");
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf_cpu(cfg, m->weights(), *cpu), tf_gpu(cfg, m->weights(), be);
  KvCache c_cpu(cfg, 1, 40), c_gpu(cfg, 1, 40, be.memory());
  Pass p;
  p.add_causal(0, prompt_of(33, 256, 5), 0, 0, true);
  std::vector<float> l_cpu, l_gpu;
  tf_cpu.forward(p, c_cpu, {}, l_cpu);
  tf_gpu.forward(p, c_gpu, {}, l_gpu);
  EXPECT_LE(testutil::max_rel_diff(l_gpu, l_cpu), kTolF64);
  // Equal unless a route is a near tie between the two backends (then the counts may differ by a few).
  EXPECT_NEAR(double(tf_gpu.moe_traffic().experts), double(tf_cpu.moe_traffic().experts), 2.0);
  EXPECT_GT(tf_gpu.moe_traffic().weight_bytes, 0);
}

TEST(GpuEngine, ZayaEveryTidarPassMatchesTheReference) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar_zaya();
  const ModelConfig& cfg = m->config();
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf(cfg, m->weights(), be);
  // The emulator: P3 only (dense levels make 272-token passes, each recomputed by the f64 reference).
  for (const char* levels : sized<std::vector<const char*>>({"P3", "dense"}, {"P3"})) {
    TidarOptions o;
    o.levels = parse_levels(levels, o.block_size);
    int passes = 0;
    o.pass_hook = [&](const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits) {
      EXPECT_LE(testutil::max_rel_diff(logits, ref::pass_logits<double>(cfg, m->weights(), context, pass)), kTolF64)
          << levels << " pass " << passes;
      ++passes;
    };
    GenerateRequest r;
    r.prompt = prompt_of(9, 256, 1);
    // The emulator: 5 tokens, four passes (each of 68 tokens is seconds there): the prefill, then
    // verify + proposal passes that accept a draft, reject, and follow the acceptance.
    r.max_new_tokens = sized(40, 5);
    const Generation td = TidarDecoder(tf, o).generate(r);
    EXPECT_GT(passes, 1) << levels;
    expect_accepts_and_rejects_on_emulator(td, levels);
  }
}

// Token 0 of a pass after a 20-token context, alone and first of 17 (its recurrent state comes from
// the ring in device memory): bitwise with gpu-invariant.
TEST(GpuEngine, ZayaShapeInvariance) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar_zaya();
  const ModelConfig& cfg = m->config();
  const std::vector<int32_t> context = prompt_of(20, 256, 1);
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf(cfg, m->weights(), be);
  std::vector<std::vector<float>> token0;
  for (int t : {1, 17}) {
    KvCache cache(cfg, 1, 20 + t, be.memory());
    Pass prefill;
    prefill.add_causal(0, context, 0, 0, true);
    std::vector<float> logits;
    tf.forward(prefill, cache, {0}, logits);
    cache.set_length(0, 20);
    Pass p;
    p.add_causal(0, prompt_of(t, 256, 2), 20, 20, false);
    tf.forward(p, cache, {0}, logits);
    token0.push_back(logits);
  }
  expect_bitwise(token0[1], token0[0], "zaya gpu-invariant: 17 tokens vs alone");
}

// The lossless gate for zaya on the GPU: TiDAR (greedy and stochastic with the argmax drafter, single
// and two forwards) equals AR token for token with gpu-invariant.
TEST(GpuEngine, ZayaLosslessGateTidarEqualsAr) {
  DLLM_REQUIRE_GPU();
  auto m = tiny_tidar_zaya();
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf(m->config(), m->weights(), be);
  for (Layout layout : {Layout::single_forward, Layout::two_forward})
    for (float temperature : {0.0f, 0.9f})
      for (uint32_t seed : sized<std::vector<uint32_t>>({0, 1}, {0})) {
        // The emulator: single forward greedy and two forwards stochastic only.
        if (gpu::emulated() && (layout == Layout::single_forward) != (temperature == 0.0f)) continue;
        GenerateRequest r;
        r.prompt = prompt_of(5 + int(seed) * 7, 256, seed);
        // The emulator: up to the step after the first accepted draft, which completes token 5 in both
        // layouts (a single-forward pass of 68 tokens takes seconds there).
        r.max_new_tokens = sized(48, 5);
        r.sampler.temperature = temperature;
        r.sampler.seed = seed;
        TidarOptions o;
        o.layout = layout;
        o.levels = parse_levels(layout == Layout::single_forward ? "P3" : "dense", o.block_size);
        const Generation ar = ArDecoder(tf).generate(r);
        const Generation td = TidarDecoder(tf, o).generate(r);
        const std::string what = std::string(layout == Layout::single_forward ? "single forward" : "two forwards") +
                                 " T " + std::to_string(temperature) + " seed " + std::to_string(seed);
        EXPECT_EQ(td.tokens, ar.tokens) << what;
        expect_accepts_and_rejects_on_emulator(td, what);
      }
}

// Continuous batching on the GPU with gpu-invariant: AR and TiDAR sequences sharing every pass (and
// rollouts importing one prefill into device cache rows; for zaya also the recurrent ring of several
// cache rows) decode exactly what each decodes alone. One case per architecture.
struct BatchCase {
  const char* name;
  std::unique_ptr<Model> (*model)();
  int sequences, prompts;  // sequences [prompts, sequences) are rollouts of one prompt
  uint32_t prompt_seed;    // prompt_of's seed: this + i for sequence i, this + 9 for the rollouts
  // max_new_tokens of sequence i on the emulator: base + step * (i % 3) (10 + 7 * (i % 3) on a device)
  int emulator_base, emulator_step;
  int max_batch;
  std::vector<size_t> accepting;  // TiDAR sequences that accept and reject drafts on the emulator
};

class GpuBatch : public ::testing::TestWithParam<BatchCase> {};

TEST_P(GpuBatch, EqualsEachSequenceAlone) {
  DLLM_REQUIRE_GPU();
  const BatchCase& c = GetParam();
  auto m = c.model();
  GpuBackend be(gpu::Reduction::invariant);
  Transformer tf(m->config(), m->weights(), be);
  std::vector<GenerateRequest> rs;
  for (int i = 0; i < c.sequences; ++i) {
    GenerateRequest r;
    const bool rollout = i >= c.prompts;
    r.prompt = prompt_of(rollout ? 8 : 3 + 5 * i, 256, c.prompt_seed + uint32_t(rollout ? 9 : i));
    // On the emulator still three lengths, so sequences finish and others join mid-way.
    r.max_new_tokens = sized(10 + 7 * (i % 3), c.emulator_base + c.emulator_step * (i % 3));
    r.sampler.temperature = i % 2 ? 0.9f : 0.0f;
    r.sampler.seed = uint64_t(i);
    rs.push_back(r);
  }
  TidarOptions o;
  o.levels = parse_levels("P3", o.block_size);
  auto make = [&](size_t i) { return i % 2 ? make_tidar_sequence(tf, rs[i], o) : make_ar_sequence(tf, rs[i]); };
  std::vector<std::unique_ptr<SequenceDecoder>> all;
  for (size_t i = 0; i < rs.size(); ++i) all.push_back(make(i));
  const std::vector<Generation> batch = decode_batch(tf, std::move(all), BatchOptions{c.max_batch, true}, nullptr);
  ASSERT_EQ(batch.size(), rs.size());
  for (size_t i : c.accepting) expect_accepts_and_rejects_on_emulator(batch[i], "sequence " + std::to_string(i));
  for (size_t i = 0; i < rs.size(); ++i) {
    std::vector<std::unique_ptr<SequenceDecoder>> one;
    one.push_back(make(i));
    const Generation alone = std::move(decode_batch(tf, std::move(one), BatchOptions{1, false}, nullptr).front());
    EXPECT_EQ(batch[i].tokens, alone.tokens) << "sequence " << i;
  }
}

// dense (models/tiny-tidar): on the emulator 3, 5 and 7 tokens; TiDAR sequence 5 accepts drafts at its
// first and third verify step and rejects at its second. zaya (models/tiny-tidar-zaya, prompt seeds
// from 10): 5, 6 and 7 tokens; TiDAR sequences 1 and 3 each accept a draft and take a step after it
// (its drafts for the seed-0 prompts are rejected for the first 8 tokens).
INSTANTIATE_TEST_SUITE_P(GpuEngine, GpuBatch,
                         ::testing::Values(BatchCase{"dense", tiny_tidar, 6, 4, 0, 3, 2, 4, {5}},
                                           BatchCase{"zaya", tiny_tidar_zaya, 5, 3, 10, 5, 1, 3, {1, 3}}),
                         [](const ::testing::TestParamInfo<BatchCase>& info) { return std::string(info.param.name); });

// A pass does not depend on the passes before it: a prefill, AR steps, then the same on a fresh cache
// give the same bits, on every GPU backend. (The tiles attention once counted its split's chunks in
// the workspace, where an AR step's partial states then sat under a prefill's counts.)
TEST(GpuEngine, PassesDoNotDependOnEarlierPasses) {
  DLLM_REQUIRE_GPU();
  auto m = Model::random(preset_config("tiny-llama"), DType::bf16, 8, "tiny-llama");
  const ModelConfig& cfg = m->config();
  for (auto red : {gpu::Reduction::fast, gpu::Reduction::invariant, gpu::Reduction::fast_mma}) {
    GpuBackend be(red);
    Transformer tf(cfg, m->weights(), be);
    const std::vector<std::vector<float>> first = logits_of_a_run(tf, be.memory(), be.kv_cache_dtype(cfg));
    expect_same_passes(logits_of_a_run(tf, be.memory(), be.kv_cache_dtype(cfg)), first, be.name());
  }
}
