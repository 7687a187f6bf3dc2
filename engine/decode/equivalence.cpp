#include "engine/decode/equivalence.h"

#include <algorithm>
#include <cmath>

namespace dllm {

Equivalence compare_outputs(Transformer& model, const std::vector<int32_t>& prompt, const std::vector<int32_t>& ar,
                            const std::vector<int32_t>& other) {
  Equivalence e;
  if (ar == other) return e;
  e.exact_match = false;
  const auto mismatch = std::mismatch(ar.begin(), ar.end(), other.begin(), other.end());
  e.first_divergence = int(mismatch.first - ar.begin());
  // The AR logits that chose token first_divergence: a prefill of everything before it.
  std::vector<int32_t> prefix = prompt;
  prefix.insert(prefix.end(), ar.begin(), ar.begin() + e.first_divergence);
  const ModelConfig& cfg = model.config();
  KvCache cache(cfg, 1, int(prefix.size()), model.backend().memory(), model.backend().kv_cache_dtype(cfg));
  Pass pass;
  pass.add_causal(0, prefix, 0, 0, true);
  std::vector<float> logits;
  model.forward(pass, cache, {int(prefix.size()) - 1}, logits);
  std::vector<float> sorted = logits;
  std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
  e.ar_margin = double(sorted[0]) - double(sorted[1]);
  const bool near_tie = e.ar_margin <= kNearTieRelativeMargin * std::max(1.0, std::fabs(double(sorted[0])));
  e.verdict = near_tie ? "near_tie" : "bug";
  return e;
}

DivergenceText divergence_text(const Tokenizer& tok, const std::vector<int32_t>& ar, const std::vector<int32_t>& other,
                               int at, int context) {
  const auto text = [&](const std::vector<int32_t>& ids, size_t begin, size_t end) {
    begin = std::min(begin, ids.size()), end = std::min(end, ids.size());
    return tok.decode(std::vector<int32_t>(ids.begin() + int64_t(begin), ids.begin() + int64_t(end)));
  };
  const size_t from = size_t(std::max(0, at - context)), to = size_t(at) + size_t(context);
  return {text(ar, from, size_t(at)), text(ar, size_t(at), to), text(other, size_t(at), to)};
}

}  // namespace dllm
