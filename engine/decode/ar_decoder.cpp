#include "engine/decode/ar_decoder.h"

#include <chrono>

namespace dllm {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

Generation ArDecoder::generate(const GenerateRequest& r) {
  const ModelConfig& cfg = model_.config();
  validate_request(r, cfg, 0);
  const int prompt_len = int(r.prompt.size());
  const int vocab = cfg.vocab_size;
  KvCache cache(cfg, 1, prompt_len + r.max_new_tokens);
  Generation g;
  g.metrics.prompt_tokens = prompt_len;
  TokenSink sink(g, cfg, r.max_new_tokens);
  std::vector<float> logits;
  const auto t0 = Clock::now();

  int32_t token = prefill_first_token(model_, cache, r, g, sink);
  bool more = !sink.done();

  // Each step feeds the last token at position L and samples the token at L + 1.
  for (int pos = prompt_len; more; ++pos) {
    const auto ts = Clock::now();
    Pass step;
    step.add_causal(0, {token}, pos, pos, true);
    counted_forward(model_, step, cache, {}, logits, g.metrics);
    cache.set_length(0, pos + 1);
    token = sample_token(logits.data(), vocab, r.sampler, uint32_t(r.sequence), uint32_t(pos + 1));
    more = sink.push(token);
    sink.end_step();
    g.metrics.step_seconds.push_back(seconds_since(ts));
  }
  g.metrics.total_seconds = seconds_since(t0);
  return g;
}

}  // namespace dllm
