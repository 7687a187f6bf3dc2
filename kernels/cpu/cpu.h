// Fast CPU kernels. Each has its ref:: twin in ref/ and a test against it (tests/kernels/).
// Contract: results do not depend on how many tokens a call holds or where a token sits (batch
// invariance), and not on the instruction set chosen at run time (no FMA contraction, a fixed
// lane-wise order), so the lossless gate stays exact.
#pragma once
#include "engine/core/ops.h"

namespace dllm::cpu {

// Each weight row is converted to f32 once per call and reused for every token of the pass; each
// output is a 16-lane interleaved dot product reduced by a fixed pairwise tree.
void linear(const LinearArgs& a);

}  // namespace dllm::cpu
