// The step-cost curve t(T): the time of one forward pass of T tokens against a cache
// that already holds `context` tokens, and the speedup model a * t(1) / t(T) built on it.
#pragma once
#include <functional>
#include <vector>

#include "engine/model/transformer.h"

namespace dllm {

struct StepCost {
  int tokens = 0;          // T
  double seconds = 0;      // median over the repetitions
  double min_seconds = 0;  // fastest repetition
  std::vector<double> samples;
};

// Which rows of a timed pass get logits: every row (a TiDAR verify pass needs them all) or only each
// sequence's last (a prefill, as other engines time a prompt).
enum class StepLogits { every_row, last_row };

// Times passes of each T in `sizes`: for each of `sequences` sequences (own cache rows, each holding
// `context` tokens, 0 for a prefill) one causal block of T tokens at positions context..context+T-1,
// written to scratch so the cache is unchanged, with the logits of the rows `logits` names; `tokens`
// in the result is T (per sequence). One untimed warm-up pass per size, then `repetitions` timed
// ones. Throws when context + T exceeds the model's context. `before_timing`, when given, runs once
// per size right before its first timed pass (after the prefill and the warm-up: e.g. to zero op
// counters).
std::vector<StepCost> measure_step_cost(Transformer& model, const std::vector<int>& sizes, int context, int repetitions,
                                        int sequences = 1, StepLogits logits = StepLogits::every_row,
                                        const std::function<void()>& before_timing = {});

// t(T) by linear interpolation over the measured curve (clamped to its ends).
double step_seconds_at(const std::vector<StepCost>& curve, int tokens);

}  // namespace dllm
