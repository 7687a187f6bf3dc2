// What one generation measured. Counted tokens are generated tokens only: no prompt,
// stop at the first EOS (not counted), cut at max_new_tokens (a step that overshoots is trimmed).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace dllm {

struct DecodeMetrics {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  int forwards = 0;                  // every forward pass, prefill and draft passes included (NFE)
  double prefill_seconds = 0;        // prefill forward and first token: the time to first token
  double total_seconds = 0;          // prefill plus decode
  double forward_seconds = 0;        // inside forward passes; the rest is sampling, verification and host work
  std::vector<double> step_seconds;  // one per decode step (after the first token)
  // TiDAR only (empty for AR): histogram of accepted drafts per step, index n = 0..K, and per draft
  // slot i (0-based) how often it was verified and how often accepted.
  std::vector<int64_t> accepted_histogram;
  std::vector<int64_t> slot_verified, slot_accepted;
  // Tokens committed by each forward that committed any (the first is the prefill's first token):
  // where the blocks of a TiDAR output begin and end. All ones for AR.
  std::vector<int> committed_per_step;
  // Logit mixing only (w < 1): divergence of the mixed target from the AR target, summed over the
  // committed positions whose token came from a mixed row (MixDivergence, the sample_divergence op).
  struct Mixing {
    int64_t positions = 0, same_top1 = 0;
    double kl_sum = 0, tv_sum = 0, kl_max = 0;
  } mixing;
  // MoE models (zaya) only: per forward, the distinct experts touched summed over layers, and the
  // weight bytes read (Transformer::MoeTraffic), summed over forwards; `layers` to average per layer.
  struct Moe {
    int layers = 0;
    int64_t experts = 0;
    double weight_bytes = 0;
  } moe;

  double tokens_per_forward() const { return forwards ? double(generated_tokens) / forwards : 0.0; }
  // Tokens committed per decode step, after the first token (which prefill produces): the
  // steady-state n + 1 of TiDAR, 1 for AR.
  double tokens_per_step() const {
    return step_seconds.empty() ? 0.0 : double(generated_tokens - 1) / double(step_seconds.size());
  }
  // Generated tokens after the first, over the time after the first: the steady decode rate.
  double decode_tokens_per_second() const;
  // Percentile q in [0, 100] of step_seconds (nearest rank); 0 when there are no steps.
  double step_percentile(double q) const;
  nlohmann::json to_json() const;
};

}  // namespace dllm
