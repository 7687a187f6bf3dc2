#include <algorithm>
#include <numeric>

#include "core/check.h"
#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

std::vector<double> target_distribution(const float* x, int dim, const RowDraw& d) {
  DLLM_ASSERT(d.temperature > 0.0f);
  const Vector<double> probs = softmax_of<double>(row_in<double>(x, 0, dim) / double(d.temperature));
  std::vector<double> p(probs.data(), probs.data() + dim);

  const bool top_k = d.top_k > 0 && d.top_k < dim;
  const bool top_p = d.top_p < 1.0f;
  if (!top_k && !top_p) return p;
  // Rank by probability, ties to the lower id; keep a prefix of the ranking.
  std::vector<int> order(static_cast<size_t>(dim));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
  size_t keep = top_k ? size_t(d.top_k) : size_t(dim);
  if (top_p) {
    double total = 0, kept_mass = 0;
    for (size_t i = 0; i < keep; ++i) total += p[size_t(order[i])];
    size_t n = 0;
    while (n < keep) {
      kept_mass += p[size_t(order[n++])];
      if (kept_mass >= double(d.top_p) * total) break;
    }
    keep = n;
  }
  std::vector<double> out(size_t(dim), 0.0);
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += out[size_t(order[i])] = p[size_t(order[i])];
  for (double& v : out) v /= kept;
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

std::vector<float> drawn_row(const float* x, int dim, const RowDraw& d) {
  std::vector<float> row(x, x + dim);
  if (d.mix == nullptr) return row;
  const float w = d.mix_weight, rest = 1.0f - d.mix_weight;
  for (int i = 0; i < dim; ++i) {
    const volatile float a = w * x[i], b = rest * d.mix[i];  // rounded apart: never a fused multiply-add
    row[size_t(i)] = a + b;
  }
  return row;
}

void sample(const SampleArgs& a) {
  for (int r = 0; r < a.rows; ++r) {
    const RowDraw& d = a.draws[r];
    const std::vector<float> row = drawn_row(a.x + int64_t(r) * a.dim, a.dim, d);
    const float* x = row.data();
    if (d.temperature == 0.0f) {
      int32_t non_finite = 0;
      argmax(ArgmaxArgs{1, a.dim, x, a.token + r, &non_finite});
    } else if (d.draft_row == nullptr) {
      a.token[r] = sample_from(target_distribution(x, a.dim, d), d.u);
    } else {
      const std::vector<double> p = target_distribution(x, a.dim, d),
                                q = target_distribution(d.draft_row, a.dim, RowDraw{d.draft_temperature});
      const size_t t = size_t(d.draft_token);
      if (d.u_accept * q[t] <= p[t]) {
        a.token[r] = d.draft_token;
        continue;
      }
      std::vector<double> residual(p.size());
      for (size_t v = 0; v < p.size(); ++v) residual[v] = std::max(p[v] - q[v], 0.0);
      a.token[r] = sample_from(residual, d.u);
    }
  }
}

void sample_divergence(const SampleDivergenceArgs& a) {
  for (int r = 0; r < a.rows; ++r) {
    const RowDraw& d = a.draws[r];
    MixDivergence& out = a.out[r] = MixDivergence{};
    if (d.mix == nullptr) continue;
    const float* x = a.x + int64_t(r) * a.dim;
    const std::vector<float> mixed = drawn_row(x, a.dim, d);
    RowDraw target = d;
    if (target.temperature == 0.0f) target = RowDraw{1.0f, 0, 1.0f};
    const std::vector<double> pv = target_distribution(x, a.dim, target),
                              qv = target_distribution(mixed.data(), a.dim, target);
    const Eigen::ArrayXd p = Eigen::Map<const Eigen::ArrayXd>(pv.data(), a.dim),
                         q = Eigen::Map<const Eigen::ArrayXd>(qv.data(), a.dim);
    out.kl = (p > 0).select(p * (p / q.max(1e-300)).log(), 0.0).sum();
    out.tv = 0.5 * (p - q).abs().sum();
    int32_t top_x = 0, top_mixed = 0, non_finite = 0;
    argmax(ArgmaxArgs{1, a.dim, x, &top_x, &non_finite});
    argmax(ArgmaxArgs{1, a.dim, mixed.data(), &top_mixed, &non_finite});
    out.same_top1 = top_x == top_mixed;
  }
}

}  // namespace dllm::ref
