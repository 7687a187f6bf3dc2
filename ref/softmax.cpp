#include <algorithm>
#include <cmath>
#include <limits>

#include "ref/ref.h"

namespace dllm::ref {

template <typename Acc>
void softmax(const SoftmaxArgs& a) {
  for (int r = 0; r < a.rows; ++r) {
    const float* x = a.x + int64_t(r) * a.dim;
    float* y = a.y + int64_t(r) * a.dim;
    Acc max = -std::numeric_limits<Acc>::infinity();
    for (int c = 0; c < a.dim; ++c) max = std::max(max, Acc(x[c]) / Acc(a.temperature));
    Acc denom = 0;
    for (int c = 0; c < a.dim; ++c) denom += std::exp(Acc(x[c]) / Acc(a.temperature) - max);
    for (int c = 0; c < a.dim; ++c) y[c] = float(std::exp(Acc(x[c]) / Acc(a.temperature) - max) / denom);
  }
}

template void softmax<float>(const SoftmaxArgs&);
template void softmax<double>(const SoftmaxArgs&);

}  // namespace dllm::ref
