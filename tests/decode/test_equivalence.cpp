// The lossless gate's forensics on the CPU: where two outputs first differ, the AR margin there and
// the verdict; and the text around a divergence that verify prints.
#include <gtest/gtest.h>

#include "engine/backend/cpu_backend.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/equivalence.h"
#include "engine/model/model.h"
#include "engine/model/tokenizer.h"

namespace dllm {
namespace {

TEST(Equivalence, FindsTheFirstDifferenceAndJudgesIt) {
  const auto m = Model::random(preset_config("tiny"), DType::f32, 5, "tiny");
  CpuBackend be;
  Transformer tf(m->config(), m->weights(), be);
  GenerateRequest r;
  r.prompt = {256, 72, 105};
  r.max_new_tokens = 6;
  const std::vector<int32_t> ar = ArDecoder(tf).generate(r).tokens;
  ASSERT_EQ(ar.size(), 6u);
  const Equivalence same = compare_outputs(tf, r.prompt, ar, ar);
  EXPECT_TRUE(same.exact_match);
  EXPECT_EQ(same.first_divergence, -1);
  EXPECT_EQ(same.verdict, "exact");
  std::vector<int32_t> other = ar;
  other[3] = (other[3] + 1) % 256;  // not AR's greedy choice there
  const Equivalence diff = compare_outputs(tf, r.prompt, ar, other);
  EXPECT_FALSE(diff.exact_match);
  EXPECT_EQ(diff.first_divergence, 3);
  EXPECT_GT(diff.ar_margin, 0.0);
  EXPECT_NE(diff.verdict, "exact");
}

TEST(Equivalence, DivergenceTextAroundTheFirstDifference) {
  ModelConfig cfg;
  cfg.byte_tokenizer = true;
  const ByteTokenizer tok(cfg);
  const std::vector<int32_t> ar = tok.encode_text("hello world"), other = tok.encode_text("hello there!");
  const DivergenceText t = divergence_text(tok, ar, other, 6, 3);
  EXPECT_EQ(t.before, "lo ");
  EXPECT_EQ(t.ar, "wor");
  EXPECT_EQ(t.other, "the");
  // Near the ends: what there is.
  const DivergenceText start = divergence_text(tok, ar, other, 1, 8);
  EXPECT_EQ(start.before, "h");
  EXPECT_EQ(start.ar, "ello wor");
  const DivergenceText end = divergence_text(tok, ar, other, 11, 4);
  EXPECT_EQ(end.ar, "");
  EXPECT_EQ(end.other, "!");
}

}  // namespace
}  // namespace dllm
