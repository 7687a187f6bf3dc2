#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"
#include "ref/ref.h"

namespace dllm::cpu {

namespace {

// The cos and sin of every (token, frequency) of one call, [T][R/2][2] (ref::rope_cos_sin), and what
// they were computed for: a forward pass calls rope with the same positions (and lengths) for the
// queries and the keys of every layer.
struct Angles {
  float theta = 0;
  RopeScaling scaling;
  int rotary_dim = 0;
  std::vector<int32_t> positions, lengths;
  std::vector<float> cos_sin;
};

const float* angles_for(const RopeArgs& a) {
  thread_local Angles cached;
  const int32_t* lengths_end = a.lengths ? a.lengths + a.tokens : nullptr;  // no lengths: an empty range
  if (cached.theta == a.theta && cached.scaling == a.scaling && cached.rotary_dim == a.rotary_dim &&
      std::equal(a.positions, a.positions + a.tokens, cached.positions.begin(), cached.positions.end()) &&
      std::equal(a.lengths, lengths_end, cached.lengths.begin(), cached.lengths.end()))
    return cached.cos_sin.data();
  cached.theta = a.theta, cached.scaling = a.scaling, cached.rotary_dim = a.rotary_dim;
  cached.positions.assign(a.positions, a.positions + a.tokens);
  cached.lengths.assign(a.lengths, lengths_end);
  cached.cos_sin.resize(size_t(a.tokens) * (a.rotary_dim / 2) * 2);
  ref::rope_cos_sin(a, cached.cos_sin.data());
  return cached.cos_sin.data();
}

}  // namespace

void rope(const RopeArgs& a) {
  const float* cos_sin = angles_for(a);  // this thread's table (named in the workers, theirs)
  const int64_t per_token = int64_t(a.heads) * (a.rotary_dim / 2);
  parallel_for(a.tokens, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, per_token)),
               [&](int64_t begin, int64_t end) { ref::rope_rotate(a, cos_sin, int(begin), int(end - begin)); });
}

}  // namespace dllm::cpu
