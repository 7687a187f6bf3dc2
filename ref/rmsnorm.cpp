#include <cmath>

#include "ref/ref.h"

namespace dllm::ref {

template <typename Acc>
void rmsnorm(const RmsnormArgs& a) {
  for (int r = 0; r < a.rows; ++r) {
    const float* x = a.x + int64_t(r) * a.dim;
    float* y = a.y + int64_t(r) * a.dim;
    Acc sum_sq = 0;
    for (int c = 0; c < a.dim; ++c) sum_sq += Acc(x[c]) * Acc(x[c]);
    // As in Hugging Face: weight * (x * rsqrt(mean(x^2) + eps)).
    const Acc inv = Acc(1) / std::sqrt(sum_sq / Acc(a.dim) + Acc(a.eps));
    for (int c = 0; c < a.dim; ++c) y[c] = float(Acc(a.weight.at(0, c)) * (Acc(x[c]) * inv));
  }
}

template void rmsnorm<float>(const RmsnormArgs&);
template void rmsnorm<double>(const RmsnormArgs&);

}  // namespace dllm::ref
