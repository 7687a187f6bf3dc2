// Routing locality of a mixture-of-experts model: how many distinct experts a pass of T consecutive
// tokens touches per layer, measured from the router's own choices on real text, beside what uniform
// routing would touch. A TiDAR pass pays for every expert its tokens route to, so this decides
// whether verifying and drafting 17 or 68 tokens in one forward costs about one token's weight
// traffic (routes shared) or T tokens' (routes spread).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/model/transformer.h"

namespace dllm {

struct RoutingLocality {
  int tokens = 0;                        // T, tokens per pass
  int64_t windows = 0;                   // passes of T consecutive tokens measured
  double experts_per_layer = 0;          // mean distinct experts a pass touches, per layer
  double uniform_experts_per_layer = 0;  // E (1 - (E / (E + 1))^T): routing uniform over E + skip
  double expert_bytes = 0;               // mean expert weight bytes a pass reads, all layers
  double uniform_expert_bytes = 0;       // the same under uniform routing
};

// Packs `documents` (token ids each, e.g. prompt + answer + <eos>) one after another into rows of at
// most `row_tokens` tokens (a document that does not fit starts the next row; longer ones are cut),
// runs each row as one causal prefill and reads every token's route in every layer. A token's route
// depends only on the tokens before it, so the routes of a T-token pass over tokens [s, s + T) of a
// row are these; each size in `sizes` is measured over the row's non-overlapping windows
// [0, T), [T, 2T), ... Throws for a dense model, and when no window of some size fits in a row.
std::vector<RoutingLocality> measure_routing_locality(Transformer& model,
                                                      const std::vector<std::vector<int32_t>>& documents,
                                                      const std::vector<int>& sizes, int row_tokens);

}  // namespace dllm
