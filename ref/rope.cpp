#include <cmath>

#include "ref/ref.h"

namespace dllm::ref {

// Frequencies and angles are formed in f32 like Hugging Face (inv_freq in f32 from core/rope.h,
// angle = f32(position) * inv_freq), so parity with transformers holds at long positions too.
void rope(const RopeArgs& a) {
  const int half = a.rotary_dim / 2;
  for (int t = 0; t < a.tokens; ++t) {
    const float pos = float(a.positions[t]);
    for (int i = 0; i < half; ++i) {
      const float inv_freq = rope_inv_freq(a.theta, a.scaling, i, a.rotary_dim);
      const float angle = pos * inv_freq;
      const float c = std::cos(angle), s = std::sin(angle);
      for (int h = 0; h < a.heads; ++h) {
        float* x = a.x + (int64_t(t) * a.heads + h) * a.head_dim;
        const float x1 = x[i], x2 = x[i + half];
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

}  // namespace dllm::ref
