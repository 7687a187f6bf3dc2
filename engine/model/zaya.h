// ZAYA1 pieces of the model layer (engine/model/zaya.md): its tensors in the transformers layout.
#pragma once
#include <vector>

#include "engine/model/model.h"

namespace dllm {

// Every tensor of a zaya model in the transformers ZayaForCausalLM layout, bound to `w`.
std::vector<ExpectedTensor> zaya_expected_tensors(const ModelConfig& cfg, ModelWeights& w);

}  // namespace dllm
