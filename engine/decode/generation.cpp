#include "engine/decode/generation.h"

#include "core/check.h"

namespace dllm {

void validate_request(const GenerateRequest& r, const ModelConfig& cfg, int lookahead) {
  DLLM_CHECK(!r.prompt.empty(), "the prompt is empty: give --prompt TEXT or --tokens IDS");
  for (size_t i = 0; i < r.prompt.size(); ++i)
    DLLM_CHECK(r.prompt[i] >= 0 && r.prompt[i] < cfg.vocab_size, "prompt token ", i, " (id ", r.prompt[i],
               ") is outside the vocabulary [0, ", cfg.vocab_size, ")");
  DLLM_CHECK(r.max_new_tokens >= 1, "--max-new-tokens must be at least 1, got ", r.max_new_tokens);
  const int64_t need = int64_t(r.prompt.size()) + r.max_new_tokens + lookahead;
  DLLM_CHECK(need <= cfg.context_length(), "the prompt (", r.prompt.size(), " tokens) plus --max-new-tokens ",
             r.max_new_tokens,
             (lookahead ? " plus the decoder's lookahead " + std::to_string(lookahead) : std::string()), " needs ",
             need, " positions but the model's context is ", cfg.context_length(),
             " (max_position_embeddings, times the factor of a dynamic RoPE): shorten the prompt or lower "
             "--max-new-tokens");
  DLLM_CHECK(r.sampler.temperature >= 0.0f, "--temperature must be >= 0, got ", r.sampler.temperature);
  DLLM_CHECK(r.sampler.top_k >= 0, "--top-k must be >= 0, got ", r.sampler.top_k);
  DLLM_CHECK(r.sampler.top_p > 0.0f && r.sampler.top_p <= 1.0f, "--top-p must lie in (0, 1], got ", r.sampler.top_p);
}

bool TokenSink::push(int32_t token) {
  if (done()) return false;
  if (cfg_.is_eos(token)) {
    g_.stop_reason = "eos";
    return false;
  }
  g_.tokens.push_back(token);
  g_.metrics.generated_tokens = int(g_.tokens.size());
  if (int(g_.tokens.size()) >= max_) {
    g_.stop_reason = "max_new_tokens";
    return false;
  }
  return true;
}

void TokenSink::end_step() {
  const size_t n = g_.tokens.size() - committed_before_step_;
  if (n > 0) g_.metrics.committed_per_step.push_back(int(n));
  committed_before_step_ = g_.tokens.size();
}

}  // namespace dllm
