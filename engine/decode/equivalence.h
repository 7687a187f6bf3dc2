// The lossless gate's forensics: where a TiDAR output first differs from the AR output, how close
// the AR decision was there, and a verdict.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/tokenizer.h"
#include "engine/model/transformer.h"

namespace dllm {

struct Equivalence {
  bool exact_match = true;
  int first_divergence = -1;      // index into the generated tokens, -1 when equal
  double ar_margin = 0;           // AR top-1 minus top-2 logit at the divergence
  std::string verdict = "exact";  // exact | near_tie | bug
};

// A divergence is a near tie when the AR margin there is at most this fraction of max(1, |top-1|):
// a difference in f32 rounding could flip it. Anything else is a bug.
inline constexpr double kNearTieRelativeMargin = 1e-4;

Equivalence compare_outputs(Transformer& model, const std::vector<int32_t>& prompt, const std::vector<int32_t>& ar,
                            const std::vector<int32_t>& other);

// A divergence as a reader sees it: the text of the `context` tokens before index `at` (common to
// both outputs), and of up to `context` tokens from `at` on in each output, decoded by `tok`.
struct DivergenceText {
  std::string before, ar, other;
};
DivergenceText divergence_text(const Tokenizer& tok, const std::vector<int32_t>& ar, const std::vector<int32_t>& other,
                               int at, int context = 8);

}  // namespace dllm
