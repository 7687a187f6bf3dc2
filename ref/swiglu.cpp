#include <cmath>

#include "ref/ref.h"

namespace dllm::ref {

void swiglu(const SwigluArgs& a) {
  const int64_t n = int64_t(a.rows) * a.dim;
  for (int64_t i = 0; i < n; ++i) {
    const float g = a.gate[i];
    a.out[i] = g / (1.0f + std::exp(-g)) * a.up[i];
  }
}

}  // namespace dllm::ref
