// Sampling a token from a logits row. Randomness is an input: the uniform for the token at absolute
// position `pos` of sequence `seq` is uniform01(seed, seq, pos, Purpose::sample), so any decoder that
// samples the same position from the same logits draws the same token (what makes TiDAR's lossless
// sampler token-for-token equal to AR sampling).
#pragma once
#include <cstdint>
#include <vector>

#include "core/sampler_config.h"

namespace dllm {

// Index of the largest logit, the lowest index on ties (ref::argmax's rule: NaN never counts).
int argmax(const float* logits, int vocab);

// The target distribution of one logits row after temperature, top-k and top-p (in that order, as
// Hugging Face applies them), as dense probabilities over the vocabulary summing to 1. Requires
// temperature > 0. Ties in top-k/top-p ranking go to the lower token id.
std::vector<double> target_distribution(const float* logits, int vocab, const SamplerConfig& s);

// Inverse-CDF sample in token-id order: the first id whose cumulative probability exceeds u * total.
int sample_from(const std::vector<double>& probs, double u);

// One token for position `pos` of sequence `seq`: argmax when greedy, else a sample from the
// target distribution with the position's uniform.
int sample_token(const float* logits, int vocab, const SamplerConfig& s, uint32_t seq, uint32_t pos);

}  // namespace dllm
