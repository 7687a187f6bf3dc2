#include "tests/model/ar_steps.h"

#include "engine/decode/sampler.h"

namespace dllm::testutil {

void run_prefill_and_greedy_steps(Transformer& tf, KvCache& cache, const std::vector<int32_t>& prompt, int steps,
                                  const PassCheck& check, const std::function<void()>& after_prefill) {
  const int vocab = tf.config().vocab_size;
  std::vector<float> logits;
  Pass prefill;
  prefill.add_causal(0, prompt, 0, 0, true);
  tf.forward(prefill, cache, {}, logits);
  cache.set_length(0, int(prompt.size()));
  check({}, prefill, logits, " prefill");
  if (after_prefill) after_prefill();
  std::vector<int32_t> seq = prompt;
  int32_t next = argmax(logits.data() + (prompt.size() - 1) * size_t(vocab), vocab);
  for (int step = 0; step < steps; ++step) {
    const int pos = int(seq.size());
    Pass p;
    p.add_causal(0, {next}, pos, pos, true);
    tf.forward(p, cache, {}, logits);
    cache.set_length(0, pos + 1);
    check(seq, p, logits, " step " + std::to_string(step));
    seq.push_back(next);
    next = argmax(logits.data(), vocab);
  }
}

}  // namespace dllm::testutil
