// What every decoder takes and returns, and the bookkeeping they share: validating a request
// against the model, and committing generated tokens with the stop rules of reports/README.md (accounting).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "engine/backend/kv_cache.h"
#include "engine/decode/metrics.h"
#include "engine/decode/sampler.h"

namespace dllm {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int max_new_tokens = 64;
  SamplerConfig sampler;
  int sequence = 0;  // the sequence coordinate of the random stream
};

struct Generation {
  std::vector<int32_t> tokens;  // generated tokens only, EOS excluded
  std::string stop_reason;      // "eos" or "max_new_tokens"
  DecodeMetrics metrics;
};

// Throws a user-facing error when the request cannot run on this model: empty prompt, ids outside
// the vocabulary, max_new_tokens < 1, or prompt + max_new_tokens + `lookahead` positions beyond
// the model's context_length() (lookahead: how far past the last committed token a decoder's passes reach).
void validate_request(const GenerateRequest& r, const ModelConfig& cfg, int lookahead);

// Appends committed tokens to a generation, applying the stop rules. Returns false once generation
// is over (EOS seen or max_new_tokens reached); later tokens of the same step are dropped.
class TokenSink {
 public:
  TokenSink(Generation& g, const ModelConfig& cfg, int max_new_tokens) : g_(g), cfg_(cfg), max_(max_new_tokens) {}
  bool push(int32_t token);
  bool done() const { return !g_.stop_reason.empty(); }
  // Closes a decoder step: records how many tokens it committed (metrics.committed_per_step).
  void end_step();

 private:
  Generation& g_;
  const ModelConfig& cfg_;
  int max_;
  size_t committed_before_step_ = 0;
};

}  // namespace dllm
