// Autoregressive decoding: prefill, then one token per forward.
#pragma once
#include "engine/decode/generation.h"
#include "engine/model/transformer.h"

namespace dllm {

class ArDecoder {
 public:
  explicit ArDecoder(Transformer& model) : model_(model) {}
  Generation generate(const GenerateRequest& request);

 private:
  Transformer& model_;
};

}  // namespace dllm
