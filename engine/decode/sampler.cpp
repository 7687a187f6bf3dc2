#include "engine/decode/sampler.h"

#include "core/rng.h"
#include "ref/ref.h"

namespace dllm {

// The rules live in ref/ (argmax.cpp, sample.cpp), where the GPU kernels are tested against them.

int argmax(const float* logits, int vocab) {
  int32_t index = 0, non_finite = 0;
  ref::argmax(ArgmaxArgs{1, vocab, logits, &index, &non_finite});
  return index;
}

std::vector<double> target_distribution(const float* logits, int vocab, const SamplerConfig& s) {
  return ref::target_distribution(logits, vocab, s.draw(0.0));
}

int sample_from(const std::vector<double>& probs, double u) { return ref::sample_from(probs, u); }

int sample_token(const float* logits, int vocab, const SamplerConfig& s, uint32_t seq, uint32_t pos) {
  if (s.greedy()) return argmax(logits, vocab);
  return sample_from(target_distribution(logits, vocab, s), uniform01(s.seed, seq, pos, Purpose::sample));
}

}  // namespace dllm
