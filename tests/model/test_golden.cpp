// The shipped models' greedy AR output for a few held-out prompts equals stored token ids
// (tests/golden/<model>.json, made by tools/make-golden models/<model>), and lossless TiDAR equals
// them too: models/tiny-tidar (dense Qwen3) and models/tiny-tidar-zaya (ZAYA1: CCA + top-1 MoE).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/backend/cpu_backend.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/tidar_decoder.h"
#include "engine/model/model.h"
#include "engine/model/tokenizer.h"

using namespace dllm;

namespace {

void expect_golden(const std::string& name) {
  std::ifstream in(DLLM_SOURCE_DIR "/tests/golden/" + name + ".json");
  ASSERT_TRUE(in.good()) << name;
  const auto golden = nlohmann::json::parse(in);
  auto model = Model::load(DLLM_SOURCE_DIR "/models/" + name);
  CpuBackend be;
  Transformer tf(model->config(), model->weights(), be);
  ByteTokenizer tok(model->config());
  ASSERT_GE(golden["cases"].size(), 5u);
  for (const auto& c : golden["cases"]) {
    GenerateRequest r;
    r.prompt = tok.encode(c["prompt"].get<std::string>());
    r.max_new_tokens = c["max_new_tokens"].get<int>();
    const auto expect = c["tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(ArDecoder(tf).generate(r).tokens, expect) << c["id"];
    TidarOptions single;
    single.levels = parse_levels("P3", 16);
    EXPECT_EQ(TidarDecoder(tf, single).generate(r).tokens, expect) << c["id"];
    TidarOptions two;
    two.layout = Layout::two_forward;
    EXPECT_EQ(TidarDecoder(tf, two).generate(r).tokens, expect) << c["id"];
  }
}

}  // namespace

TEST(Golden, ShippedModelReproducesStoredTokens) { expect_golden("tiny-tidar"); }

TEST(Golden, ShippedZayaModelReproducesStoredTokens) { expect_golden("tiny-tidar-zaya"); }
