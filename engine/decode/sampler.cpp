#include "engine/decode/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/check.h"
#include "engine/core/rng.h"
#include "ref/ref.h"

namespace dllm {

int argmax(const float* logits, int vocab) {
  int32_t index = 0, non_finite = 0;
  ref::argmax(ArgmaxArgs{1, vocab, logits, &index, &non_finite});  // the one argmax rule, the GPU's too
  return index;
}

std::vector<double> target_distribution(const float* logits, int vocab, const SamplerConfig& s) {
  DLLM_ASSERT(s.temperature > 0.0f);
  std::vector<double> p(static_cast<size_t>(vocab));
  double max = -INFINITY;
  for (int i = 0; i < vocab; ++i) max = std::max(max, double(logits[i]) / s.temperature);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += p[size_t(i)] = std::exp(double(logits[i]) / s.temperature - max);
  for (double& x : p) x /= sum;

  const bool top_k = s.top_k > 0 && s.top_k < vocab;
  const bool top_p = s.top_p < 1.0f;
  if (!top_k && !top_p) return p;
  // Rank by probability, ties to the lower id; keep a prefix of the ranking.
  std::vector<int> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
  size_t keep = top_k ? size_t(s.top_k) : size_t(vocab);
  if (top_p) {
    double total = 0, kept_mass = 0;
    for (size_t i = 0; i < keep; ++i) total += p[size_t(order[i])];
    size_t n = 0;
    while (n < keep) {
      kept_mass += p[size_t(order[n++])];
      if (kept_mass >= double(s.top_p) * total) break;
    }
    keep = n;
  }
  std::vector<double> out(size_t(vocab), 0.0);
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += out[size_t(order[i])] = p[size_t(order[i])];
  for (double& x : out) x /= kept;
  return out;
}

int sample_from(const std::vector<double>& probs, double u) {
  const double total = std::accumulate(probs.begin(), probs.end(), 0.0);
  const double target = u * total;
  double cum = 0;
  int last_nonzero = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last_nonzero = int(i);
    if (target < cum) return int(i);
  }
  return last_nonzero;  // u * total rounding at the very top
}

int sample_token(const float* logits, int vocab, const SamplerConfig& s, uint32_t seq, uint32_t pos) {
  if (s.greedy()) return argmax(logits, vocab);
  return sample_from(target_distribution(logits, vocab, s), uniform01(s.seed, seq, pos, Purpose::sample));
}

}  // namespace dllm
