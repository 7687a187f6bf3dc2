#include "engine/decode/metrics.h"

#include <algorithm>
#include <cmath>

namespace dllm {

double DecodeMetrics::decode_tokens_per_second() const {
  const double decode = total_seconds - prefill_seconds;
  return generated_tokens > 1 && decode > 0 ? (generated_tokens - 1) / decode : 0.0;
}

double DecodeMetrics::step_percentile(double q) const {
  if (step_seconds.empty()) return 0.0;
  std::vector<double> s = step_seconds;
  std::sort(s.begin(), s.end());
  const size_t rank = size_t(std::ceil(q / 100.0 * double(s.size())));
  return s[std::min(s.size() - 1, rank == 0 ? 0 : rank - 1)];
}

nlohmann::json DecodeMetrics::to_json() const {
  nlohmann::json j = {
      {"prompt_tokens", prompt_tokens},
      {"generated_tokens", generated_tokens},
      {"forwards", forwards},
      {"tokens_per_forward", tokens_per_forward()},
      {"tokens_per_step", tokens_per_step()},
      {"time_to_first_token_s", prefill_seconds},
      {"total_s", total_seconds},
      {"forward_s", forward_seconds},
      {"decode_tokens_per_s", decode_tokens_per_second()},
      {"step_latency_s", {{"p50", step_percentile(50)}, {"p90", step_percentile(90)}, {"p99", step_percentile(99)}}}};
  if (!accepted_histogram.empty()) {
    j["accepted_histogram"] = accepted_histogram;
    std::vector<double> rate;
    for (size_t i = 0; i < slot_verified.size(); ++i)
      rate.push_back(slot_verified[i] ? double(slot_accepted[i]) / double(slot_verified[i]) : 0.0);
    j["slot_acceptance"] = rate;
  }
  if (mixing.positions > 0) {
    const double n = double(mixing.positions);
    j["mixing"] = {{"positions", mixing.positions},
                   {"kl_mean", mixing.kl_sum / n},
                   {"kl_max", mixing.kl_max},
                   {"tv_mean", mixing.tv_sum / n},
                   {"same_top1_rate", double(mixing.same_top1) / n}};
  }
  if (moe.layers > 0 && forwards > 0) {
    const double f = forwards;
    j["moe"] = {{"experts_per_layer_per_forward", double(moe.experts) / (f * moe.layers)},
                {"weight_bytes_per_forward", moe.weight_bytes / f}};
  }
  return j;
}

}  // namespace dllm
