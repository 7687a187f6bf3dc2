#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/exp.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// out[i] = silu(gate[i]) * up[i] for i < n, as the same IEEE operations on every path (this file is
// compiled without contraction):
//   e = exp_nonpositive(-|g|)            (exp.h; never overflows, whatever the sign of g)
//   silu(g) = (g < 0 ? g * e : g) / (1 + e)
//   out = silu(g) * up
// which is g / (1 + exp(-g)) of ref::swiglu, rewritten so that exp only sees x <= 0.
using SwigluFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

inline float swiglu_one(float g, float u) {
  const float e = exp_nonpositive(-std::fabs(g));
  return (g < 0.0f ? g * e : g) / (1.0f + e) * u;
}

void swiglu_portable(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = swiglu_one(gate[i], up[i]);
}

__attribute__((target(DLLM_AVX2))) void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp8(_mm256_or_ps(g, sign));  // -|g|
    const __m256 negative = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 num = _mm256_blendv_ps(g, _mm256_mul_ps(g, e), negative);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(num, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = swiglu_one(gate[i], up[i]);
}

__attribute__((target(DLLM_AVX512))) void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = n - i >= kLanes ? kAll16 : __mmask16((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp16(_mm512_or_ps(g, sign));  // -|g|
    const __mmask16 negative = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_mul_ps(g, negative, g, e);
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_mul_ps(_mm512_div_ps(num, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

SwigluFn path_for(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return swiglu_avx2;
    case Isa::avx512:
      return swiglu_avx512;
    case Isa::portable:
      break;
  }
  return swiglu_portable;
}

}  // namespace

void swiglu(const SwigluArgs& a, Isa isa) {
  const SwigluFn fn = path_for(isa);
  parallel_for(int64_t(a.rows) * a.dim, int64_t(1) << 14,
               [&](int64_t begin, int64_t end) { fn(a.gate + begin, a.up + begin, a.out + begin, end - begin); });
}

void swiglu(const SwigluArgs& a) { swiglu(a, best_isa()); }

}  // namespace dllm::cpu
