#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// The cos and sin of every (token, frequency) of one call, [T][R/2][2], computed as ref::rope does,
// and what they were computed for: a forward pass calls rope with the same positions for the
// queries and the keys of every layer.
struct Angles {
  float theta = 0;
  RopeScaling scaling;
  int rotary_dim = 0;
  std::vector<int32_t> positions;
  std::vector<float> cos_sin;
};

const float* angles_for(const RopeArgs& a) {
  thread_local Angles cached;
  const int half = a.rotary_dim / 2;
  if (cached.theta == a.theta && cached.scaling == a.scaling && cached.rotary_dim == a.rotary_dim &&
      std::equal(a.positions, a.positions + a.tokens, cached.positions.begin(), cached.positions.end()))
    return cached.cos_sin.data();
  cached.theta = a.theta, cached.scaling = a.scaling, cached.rotary_dim = a.rotary_dim;
  cached.positions.assign(a.positions, a.positions + a.tokens);
  cached.cos_sin.resize(size_t(a.tokens) * half * 2);
  for (int i = 0; i < half; ++i) {
    const float inv_freq = rope_inv_freq(a.theta, a.scaling, i, a.rotary_dim);
    for (int t = 0; t < a.tokens; ++t) {
      const float angle = float(a.positions[t]) * inv_freq;
      float* cs = &cached.cos_sin[(size_t(t) * half + i) * 2];
      cs[0] = std::cos(angle), cs[1] = std::sin(angle);
    }
  }
  return cached.cos_sin.data();
}

}  // namespace

void rope(const RopeArgs& a) {
  const int half = a.rotary_dim / 2;
  const float* cos_sin = angles_for(a);  // this thread's table (named in the workers, theirs)
  const int64_t per_token = int64_t(a.heads) * half;
  parallel_for(a.tokens, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, per_token)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t t = begin; t < end; ++t)
                   for (int h = 0; h < a.heads; ++h) {
                     float* x = a.x + (t * a.heads + h) * a.head_dim;
                     const float* cs = cos_sin + t * half * 2;
                     for (int i = 0; i < half; ++i) {
                       const float c = cs[2 * i], s = cs[2 * i + 1], x1 = x[i], x2 = x[i + half];
                       x[i] = x1 * c - x2 * s;
                       x[i + half] = x2 * c + x1 * s;
                     }
                   }
               });
}

}  // namespace dllm::cpu
