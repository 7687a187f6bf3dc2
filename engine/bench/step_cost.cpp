#include "engine/bench/step_cost.h"

#include <algorithm>
#include <chrono>

#include "core/check.h"

namespace dllm {

std::vector<StepCost> measure_step_cost(Transformer& model, const std::vector<int>& sizes, int context, int repetitions,
                                        int sequences, StepLogits logits, const std::function<void()>& before_timing) {
  const ModelConfig& cfg = model.config();
  const int largest = *std::max_element(sizes.begin(), sizes.end());
  DLLM_CHECK(context >= 0 && context + largest <= cfg.context_length(), "a step-cost pass of ", largest,
             " tokens after ", context, " cached tokens exceeds the model's context of ", cfg.context_length(),
             ": lower the largest pass size");
  KvCache cache(cfg, sequences, std::max(context, 1), model.backend().memory(),
                model.backend().kv_cache_dtype(cfg));   // a cache holds a slot at least
  for (int s = 0; s < sequences && context > 0; ++s) {  // fill each row with `context` tokens
    Pass prefill;
    prefill.add_causal(s, std::vector<int32_t>(size_t(context), 0), 0, 0, true);
    model.forward(prefill, cache, {context - 1});
    cache.set_length(s, context);
  }
  std::vector<StepCost> curve;
  for (int t : sizes) {
    Pass pass;
    std::vector<int> rows;  // empty: every row
    for (int s = 0; s < sequences; ++s) {
      const int begin = pass.add_causal(s, std::vector<int32_t>(size_t(t), 0), context, context, false);  // scratch K/V
      if (logits == StepLogits::last_row) rows.push_back(begin + t - 1);
    }
    StepCost c;
    c.tokens = t;
    for (int r = -1; r < repetitions; ++r) {
      if (r == 0 && before_timing) before_timing();
      const auto t0 = std::chrono::steady_clock::now();
      model.forward(pass, cache, rows);  // logits stay in the backend's memory, as in decoding
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 0) c.samples.push_back(s);
    }
    std::vector<double> sorted = c.samples;
    std::sort(sorted.begin(), sorted.end());
    c.seconds = sorted[sorted.size() / 2];
    c.min_seconds = sorted.front();
    curve.push_back(c);
  }
  return curve;
}

double step_seconds_at(const std::vector<StepCost>& curve, int tokens) {
  DLLM_ASSERT(!curve.empty());
  if (tokens <= curve.front().tokens) return curve.front().seconds;
  for (size_t i = 1; i < curve.size(); ++i) {
    if (tokens <= curve[i].tokens) {
      const StepCost &a = curve[i - 1], &b = curve[i];
      return a.seconds + (b.seconds - a.seconds) * double(tokens - a.tokens) / double(b.tokens - a.tokens);
    }
  }
  return curve.back().seconds;
}

}  // namespace dllm
