#include "ref/verify.h"

#include <algorithm>

#include "core/check.h"
#include "core/rng.h"
#include "ref/ref.h"

namespace dllm::ref {

namespace {

int32_t argmax_of(const float* row, int vocab) {
  int32_t index = 0, non_finite = 0;
  argmax(ArgmaxArgs{1, vocab, row, &index, &non_finite});
  return index;
}

// The row the target distribution comes from: w * AR + (1 - w) * draft logits, rounded as RowDraw's
// mix (drawn_row, the backend's mixing too). A padding draft has no logits: its row is the AR row.
// At w = 1 the mix is the AR row exactly (1*z + 0*y == z for finite logits), which the tests check
// bitwise rather than assume.
const float* target_row(const float* ar, const Draft& d, int vocab, float w, std::vector<float>& mixed) {
  if (d.logits == nullptr) return ar;
  RowDraw draw;
  draw.mix = d.logits, draw.mix_weight = w;
  mixed = drawn_row(ar, vocab, draw);
  return mixed.data();
}

}  // namespace

std::vector<double> draft_distribution(const float* logits, int vocab, float draft_temperature) {
  return target_distribution(logits, vocab, RowDraw{draft_temperature});
}

int32_t draft_token(const float* logits, int vocab, const VerifyConfig& cfg, uint32_t sequence, int position) {
  if (cfg.draft_temperature == 0.0f) return argmax_of(logits, vocab);
  return sample_from(draft_distribution(logits, vocab, cfg.draft_temperature),
                     uniform01(cfg.target.seed, sequence, uint32_t(position), Purpose::draft));
}

VerifyOutcome verify_greedy(const std::vector<int32_t>& best, const std::vector<int32_t>& drafts) {
  DLLM_ASSERT(best.size() == drafts.size() + 1);
  const int k = int(drafts.size());
  for (int i = 0; i < k; ++i)
    if (best[size_t(i)] != drafts[size_t(i)]) return {i, best[size_t(i)]};
  return {k, best[size_t(k)]};
}

VerifyOutcome verify_drafts(const float* rows, const std::vector<Draft>& drafts, int vocab, const VerifyConfig& cfg,
                            uint32_t sequence, int first_position) {
  std::vector<float> mixed;
  const int k = int(drafts.size());
  if (cfg.target.greedy()) {
    std::vector<int32_t> best(size_t(k) + 1), tokens(static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) {
      best[size_t(i)] =
          argmax_of(target_row(rows + size_t(i) * vocab, drafts[size_t(i)], vocab, cfg.mix_weight, mixed), vocab);
      tokens[size_t(i)] = drafts[size_t(i)].token;
    }
    best[size_t(k)] = argmax_of(rows + size_t(k) * vocab, vocab);  // the bonus row, pure AR
    return verify_greedy(best, tokens);
  }
  const RowDraw target = cfg.target.draw(0.0);  // temperature, top-k and top-p of every row
  for (int i = 0; i < k; ++i) {
    const Draft& d = drafts[size_t(i)];
    const uint32_t pos = uint32_t(first_position + i);
    const float* row = target_row(rows + size_t(i) * vocab, d, vocab, cfg.mix_weight, mixed);
    const std::vector<double> p = target_distribution(row, vocab, target);
    if (cfg.draft_temperature == 0.0f || d.logits == nullptr) {  // Dirac drafter: sample and match
      const int32_t x = sample_from(p, uniform01(cfg.target.seed, sequence, pos, Purpose::sample));
      if (x != d.token) return {i, x};
      continue;
    }
    const std::vector<double> q = draft_distribution(d.logits, vocab, cfg.draft_temperature);
    const double u = uniform01(cfg.target.seed, sequence, pos, Purpose::accept);
    if (u * q[size_t(d.token)] <= p[size_t(d.token)]) continue;  // accept with probability min(1, p/q)
    std::vector<double> residual(static_cast<size_t>(vocab));
    for (size_t v = 0; v < residual.size(); ++v) residual[v] = std::max(p[v] - q[v], 0.0);
    return {i, int32_t(sample_from(residual, uniform01(cfg.target.seed, sequence, pos, Purpose::residual)))};
  }
  // Every draft accepted: the bonus token, sampled from the last row, pure AR.
  const uint32_t bonus = uint32_t(first_position + k);
  return {k, int32_t(sample_from(target_distribution(rows + size_t(k) * vocab, vocab, target),
                                 uniform01(cfg.target.seed, sequence, bonus, Purpose::sample)))};
}

}  // namespace dllm::ref
