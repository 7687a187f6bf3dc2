#include "kernels/cpu/probe.h"

#include <immintrin.h>

namespace dllm::cpu {

namespace {

__attribute__((target("avx2"))) float read_sum_avx2(const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0;
  for (float v : lanes) s += v;
  for (; i < n; ++i) s += x[i];
  return s;
}

float read_sum_portable(const float* x, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l];
  float s = 0;
  for (float v : acc) s += v;
  for (; i < n; ++i) s += x[i];
  return s;
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 a[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) a[c] = _mm256_set1_ps(float(c));
  const __m256 m = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kFmaChains; ++c) a[c] = _mm256_fmadd_ps(a[c], m, b);
  __m256 s = a[0];
  for (int c = 1; c < kFmaChains; ++c) s = _mm256_add_ps(s, a[c]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0] + lanes[7];
}

__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 a[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) a[c] = _mm512_set1_ps(float(c));
  const __m512 m = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kFmaChains; ++c) a[c] = _mm512_fmadd_ps(a[c], m, b);
  __m512 s = a[0];
  for (int c = 1; c < kFmaChains; ++c) s = _mm512_add_ps(s, a[c]);
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  return lanes[0] + lanes[15];
}

float fma_loop_portable(int64_t iters) {
  float a[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) a[c] = float(c);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kFmaChains; ++c) a[c] = a[c] * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : a) s += v;
  return s;
}

}  // namespace

// AVX2 loads already reach the memory's bandwidth: the avx512 path reads with them.
float read_sum(const float* x, int64_t n, Isa isa) {
  return isa == Isa::portable ? read_sum_portable(x, n) : read_sum_avx2(x, n);
}

float fma_loop(int64_t iters, Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return fma_loop_avx2(iters);
    case Isa::avx512:
      return fma_loop_avx512(iters);
    case Isa::portable:
      break;
  }
  return fma_loop_portable(iters);
}

int flops_per_fma_round(Isa isa) {
  const int lanes = isa == Isa::avx512 ? 16 : isa == Isa::avx2 ? 8 : 1;
  return kFmaChains * 2 * lanes;
}

}  // namespace dllm::cpu
