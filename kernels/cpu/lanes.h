// The lane layout the CPU kernels share (kernels/cpu only): a sum is kept as 16 lane partials, each a
// chain of fused multiply-adds, and the lanes are summed by one fixed pairwise tree, so every ISA
// path (16 scalar lanes, 2 x 8 AVX2 lanes, 16 AVX-512 lanes) gives the same bits.
// Also the loads of stored weights as f32 lanes.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/dtype.h"

#define DLLM_AVX2 "avx2,fma,f16c"
#define DLLM_AVX512 "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"

namespace dllm::cpu {

constexpr int kLanes = 16;
// Every lane of a 16-lane register: the zero-masked forms of AVX-512 instructions with this mask are
// the unmasked instructions (gcc 12 warns that some unmasked intrinsics read an uninitialised register).
constexpr __mmask16 kAll16 = 0xffff;

// The tree: s[l] += s[l + w] for w = 8, 4, 2, 1; the sum is s[0].
inline float reduce_lanes(const float* lanes) {
  float s[kLanes];
  std::copy_n(lanes, kLanes, s);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) s[l] += s[l + width];
  return s[0];
}

// The same tree for 16 sums at once: lane j of the result is v[j]'s lanes summed. Each step adds,
// for pairs of registers holding 16 / (2w) sums' 2w-lane partials each, lanes [0, w) and [w, 2w) of
// every sum, halving the registers. kTree.lo[step][j] picks lane j's first operand from the pair,
// + w its second. v is overwritten.
struct TreeIndices {
  int32_t lo[4][16];
};
constexpr TreeIndices tree_indices() {
  TreeIndices t{};
  for (int step = 0, w = 8; w >= 1; ++step, w /= 2)
    for (int j = 0; j < 16; ++j) t.lo[step][j] = j / w * 2 * w + j % w;
  return t;
}
inline constexpr TreeIndices kTree = tree_indices();

__attribute__((target(DLLM_AVX512))) inline __m512 reduce_lanes16(__m512 (&v)[kLanes]) {
  for (int step = 0, w = 8, count = kLanes; w >= 1; ++step, w /= 2, count /= 2) {
    const __m512i lo = _mm512_loadu_si512(kTree.lo[step]), hi = _mm512_add_epi32(lo, _mm512_set1_epi32(w));
    for (int m = 0; m < count / 2; ++m)
      v[m] = _mm512_add_ps(_mm512_permutex2var_ps(v[2 * m], lo, v[2 * m + 1]),
                           _mm512_permutex2var_ps(v[2 * m], hi, v[2 * m + 1]));
  }
  return v[0];
}

// Elements [i, i + 8) (AVX2) or [i, i + 16) (AVX-512) of stored weights as f32, converted in
// registers, exactly: f32 as is, bf16 by shifting the bits up, f16 by the hardware conversion.
template <DType D>
__attribute__((target(DLLM_AVX2))) inline __m256 load8(const void* w, int64_t i) {
  if constexpr (D == DType::f32) {
    return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
    if constexpr (D == DType::f16)
      return _mm256_cvtph_ps(h);
    else
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

template <DType D>
__attribute__((target(DLLM_AVX512))) inline __m512 load16(const void* w, int64_t i) {
  if constexpr (D == DType::f32) {
    return _mm512_loadu_ps(static_cast<const float*>(w) + i);
  } else {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + i));
    if constexpr (D == DType::f16)
      return _mm512_maskz_cvtph_ps(kAll16, h);
    else
      return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll16, _mm512_maskz_cvtepu16_epi32(kAll16, h), 16));
  }
}

}  // namespace dllm::cpu
