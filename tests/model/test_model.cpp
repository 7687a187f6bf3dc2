#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/backend/cpu_backend.h"
#include "core/check.h"
#include "engine/model/config.h"
#include "engine/model/model.h"
#include "engine/model/transformer.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

std::vector<float> prefill_logits(const Model& m, const std::vector<int32_t>& ids) {
  CpuBackend be;
  Transformer tf(m.config(), m.weights(), be);
  KvCache cache(m.config(), 1, int(ids.size()));
  Pass p;
  p.add_causal(0, ids, 0, 0, true);
  std::vector<float> logits;
  tf.forward(p, cache, {}, logits);
  return logits;
}

const std::vector<int32_t> kIds = {256, 72, 101, 108, 108, 111};

void expect_load_error(const std::string& dir, const std::string& phrase) {
  try {
    Model::load(dir);
    FAIL() << "no error for: " << phrase;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Model, SaveLoadRoundTripKeepsWeightsAndLogits) {
  for (const char* preset : {"tiny", "tiny-llama", "tiny-qwen2"}) {
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
      auto m = Model::random(preset_config(preset), dt, 7, preset);
      const std::string dir = testutil::fresh_dir("roundtrip");
      m->save(dir);
      auto back = Model::load(dir);
      EXPECT_EQ(back->parameter_count(), m->parameter_count());
      EXPECT_EQ(back->weight_bytes(), m->weight_bytes());
      const ModelSummary described = describe_model(dir);  // from the headers, as loaded
      EXPECT_EQ(described.parameters, m->parameter_count());
      EXPECT_EQ(described.weight_bytes, m->weight_bytes());
      EXPECT_EQ(prefill_logits(*back, kIds), prefill_logits(*m, kIds)) << preset << " " << dtype_name(dt);
    }
  }
}

TEST(Model, LoadsShardedCheckpoints) {
  auto m = Model::random(preset_config("tiny-llama"), DType::f32, 3, "tiny-llama");
  const std::string single = testutil::fresh_dir("single"), sharded = testutil::fresh_dir("sharded");
  m->save(single);
  auto ck = Checkpoint::open(single);
  std::vector<TensorToWrite> tensors;
  for (const std::string& n : ck.names()) {
    const TensorInfo& t = ck.get(n);
    tensors.push_back({t.name, t.dtype, t.shape, t.data});
  }
  write_safetensors_sharded(sharded, tensors, 64 * 1024);
  std::filesystem::copy_file(single + "/config.json", sharded + "/config.json");
  EXPECT_FALSE(std::filesystem::exists(sharded + "/model.safetensors"));
  EXPECT_EQ(prefill_logits(*Model::load(sharded), kIds), prefill_logits(*m, kIds));
}

TEST(Model, TiedEmbeddingsAreCountedOnce) {
  auto m = Model::load("preset:tiny");
  const ModelConfig& c = m->config();
  const int64_t per_layer = 2 * c.hidden_size + int64_t(c.num_heads) * c.head_dim * c.hidden_size * 2 +
                            2LL * c.num_kv_heads * c.head_dim * c.hidden_size + 2LL * c.head_dim +
                            3LL * c.hidden_size * c.intermediate_size;
  EXPECT_EQ(m->parameter_count(), int64_t(c.vocab_size) * c.hidden_size + c.hidden_size + c.num_layers * per_layer);
}

TEST(Model, PresetsHaveRealShapes) {
  const ModelConfig l = preset_config("llama3-8b");
  EXPECT_EQ(l.hidden_size, 4096);
  EXPECT_EQ(l.num_layers, 32);
  EXPECT_EQ(l.num_kv_heads, 8);
  const ModelConfig q = preset_config("qwen3-1.7b");
  EXPECT_EQ(q.intermediate_size, 6144);
  EXPECT_TRUE(q.tie_word_embeddings);
  const ModelConfig l32 = preset_config("llama3.2-1b");
  EXPECT_EQ(l32.rope_scaling.type, RopeScalingType::llama3);
  EXPECT_EQ(l32.rope_scaling.factor, 32.0f);
  EXPECT_EQ(l32.rope_scaling.original_max_positions, 8192);
  EXPECT_TRUE(l32.tie_word_embeddings);
  EXPECT_THROW(preset_config("gpt5"), Error);
}

