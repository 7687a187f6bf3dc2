#include <cmath>
#include <vector>

#include "ref/ref.h"

namespace dllm::ref {

// Frequencies and angles are formed in f32 like Hugging Face (inv_freq in f32 from core/rope.h,
// angle = f32(position) * inv_freq), so parity with transformers holds at long positions too; cos
// and sin are then scaled by the scaling's attention_factor in f32 (1 but for yarn), as it does.
void rope_cos_sin(const RopeArgs& a, float* cos_sin) {
  const int half = a.rotary_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));  // of the current length
  for (int t = 0; t < a.tokens; ++t) {
    const int length = a.lengths ? a.lengths[t] : 0;
    if (t == 0 || (a.lengths && length != a.lengths[t - 1]))
      for (int i = 0; i < half; ++i) inv_freq[size_t(i)] = rope_inv_freq(a.theta, a.scaling, i, a.rotary_dim, length);
    for (int i = 0; i < half; ++i) {
      const float angle = float(a.positions[t]) * inv_freq[size_t(i)];
      float* cs = cos_sin + (int64_t(t) * half + i) * 2;
      cs[0] = std::cos(angle) * a.scaling.attention_factor, cs[1] = std::sin(angle) * a.scaling.attention_factor;
    }
  }
}

void rope_rotate(const RopeArgs& a, const float* cos_sin, int first, int count) {
  const int half = a.rotary_dim / 2;
  for (int t = first; t < first + count; ++t)
    for (int h = 0; h < a.heads; ++h) {
      float* x = a.x + (int64_t(t) * a.heads + h) * a.head_dim;
      const float* cs = cos_sin + int64_t(t) * half * 2;
      for (int i = 0; i < half; ++i) {
        const float c = cs[2 * i], s = cs[2 * i + 1], x1 = x[i], x2 = x[i + half];
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
      }
    }
}

void rope(const RopeArgs& a) {
  std::vector<float> cos_sin(size_t(a.tokens) * (a.rotary_dim / 2) * 2);
  rope_cos_sin(a, cos_sin.data());
  rope_rotate(a, cos_sin.data(), 0, a.tokens);
}

}  // namespace dllm::ref
