#include "ref/ref.h"

namespace dllm::ref {

void residual_scale(const ResidualScaleArgs& a) {
  for (int t = 0; t < a.tokens; ++t) {
    const float* h = a.h + int64_t(t) * a.dim;
    float* r = a.r + int64_t(t) * a.dim;
    for (int c = 0; c < a.dim; ++c) {
      const float scaled_h = (h[c] + a.h_bias.at(0, c)) * a.h_scale.at(0, c);
      r[c] = a.r_scale.empty() ? scaled_h : scaled_h + (r[c] + a.r_bias.at(0, c)) * a.r_scale.at(0, c);
    }
  }
}

}  // namespace dllm::ref
