// How a token is drawn from a logits row: greedy, or a sample after temperature, top-k and top-p,
// with the seed the per-position uniforms come from (core/rng.h). A plain type shared by the
// decoders (engine/decode/sampler.h) and the reference verifier (ref/verify.h).
#pragma once
#include <cstdint>

#include "core/ops.h"

namespace dllm {

struct SamplerConfig {
  float temperature = 0.0f;  // 0: greedy (argmax)
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  uint64_t seed = 0;
  bool greedy() const { return temperature == 0.0f; }
  // This sampler as the sample op's draw of one row, with the row's uniform.
  RowDraw draw(double u) const { return RowDraw{temperature, top_k, top_p, greedy() ? 0.0 : u}; }
};

}  // namespace dllm
