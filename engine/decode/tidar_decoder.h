// TiDAR diffusion decoding (docs/ARCHITECTURE.md, decoders): each step
// verifies the previous K drafts autoregressively and drafts the next K in one diffusion step, and
// commits the n accepted drafts plus one token (recovered or bonus): n + 1 tokens per step.
#pragma once
#include "engine/decode/generation.h"
#include "engine/decode/tidar_options.h"
#include "engine/model/transformer.h"

namespace dllm {

class TidarDecoder {
 public:
  TidarDecoder(Transformer& model, TidarOptions options);
  Generation generate(const GenerateRequest& request);

 private:
  Transformer& model_;
  TidarOptions opt_;
};

}  // namespace dllm
