// Routing locality of a mixture-of-experts model: how many distinct experts a pass of T consecutive
// tokens touches per layer, measured from the router's own choices on real text, beside what uniform
// routing would touch. A TiDAR pass pays for every expert its tokens route to, so this decides
// whether verifying and drafting 17 or 68 tokens in one forward costs about one token's weight
// traffic (routes shared) or T tokens' (routes spread).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/model/transformer.h"
#include "reports/sections.h"

namespace dllm {

// Packs `documents` (token ids each, e.g. prompt + answer + <eos>) one after another into rows of at
// most `row_tokens` tokens (a document that does not fit starts the next row; longer ones are cut),
// runs each row as one causal prefill and reads every token's route in every layer. A token's route
// depends only on the tokens before it, so the routes of a T-token pass over tokens [s, s + T) of a
// row are these; each size in `sizes` is measured over the row's non-overlapping windows
// [0, T), [T, 2T), ... (means over them; uniform routing over E experts and the skip route touches
// E (1 - (E / (E + 1))^T) per layer). A size no row holds is left out. Throws for a dense model, and
// when no size fits.
std::vector<report::ExpertsPerPass> measure_routing_locality(Transformer& model,
                                                             const std::vector<std::vector<int32_t>>& documents,
                                                             const std::vector<int>& sizes, int row_tokens);

}  // namespace dllm
