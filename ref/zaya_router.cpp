#include <cmath>
#include <vector>

#include "ref/ref.h"

namespace dllm::ref {

namespace {

template <typename Acc>
void gelu(std::vector<float>& x) {  // exact (erf) GELU, as torch.nn.GELU()
  for (float& v : x) v = float(Acc(0.5) * Acc(v) * (Acc(1) + std::erf(Acc(v) / std::sqrt(Acc(2)))));
}

}  // namespace

template <typename Acc>
void zaya_router(const ZayaRouterArgs& a) {
  const int t = a.tokens, r = a.router_dim, classes = a.experts + 1;
  std::vector<float> u(size_t(t) * r), h(u.size()), h2(u.size()), logits(size_t(t) * classes);
  linear<Acc>(LinearArgs{t, a.dim, r, a.x, a.down, a.down_bias, u.data()});  // [T, R]
  if (a.state_in != nullptr)
    for (int i = 0; i < t * r; ++i) u[size_t(i)] = float(Acc(u[size_t(i)]) + Acc(a.state_in[i]) * Acc(a.state_scale.at(0, i % r)));
  std::copy(u.begin(), u.end(), a.state_out);
  rmsnorm<Acc>(RmsnormArgs{t, r, a.eps, u.data(), a.norm, h.data()});
  linear<Acc>(LinearArgs{t, r, r, h.data(), a.fc1, a.fc1_bias, h2.data()});
  gelu<Acc>(h2);
  linear<Acc>(LinearArgs{t, r, r, h2.data(), a.fc2, a.fc2_bias, h.data()});
  gelu<Acc>(h);
  linear<Acc>(LinearArgs{t, r, classes, h.data(), a.out, WeightView{}, logits.data()});  // [T, E+1]
  for (int i = 0; i < t; ++i) {
    const float* g = logits.data() + int64_t(i) * classes;
    Acc max = g[0];
    for (int e = 1; e < classes; ++e) max = std::max(max, Acc(g[e]));
    Acc sum = 0;
    for (int e = 0; e < classes; ++e) sum += std::exp(Acc(g[e]) - max);
    int best = 0;
    Acc best_p = 0, best_score = 0;
    for (int e = 0; e < classes; ++e) {
      const Acc p = std::exp(Acc(g[e]) - max) / sum;
      const Acc score = Acc(float(p)) + Acc(a.balancing_bias.at(0, e));  // the bias changes the choice only
      if (e == 0 || score > best_score) best = e, best_p = p, best_score = score;
    }
    a.expert[i] = best;
    a.weight[i] = float(best_p);
  }
}

template void zaya_router<float>(const ZayaRouterArgs&);
template void zaya_router<double>(const ZayaRouterArgs&);

}  // namespace dllm::ref
