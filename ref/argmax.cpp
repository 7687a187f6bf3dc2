#include <cmath>

#include "ref/ref.h"

namespace dllm::ref {

void argmax(const ArgmaxArgs& a) {
  for (int r = 0; r < a.rows; ++r) {
    const float* x = a.x + int64_t(r) * a.dim;
    int32_t best = -1, non_finite = 0;
    for (int c = 0; c < a.dim; ++c) {
      non_finite += !std::isfinite(x[c]);
      if (!std::isnan(x[c]) && (best < 0 || x[c] > x[best])) best = c;
    }
    a.index[r] = best < 0 ? 0 : best;
    a.non_finite[r] = non_finite;
  }
}

}  // namespace dllm::ref
