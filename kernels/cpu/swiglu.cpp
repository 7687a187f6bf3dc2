#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

void swiglu(const SwigluArgs& a) {
  const int64_t n = int64_t(a.rows) * a.dim;
  const float *gate = a.gate, *up = a.up;
  float* out = a.out;
  parallel_for(n, int64_t(1) << 15, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = gate[i];
      out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
  });
}

}  // namespace dllm::cpu
