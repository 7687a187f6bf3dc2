// TiDAR verification, the host reference: given the AR logits of the verify rows and the drafts,
// how many drafts are accepted and which token follows them. verify_drafts decides on whole rows;
// the engine decides on the backend (each verify row's token under its RowDraw, ref::sample's rules,
// then verify_greedy), and the tests replay the engine's steps against verify_drafts.
//
// - greedy target: accept while argmax(row) == draft; the first mismatch emits the argmax.
// - stochastic target, argmax drafter: sample x from the target distribution with the uniform of
//   the draft's absolute position (the AR decoder's draw there), accept iff x == draft, else emit x:
//   the output is token-for-token AR sampling with the same seed.
// - stochastic target, sampling drafter (draft temperature > 0): accept with probability
//   min(1, p/q), else emit a sample of normalize(max(p - q, 0)): AR's distribution, not its draws.
// - logit mixing (weight w < 1): verify rows use w * AR + (1 - w) * draft logits before the same
//   rule; the bonus row stays AR. At w = 1 the mixed row equals the AR row bitwise: lossless.
#pragma once
#include <cstdint>
#include <vector>

#include "core/sampler_config.h"

namespace dllm::ref {

struct VerifyConfig {
  SamplerConfig target;            // the AR sampler (temperature / top-k / top-p / seed)
  float mix_weight = 1.0f;         // w
  float draft_temperature = 0.0f;  // 0: argmax (Dirac) drafter
};

struct Draft {
  int32_t token = 0;
  const float* logits = nullptr;  // [V] diffusion logits that produced it; null for a padding draft
};

struct VerifyOutcome {
  int accepted = 0;  // n: drafts d1..dn accepted
  int32_t next = 0;  // the recovered token (n < K) or the bonus token (n == K)
};

// rows: [K+1, V] AR logits of the verify segment (row j predicts position first_position + j).
// drafts[i] sits at position first_position + i.
VerifyOutcome verify_drafts(const float* rows, const std::vector<Draft>& drafts, int vocab, const VerifyConfig& cfg,
                            uint32_t sequence, int first_position);

// Greedy verification from each verify row's argmax, best [K+1] (of the mixed row where mixing),
// and the draft tokens [K]: accept while best[i] == drafts[i]; the first mismatch emits best[i];
// with every draft accepted, the bonus best[K]. verify_drafts' greedy rule, on K+1 integers: what
// the engine reads back from a backend for a TiDAR step.
VerifyOutcome verify_greedy(const std::vector<int32_t>& best, const std::vector<int32_t>& drafts);

// A draft token from diffusion logits at a position: argmax, or a sample at the draft temperature.
int32_t draft_token(const float* logits, int vocab, const VerifyConfig& cfg, uint32_t sequence, int position);

// The sampling drafter's distribution q = softmax(logits / draft_temperature).
std::vector<double> draft_distribution(const float* logits, int vocab, float draft_temperature);

}  // namespace dllm::ref
