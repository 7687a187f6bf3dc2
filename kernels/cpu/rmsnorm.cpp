#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// One row, the same IEEE operations on every path (this file is compiled without contraction):
//   ss = the squares of x as 16 lanes (lane l: x[l]^2, x[l + 16]^2, ... fused-multiply-added in
//        order onto 0), summed by the tree of lanes.h;
//   inv = 1 / sqrt(ss / D + eps);  y[i] = w[i] * (x[i] * inv), as ref::rmsnorm writes it.
// Lanes past D add +0 * +0 to a partial that is never -0: nothing. y may alias x: each x[i] is read
// before y[i] is written.
using RowFn = void (*)(const float* x, const void* w, int dim, float eps, float* y);

inline float inverse_rms(float sum_of_squares, int dim, float eps) {
  return 1.0f / std::sqrt(sum_of_squares / float(dim) + eps);
}

template <DType D>
void row_portable(const float* x, const void* w, int dim, float eps, float* y) {
  float lanes[kLanes] = {};
  for (int i = 0; i < dim; ++i) lanes[i % kLanes] = std::fma(x[i], x[i], lanes[i % kLanes]);
  const float inv = inverse_rms(reduce_lanes(lanes), dim, eps);
  for (int i = 0; i < dim; ++i) y[i] = load_as_f32(D, w, size_t(i)) * (x[i] * inv);
}

template <DType D>
__attribute__((target(DLLM_AVX2))) void row_avx2(const float* x, const void* w, int dim, float eps, float* y) {
  __m256 half[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};  // lanes 0-7 and 8-15
  int i = 0;
  for (; i + kLanes <= dim; i += kLanes)
    for (int h = 0; h < 2; ++h) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * h);
      half[h] = _mm256_fmadd_ps(v, v, half[h]);
    }
  float lanes[kLanes];
  _mm256_storeu_ps(lanes, half[0]);
  _mm256_storeu_ps(lanes + 8, half[1]);
  for (int l = 0; i + l < dim; ++l) lanes[l] = std::fma(x[i + l], x[i + l], lanes[l]);  // the last, one lane each
  const float inv = inverse_rms(reduce_lanes(lanes), dim, eps);
  const __m256 scale = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= dim; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(load8<D>(w, i), _mm256_mul_ps(_mm256_loadu_ps(x + i), scale)));
  for (; i < dim; ++i) y[i] = load_as_f32(D, w, size_t(i)) * (x[i] * inv);
}

template <DType D>
__attribute__((target(DLLM_AVX512))) void row_avx512(const float* x, const void* w, int dim, float eps, float* y) {
  const auto mask = [&](int i) { return dim - i >= kLanes ? kAll16 : __mmask16((1u << (dim - i)) - 1); };
  __m512 acc = _mm512_setzero_ps();
  for (int i = 0; i < dim; i += kLanes) {
    const __m512 v = _mm512_maskz_loadu_ps(mask(i), x + i);
    acc = _mm512_fmadd_ps(v, v, acc);
  }
  float lanes[kLanes];
  _mm512_storeu_ps(lanes, acc);
  const float inv = inverse_rms(reduce_lanes(lanes), dim, eps);
  const __m512 scale = _mm512_set1_ps(inv);
  int i = 0;
  for (; i + kLanes <= dim; i += kLanes)
    _mm512_storeu_ps(y + i, _mm512_mul_ps(load16<D>(w, i), _mm512_mul_ps(_mm512_loadu_ps(x + i), scale)));
  for (; i < dim; ++i) y[i] = load_as_f32(D, w, size_t(i)) * (x[i] * inv);
}

template <DType D>
RowFn row_for(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return row_avx2<D>;
    case Isa::avx512:
      return row_avx512<D>;
    case Isa::portable:
      break;
  }
  return row_portable<D>;
}

RowFn row_for(Isa isa, DType d) {
  switch (d) {
    case DType::f32:
      return row_for<DType::f32>(isa);
    case DType::f16:
      return row_for<DType::f16>(isa);
    case DType::bf16:
      break;
  }
  return row_for<DType::bf16>(isa);
}

}  // namespace

void rmsnorm(const RmsnormArgs& a, Isa isa) {
  const RowFn row = row_for(isa, a.weight.dtype);
  const int dim = a.dim;
  // about 32K elements a chunk: one row of an AR step stays on the calling thread
  parallel_for(a.rows, std::max(1, 32768 / std::max(1, dim)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row(a.x + r * dim, a.weight.data, dim, a.eps, a.y + r * dim);
  });
}

void rmsnorm(const RmsnormArgs& a) { rmsnorm(a, best_isa()); }

}  // namespace dllm::cpu
