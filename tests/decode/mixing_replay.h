// Logit mixing decided on a backend (each mixed row's token and divergence come back with the pass)
// against the host verifier on the same rows: a two-forward TiDAR run with mixing weight w replayed
// step by step with verify_drafts (draft j's logits are row j + 1 of the draft pass before), and the
// mixing metrics summed over the positions each step decided with a mixed row. GoogleTest failures.
#pragma once
#include <string>

#include "engine/decode/generation.h"
#include "engine/model/transformer.h"

namespace dllm::testutil {

void expect_mixing_replays_on_host(Transformer& model, const GenerateRequest& request, int block_size,
                                   float mix_weight, const std::string& what);

}  // namespace dllm::testutil