TEST(Model, BadCheckpointsNameTheFileAndProblem) {
  auto m = Model::random(preset_config("tiny"), DType::f32, 1, "tiny");
  const std::string good = testutil::fresh_dir("good");
  m->save(good);

  expect_load_error(good + "/nope", "not a model directory");

  // Config describing a different shape than the weights.
  const std::string shape = testutil::fresh_dir("shape");
  std::filesystem::copy(good, shape,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  auto j = config_to_json(m->config());
  j["intermediate_size"] = 96;
  std::ofstream(shape + "/config.json") << j.dump();
  expect_load_error(shape, "has shape");

  // A tensor missing from the weights.
  const std::string missing = testutil::fresh_dir("missing");
  auto ck = Checkpoint::open(good);
  std::vector<TensorToWrite> kept;
  for (const std::string& n : ck.names())
    if (n != "model.layers.1.mlp.up_proj.weight") {
      const TensorInfo& t = ck.get(n);
      kept.push_back({t.name, t.dtype, t.shape, t.data});
    }
  write_safetensors(missing + "/model.safetensors", kept);
  std::filesystem::copy_file(good + "/config.json", missing + "/config.json");
  expect_load_error(missing, "model.layers.1.mlp.up_proj.weight is missing");

  // Tensors the model does not read (DSpark's diffusion heads) are named, not dropped; a tied
  // lm_head and stored rotary frequencies, which transformers ignores too, are accepted.
  const std::vector<float> extra_values(16, 0.5f);
  auto with_extra = [&](const std::string& dir_name, const std::vector<std::string>& extra_names) {
    const std::string dir = testutil::fresh_dir(dir_name);
    std::vector<TensorToWrite> all;
    for (const std::string& n : ck.names()) {
      const TensorInfo& t = ck.get(n);
      all.push_back({t.name, t.dtype, t.shape, t.data});
    }
    for (const std::string& n : extra_names) all.push_back({n, DType::f32, {16}, extra_values.data()});
    write_safetensors(dir + "/model.safetensors", all);
    std::filesystem::copy_file(good + "/config.json", dir + "/config.json");
    return dir;
  };
  expect_load_error(with_extra("extra", {"diffusion_output_layer.weight", "diffusion_markov_head.weight"}),
                    "2 tensor(s) are not part of the qwen3 model its config.json describes, so dllm-bench would "
                    "ignore them: diffusion_markov_head.weight, diffusion_output_layer.weight");
  ASSERT_TRUE(m->config().tie_word_embeddings);
  const std::string ignorable =
      with_extra("ignorable", {"lm_head.weight", "model.layers.0.self_attn.rotary_emb.inv_freq"});
  EXPECT_NO_THROW(Model::load(ignorable));
  EXPECT_EQ(describe_model(ignorable).weight_bytes, m->weight_bytes());  // the ignored tensors count nothing

  // Unknown model_type and a broken config.json.
  const std::string arch = testutil::fresh_dir("arch");
  std::filesystem::copy_file(good + "/model.safetensors", arch + "/model.safetensors");
  j = config_to_json(m->config());
  j["model_type"] = "gpt2";
  std::ofstream(arch + "/config.json") << j.dump();
  expect_load_error(arch, "unknown model_type");
  std::ofstream(arch + "/config.json") << "{\"model_type\": ";
  expect_load_error(arch, "not valid JSON");
}

TEST(Model, RandomWeightsAreTheSequentialStreamWhateverTheThreads) {
  // Model::random fills a tensor in parallel chunks; every element must still be draw i + 1 of the
  // tensor's splitmix64 stream, as a one-thread fill gives. The embedding here spans many chunks.
  ModelConfig cfg = Model::load("preset:tiny")->config();
  cfg.vocab_size = 8192;
  const uint64_t seed = 5;
  auto m = Model::random(cfg, DType::f32, seed, "random-test");
  const WeightView& e = m->weights().embed;
  const int64_t n = e.rows * e.cols;
  ASSERT_GT(n, int64_t(4) << 16);
  uint64_t s = seed ^ std::hash<std::string>{}("model.embed_tokens.weight");
  const float half_width = std::sqrt(3.0f / float(cfg.hidden_size));
  const float* got = static_cast<const float*>(e.data);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = float(int64_t(z >> 11) - (int64_t(1) << 52)) / float(int64_t(1) << 52);
    ASSERT_EQ(got[i], half_width * u) << "element " << i;
  }
}

// The CPU backend reads the linear layers from tiled copies (core/dtype.h), made once per tensor
// however many Transformers share them; everything else, the embedding included, as stored.
TEST(Model, CpuBackendTilesTheLinearLayersOnce) {
  auto m = Model::load("preset:tiny", 3);
  const ModelWeights& stored = m->weights();
  CpuBackend be;
  const ModelWeights a = be.resident(stored), b = be.resident(stored);
  const LayerWeights &l = a.layers.front(), &s = stored.layers.front();
  for (const auto& [got, was] :
       {std::pair{&l.q, &s.q}, {&l.k, &s.k}, {&l.gate, &s.gate}, {&l.down, &s.down}, {&a.lm_head, &stored.lm_head}}) {
    EXPECT_EQ(got->layout, WeightLayout::tiles);
    EXPECT_NE(got->data, was->data);
    EXPECT_EQ(got->at(got->rows - 1, got->cols - 1), was->at(was->rows - 1, was->cols - 1));
  }
  EXPECT_EQ(a.embed.layout, WeightLayout::rows);
  EXPECT_EQ(a.embed.data, stored.embed.data);
  EXPECT_EQ(b.layers.front().q.data, l.q.data);
  EXPECT_EQ(b.lm_head.data, a.lm_head.data);
}

// A pass that would write one (sequence, slot) twice is refused before any kernel runs.
TEST(Model, APassWritesEachCacheSlotOnce) {
  auto m = Model::load("preset:tiny");
  CpuBackend be;
  Transformer tf(m->config(), m->weights(), be);
  KvCache cache(m->config(), 1, 8);
  Pass p;
  p.add_causal(0, {256, 72, 101}, 0, 0, true);
  p.tokens[2].cache_slot = p.tokens[1].cache_slot;
  std::vector<float> logits;
  try {
    tf.forward(p, cache, {}, logits);
    FAIL() << "a pass writing slot " << p.tokens[1].cache_slot << " twice ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adjacent_find"), std::string::npos) << e.what();
  }
}
