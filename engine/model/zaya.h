// ZAYA1 pieces of the model layer (engine/model/zaya.md): its tensors in the transformers layout.
#pragma once
#include <vector>

#include "engine/model/model.h"

namespace dllm {

// Every tensor of a zaya model in the transformers ZayaForCausalLM layout, bound to `w`.
std::vector<ExpectedTensor> zaya_expected_tensors(const ModelConfig& cfg, ModelWeights& w);

// Bytes of one expert of one layer (gate, up and down) stored as `dtype`.
int64_t zaya_expert_bytes(const ModelConfig& cfg, DType dtype);
// Bytes of every weight of a zaya model except the experts (the tied lm_head counted once).
int64_t zaya_dense_bytes(const ModelWeights& w);

// What a pass of `tokens` tokens reads if routing were uniform over the E experts and the skip
// route (an estimate for `dllm-bench info`; decoding measures the real count): distinct experts
// per layer, E * (1 - (E / (E + 1))^T), and the weight bytes of the pass.
// Distinct experts among `count` routes in [0, E] (E, the skip route, reads no expert).
int distinct_experts(const int32_t* routes, size_t count, int experts);
// Distinct experts per layer that a pass of `tokens` tokens touches under uniform routing.
double uniform_experts_per_layer(const ModelConfig& cfg, int tokens);
struct MoePassEstimate {
  int tokens = 0;
  double experts_per_layer = 0;
  double weight_bytes = 0;
};
MoePassEstimate zaya_pass_estimate(const ModelSummary& model, int tokens);
// Parameters one token uses: all but E - 1 experts per layer.
int64_t zaya_active_parameters(const ModelSummary& model);

}  // namespace dllm
