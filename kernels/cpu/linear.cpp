#include <vector>

#include "kernels/cpu/cpu.h"

namespace dllm::cpu {

namespace {

constexpr int kLanes = 16;

// Dispatched at run time: an AVX2 clone where the CPU has it, the baseline otherwise. Both do the
// same IEEE operations in the same order (lane l accumulates elements l, l+16, ...), so their
// results are bitwise equal.
__attribute__((target_clones("avx2", "default"))) float dot(const float* w, const float* x, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += w[i + l] * x[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += w[i + l] * x[i + l];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

__attribute__((target_clones("avx2", "default"))) void widen_row(const WeightView& w, int64_t row, float* out) {
  const int64_t n = w.cols, base = row * n;
  switch (w.dtype) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<const float*>(w.data)[base + i];
      break;
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(static_cast<const uint16_t*>(w.data)[base + i]);
      break;
    case DType::f16:
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(static_cast<const uint16_t*>(w.data)[base + i]);
      break;
  }
}

}  // namespace

void linear(const LinearArgs& a) {
  thread_local std::vector<float> row;
  row.resize(size_t(a.in));
  for (int o = 0; o < a.out; ++o) {
    widen_row(a.weight, o, row.data());
    const float bias = a.bias.empty() ? 0.0f : a.bias.at(0, o);
    for (int t = 0; t < a.tokens; ++t)
      a.y[int64_t(t) * a.out + o] = dot(row.data(), a.x + int64_t(t) * a.in, a.in) + bias;
  }
}

}  // namespace dllm::cpu
