// exp(x) for x <= 0 as one fixed sequence of IEEE operations, the same on every ISA path (kernels/cpu
// only): attention's softmax and swiglu's sigmoid give the same bits on every path and thread count,
// which libm's expf (its bits are its own) would not promise. Compile users with -ffp-contract=off.
#pragma once
#include <immintrin.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/lanes.h"

namespace dllm::cpu {

// exp(x) for x <= 0: k = x log2(e) rounded to the nearest integer (ties to even), r = x - k ln 2 in
// two fused steps (ln 2 split so that k times its high part is exact), e^r by the degree-7 Taylor
// polynomial in Horner form with fused multiply-adds (|r| <= ln2 / 2: truncation below 1e-8), times
// 2^k; below -87 (e^-87 is about the smallest normal float) 0. Each vector path does these same
// operations lane by lane.
constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693145752f, kLn2Lo = 1.42860677e-6f, kExpFloor = -87.0f;
constexpr float kTaylor[8] = {1.0f, 1.0f, 0.5f, 1.0f / 6, 1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};

inline float exp_nonpositive(float x) {
  if (x < kExpFloor) return 0.0f;
  if (std::isnan(x)) return x;  // as the vector paths give (and int32_t(k) would be undefined)
  const float k = std::nearbyint(x * kLog2e);
  const float r = std::fma(-k, kLn2Lo, std::fma(-k, kLn2Hi, x));
  float poly = kTaylor[7];
  for (int i = 6; i >= 0; --i) poly = std::fma(poly, r, kTaylor[i]);
  return poly * std::bit_cast<float>((int32_t(k) + 127) << 23);
}

// exp_nonpositive on 8 lanes.
__attribute__((target(DLLM_AVX2))) inline __m256 exp8(__m256 x) {
  const __m256 k =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2Lo), _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2Hi), x));
  __m256 poly = _mm256_set1_ps(kTaylor[7]);
  for (int i = 6; i >= 0; --i) poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(kTaylor[i]));
  const __m256i two_k = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(poly, _mm256_castsi256_ps(two_k));
  return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(kExpFloor), _CMP_LT_OQ), e);
}

// exp_nonpositive on 16 lanes.
__attribute__((target(DLLM_AVX512))) inline __m512 exp16(__m512 x) {
  const __m512 k = _mm512_maskz_roundscale_ps(kAll16, _mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Lo), _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Hi), x));
  __m512 poly = _mm512_set1_ps(kTaylor[7]);
  for (int i = 6; i >= 0; --i) poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(kTaylor[i]));
  const __m512i two_k = _mm512_maskz_slli_epi32(
      kAll16, _mm512_add_epi32(_mm512_maskz_cvtps_epi32(kAll16, k), _mm512_set1_epi32(127)), 23);
  const __m512 e = _mm512_mul_ps(poly, _mm512_castsi512_ps(two_k));
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpFloor), _CMP_GE_OQ), e);
}

}  // namespace dllm::cpu
