// TiDAR verification decided on a backend (each verify row's token, and a mixed row's divergence,
// come back with the pass) against the host reference verifier on the same rows: a two-forward run
// with mixing weight w and draft temperature Td replayed step by step with draft_token and
// verify_drafts (draft j's logits are row j + 1 of the draft pass before), and the mixing metrics
// summed over the positions each step decided with a mixed row. GoogleTest failures.
#pragma once
#include <string>

#include "engine/decode/generation.h"
#include "engine/model/transformer.h"

namespace dllm::testutil {

void expect_verification_replays_on_host(Transformer& model, const GenerateRequest& request, int block_size,
                                         float mix_weight, float draft_temperature, const std::string& what);

}  // namespace dllm::testutil
