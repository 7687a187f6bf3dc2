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
    for (int i = 0; i < t * r; ++i)
      u[size_t(i)] = float(Acc(u[size_t(i)]) + Acc(a.state_in[i]) * Acc(a.state_scale.at(0, i % r)));
  std::copy(u.begin(), u.end(), a.state_out);
  rmsnorm<Acc>(RmsnormArgs{t, r, a.eps, u.data(), a.norm, h.data()});
  linear<Acc>(LinearArgs{t, r, r, h.data(), a.fc1, a.fc1_bias, h2.data()});
  gelu<Acc>(h2);
  linear<Acc>(LinearArgs{t, r, r, h2.data(), a.fc2, a.fc2_bias, h.data()});
  gelu<Acc>(h);
  linear<Acc>(LinearArgs{t, r, classes, h.data(), a.out, WeightView{}, logits.data()});  // [T, E+1]
  std::vector<float> probs(logits.size());
  softmax<Acc>(SoftmaxArgs{t, classes, 1.0f, logits.data(), probs.data()});  // [T, E+1]
  for (int i = 0; i < t; ++i) {
    const float* p = probs.data() + int64_t(i) * classes;
    // The highest p + balancing bias, ties to the lower route: the bias changes the choice only.
    auto score = [&](int e) { return Acc(p[e]) + Acc(a.balancing_bias.at(0, e)); };
    int best = 0;
    for (int e = 1; e < classes; ++e)
      if (score(e) > score(best)) best = e;
    a.expert[i] = best;
    a.weight[i] = p[best];
  }
}

template void zaya_router<float>(const ZayaRouterArgs&);
template void zaya_router<double>(const ZayaRouterArgs&);

}  // namespace dllm::ref
