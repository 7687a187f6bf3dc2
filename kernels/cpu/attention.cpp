#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/exp.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// The order per output, fixed whatever the pass size, thread or ISA path:
//   score(h, j) = (q_h . k_j as 16 lanes, lane l a chain of fused multiply-adds over d = l, l + 16,
//                  ... < Dh in increasing d, summed by the tree of lanes.h) * scale;
//   p(h, j) = exp(score(h, j) - max over j of score(h, j)), with exp the fixed sequence of IEEE
//             operations of exp_nonpositive (not libm's, whose bits are its own), and denom(h) = the
//             p(h, j) as 16 lanes (lane l: keys l, l + 16, ... added in order) summed by the tree;
//   out_h[d] = (p(h, j) * v_j[d] fused-multiply-added in key order onto 0) / denom(h).
// Keys come in the order of Visibility: cache slots 0..L-1, then the first pass interval, then the
// second. A lane past Dh adds nothing (its loads are masked to zeros: +0 * +0 onto a partial that is
// never -0 leaves it as it is), so Dh need not be a multiple of 16.

// score[h][j] = (the lane tree of q[h] . keys[j]) * scale for h < G, j < n (Dh floats each); q
// [G, Dh], score [G, n]. Each key is used for the G heads while it is in L1.
using ScoresFn = void (*)(const float* q, int group, int dh, const float* const* keys, int n, float scale,
                          float* score);
// p[j] = exp(p[j] - max) in place for j < n; returns their sum (the lanes and the tree).
using SoftmaxFn = float (*)(float* p, int n, float max);
// out[h][0, dh) = the p[h][j] * values[j][0, dh) fused-multiply-added in j order onto 0, for h < G,
// j < n; p [G, n], out [G, Dh]. Each piece of a value row is used for the G heads at once.
using MixFn = void (*)(const float* p, int group, const float* const* values, int n, int dh, float* out);

void scores_portable(const float* q, int group, int dh, const float* const* keys, int n, float scale, float* score) {
  for (int j = 0; j < n; ++j)
    for (int h = 0; h < group; ++h) {
      float lanes[kLanes] = {};
      for (int d = 0; d < dh; ++d) lanes[d % kLanes] = std::fma(q[h * dh + d], keys[j][d], lanes[d % kLanes]);
      score[int64_t(h) * n + j] = reduce_lanes(lanes) * scale;
    }
}

float softmax_portable(float* p, int n, float max) {
  float lanes[kLanes] = {};
  for (int j = 0; j < n; ++j) {
    p[j] = exp_nonpositive(p[j] - max);
    lanes[j % kLanes] += p[j];
  }
  return reduce_lanes(lanes);
}

void mix_portable(const float* p, int group, const float* const* values, int n, int dh, float* out) {
  for (int h = 0; h < group; ++h)
    for (int d = 0; d < dh; ++d) {
      float acc = 0;
      for (int j = 0; j < n; ++j) acc = std::fma(p[int64_t(h) * n + j], values[j][d], acc);
      out[h * dh + d] = acc;
    }
}

// fn(std::integral_constant<int, H>()) for H = min(heads, 8): the weighted sums keep H heads'
// accumulators in registers, so H is a template parameter.
template <typename Fn>
void with_heads(int heads, Fn&& fn) {
  switch (std::min(heads, 8)) {
    case 1:
      return fn(std::integral_constant<int, 1>());
    case 2:
      return fn(std::integral_constant<int, 2>());
    case 3:
      return fn(std::integral_constant<int, 3>());
    case 4:
      return fn(std::integral_constant<int, 4>());
    case 5:
      return fn(std::integral_constant<int, 5>());
    case 6:
      return fn(std::integral_constant<int, 6>());
    case 7:
      return fn(std::integral_constant<int, 7>());
    default:
      return fn(std::integral_constant<int, 8>());
  }
}

// Elements [d, d + 8) of x with those at or past dh read as zero.
__attribute__((target(DLLM_AVX2))) inline __m256 load8_masked(const float* x, int d, int dh) {
  if (d + 8 <= dh) return _mm256_loadu_ps(x + d);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(x + d, _mm256_cmpgt_epi32(_mm256_set1_epi32(dh - d), lane));
}

// Four keys at a time, each as two 8-lane halves (lanes 0-7 and 8-15 of the 16), for every head.
__attribute__((target(DLLM_AVX2))) void scores_avx2(const float* q, int group, int dh, const float* const* keys, int n,
                                                    float scale, float* score) {
  constexpr int kKeys = 4;
  for (int j0 = 0; j0 < n; j0 += kKeys) {
    const int count = std::min(kKeys, n - j0);
    const float* key[kKeys];  // past the last key: the first again, its sums dropped
    for (int k = 0; k < kKeys; ++k) key[k] = keys[j0 + (k < count ? k : 0)];
    for (int h = 0; h < group; ++h) {
      __m256 acc[kKeys][2];
      for (int k = 0; k < kKeys; ++k) acc[k][0] = acc[k][1] = _mm256_setzero_ps();
      for (int d = 0; d < dh; d += kLanes)
        for (int half = 0; half < 2; ++half) {
          const __m256 qv = load8_masked(q + h * dh, d + 8 * half, dh);
          for (int k = 0; k < kKeys; ++k)
            acc[k][half] = _mm256_fmadd_ps(qv, load8_masked(key[k], d + 8 * half, dh), acc[k][half]);
        }
      for (int k = 0; k < count; ++k) {
        float lanes[kLanes];
        _mm256_storeu_ps(lanes, acc[k][0]);
        _mm256_storeu_ps(lanes + 8, acc[k][1]);
        score[int64_t(h) * n + j0 + k] = reduce_lanes(lanes) * scale;
      }
    }
  }
}

// Output elements [d, d + 8) (up to dh) of heads [h0, h0 + Heads) over every key.
template <int Heads>
__attribute__((target(DLLM_AVX2))) void mix8(const float* p, int h0, const float* const* values, int n, int dh, int d,
                                             float* out) {
  __m256 acc[Heads];
  for (int h = 0; h < Heads; ++h) acc[h] = _mm256_setzero_ps();
  for (int j = 0; j < n; ++j) {
    const __m256 v = load8_masked(values[j], d, dh);
    for (int h = 0; h < Heads; ++h) acc[h] = _mm256_fmadd_ps(_mm256_set1_ps(p[int64_t(h0 + h) * n + j]), v, acc[h]);
  }
  for (int h = 0; h < Heads; ++h) {
    float part[8];
    _mm256_storeu_ps(part, acc[h]);
    std::copy_n(part, std::min(8, dh - d), out + (h0 + h) * dh + d);
  }
}

// Eight output elements of up to 8 heads per sweep over the keys.
__attribute__((target(DLLM_AVX2))) void mix_avx2(const float* p, int group, const float* const* values, int n, int dh,
                                                 float* out) {
  for (int h0 = 0; h0 < group; h0 += 8)
    for (int d = 0; d < dh; d += 8) {
      with_heads(group - h0, [&](auto heads) { mix8<heads()>(p, h0, values, n, dh, d, out); });
    }
}

__attribute__((target(DLLM_AVX2))) float softmax_avx2(float* p, int n, float max) {
  __m256 lanes[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  int j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int h = 0; h < 2; ++h) {
      const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + j + 8 * h), _mm256_set1_ps(max)));
      _mm256_storeu_ps(p + j + 8 * h, e);
      lanes[h] = _mm256_add_ps(lanes[h], e);
    }
  float sums[kLanes];
  _mm256_storeu_ps(sums, lanes[0]);
  _mm256_storeu_ps(sums + 8, lanes[1]);
  for (int l = 0; j + l < n; ++l) {  // the last keys, fewer than 16: one lane each, as the portable path
    p[j + l] = exp_nonpositive(p[j + l] - max);
    sums[l] += p[j + l];
  }
  return reduce_lanes(sums);
}

// Elements [d, d + 16) of x with those at or past dh read as zero.
__attribute__((target(DLLM_AVX512))) inline __m512 load16_masked(const float* x, int d, int dh) {
  const int have = std::min(kLanes, dh - d);
  return _mm512_maskz_loadu_ps(__mmask16((1u << have) - 1), x + d);
}

// Sixteen (head, key) sums at a time, one register of 16 lanes each, summed together by
// reduce_lanes16: 16 / Heads keys for Heads heads, so that each piece of a key row is loaded once for
// all of them (one head: 16 loads of keys for 16 multiply-adds; two heads: 8 + 2 for 16). q and score
// point at the first of the Heads heads; score rows are n apart.
template <int Heads>
__attribute__((target(DLLM_AVX512))) void scores16(const float* q, int dh, const float* const* keys, int n, float scale,
                                                   float* score) {
  constexpr int kKeys = kLanes / Heads;
  for (int j0 = 0; j0 < n; j0 += kKeys) {
    const int count = std::min(kKeys, n - j0);
    const float* key[kKeys];  // past the last key: the first again, its sums dropped
    for (int k = 0; k < kKeys; ++k) key[k] = keys[j0 + (k < count ? k : 0)];
    __m512 acc[kLanes];  // [head][key]
    for (__m512& a : acc) a = _mm512_setzero_ps();
    for (int d = 0; d < dh; d += kLanes) {
      __m512 kv[kKeys];
      for (int k = 0; k < kKeys; ++k) kv[k] = load16_masked(key[k], d, dh);
      for (int h = 0; h < Heads; ++h) {
        const __m512 qv = load16_masked(q + h * dh, d, dh);
        for (int k = 0; k < kKeys; ++k) acc[h * kKeys + k] = _mm512_fmadd_ps(qv, kv[k], acc[h * kKeys + k]);
      }
    }
    float sums[kLanes];
    _mm512_storeu_ps(sums, _mm512_mul_ps(reduce_lanes16(acc), _mm512_set1_ps(scale)));
    for (int h = 0; h < Heads; ++h) std::copy_n(sums + h * kKeys, count, score + int64_t(h) * n + j0);
  }
}

// The group's heads in blocks of the largest of 8, 4, 2, 1 heads that divides it.
__attribute__((target(DLLM_AVX512))) void scores_avx512(const float* q, int group, int dh, const float* const* keys,
                                                        int n, float scale, float* score) {
  const int heads = group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
  for (int h0 = 0; h0 < group; h0 += heads) {
    const float* qh = q + int64_t(h0) * dh;
    float* sh = score + int64_t(h0) * n;
    switch (heads) {
      case 8:
        scores16<8>(qh, dh, keys, n, scale, sh);
        break;
      case 4:
        scores16<4>(qh, dh, keys, n, scale, sh);
        break;
      case 2:
        scores16<2>(qh, dh, keys, n, scale, sh);
        break;
      default:
        scores16<1>(qh, dh, keys, n, scale, sh);
    }
  }
}

// Output elements [d, d + 16 Pieces) (all below dh but the last piece's tail) of heads
// [h0, h0 + Heads) over every key: each key's Pieces pieces of its value row are loaded once for the
// Heads heads.
template <int Heads, int Pieces>
__attribute__((target(DLLM_AVX512))) void mix16(const float* p, int h0, const float* const* values, int n, int dh,
                                                int d, float* out) {
  __m512 acc[Heads][Pieces];
  for (auto& row : acc)
    for (__m512& a : row) a = _mm512_setzero_ps();
  for (int j = 0; j < n; ++j) {
    __m512 v[Pieces];
    for (int c = 0; c < Pieces; ++c) v[c] = load16_masked(values[j], d + c * kLanes, dh);
    for (int h = 0; h < Heads; ++h) {
      const __m512 ph = _mm512_set1_ps(p[int64_t(h0 + h) * n + j]);
      for (int c = 0; c < Pieces; ++c) acc[h][c] = _mm512_fmadd_ps(ph, v[c], acc[h][c]);
    }
  }
  for (int h = 0; h < Heads; ++h)
    for (int c = 0; c < Pieces; ++c)
      _mm512_mask_storeu_ps(out + (h0 + h) * dh + d + c * kLanes,
                            __mmask16((1u << std::min(kLanes, dh - d - c * kLanes)) - 1), acc[h][c]);
}

// Up to 8 heads per sweep over the keys, with as many 16-element pieces of the output as fit the
// registers (8 for up to 2 heads, 4 for up to 4, else 2), then the rest piece by piece.
__attribute__((target(DLLM_AVX512))) void mix_avx512(const float* p, int group, const float* const* values, int n,
                                                     int dh, float* out) {
  for (int h0 = 0; h0 < group; h0 += 8)
    with_heads(group - h0, [&](auto heads) {
      constexpr int kHeads = heads(), kPieces = kHeads <= 2 ? 8 : kHeads <= 4 ? 4 : 2;
      int d = 0;
      for (; d + kPieces * kLanes <= dh; d += kPieces * kLanes) mix16<kHeads, kPieces>(p, h0, values, n, dh, d, out);
      for (; d < dh; d += kLanes) mix16<kHeads, 1>(p, h0, values, n, dh, d, out);
    });
}

__attribute__((target(DLLM_AVX512))) float softmax_avx512(float* p, int n, float max) {
  __m512 lanes = _mm512_setzero_ps();
  for (int j = 0; j < n; j += kLanes) {
    const __mmask16 m = __mmask16((1u << std::min(kLanes, n - j)) - 1);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + j), _mm512_set1_ps(max)));
    _mm512_mask_storeu_ps(p + j, m, e);
    lanes = _mm512_mask_add_ps(lanes, m, lanes, e);
  }
  float sums[kLanes];
  _mm512_storeu_ps(sums, lanes);
  return reduce_lanes(sums);
}

struct Paths {
  ScoresFn scores;
  SoftmaxFn softmax;
  MixFn mix;
};

Paths paths_for(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return {scores_avx2, softmax_avx2, mix_avx2};
    case Isa::avx512:
      return {scores_avx512, softmax_avx512, mix_avx512};
    case Isa::portable:
      break;
  }
  return {scores_portable, softmax_portable, mix_portable};
}

// All G query heads of kv head g for token t: the visible keys are listed once for the group.
void token_group(const AttentionArgs& a, const Paths& paths, int t, int g) {
  const int group = a.q_heads / a.kv_heads, dh = a.head_dim;
  const float* q = a.q + (int64_t(t) * a.q_heads + int64_t(g) * group) * dh;  // [G, Dh]
  float* out = a.out + (int64_t(t) * a.q_heads + int64_t(g) * group) * dh;    // [G, Dh]
  thread_local std::vector<const float*> keys, values;                        // [n]
  keys.clear(), values.clear();
  const Visibility& vis = a.vis[t];
  const int64_t row = int64_t(a.kv_heads) * dh, head = int64_t(g) * dh;
  const int64_t seq_base = a.seq ? int64_t(a.seq[t]) * a.seq_stride : 0;
  if (a.kv_dtype == DType::f32) {
    const auto* k_cache = static_cast<const float*>(a.k_cache);
    const auto* v_cache = static_cast<const float*>(a.v_cache);
    for (int j = vis.cache_begin; j < vis.cache_len; ++j)
      keys.push_back(k_cache + seq_base + j * row + head), values.push_back(v_cache + seq_base + j * row + head);
  } else {  // bf16 cache rows widened to f32 first: [cached, 2, Dh]
    thread_local std::vector<float> widened;
    const int cached = std::max(0, vis.cache_len - vis.cache_begin);
    widened.resize(size_t(cached) * 2 * size_t(dh));
    for (int j = 0; j < cached; ++j) {
      float* k = widened.data() + int64_t(j) * 2 * dh;
      const int64_t at = seq_base + (vis.cache_begin + j) * row + head;
      for (int d = 0; d < dh; ++d)
        k[d] = kv_load(a.k_cache, a.kv_dtype, at + d), k[dh + d] = kv_load(a.v_cache, a.kv_dtype, at + d);
      keys.push_back(k), values.push_back(k + dh);
    }
  }
  for (const Interval& iv : {vis.first, vis.second})
    for (int j = iv.begin; j < iv.end; ++j)
      keys.push_back(a.k_pass + j * row + head), values.push_back(a.v_pass + j * row + head);
  const int n = int(keys.size());
  if (n == 0) {  // a query that sees nothing has no defined output; zeros, never NaN
    std::fill(out, out + int64_t(group) * dh, 0.0f);
    return;
  }
  thread_local std::vector<float> p, denom;  // [G, n], [G]
  p.resize(size_t(group) * n), denom.resize(size_t(group));
  paths.scores(q, group, dh, keys.data(), n, a.scale, p.data());
  for (int h = 0; h < group; ++h) {
    float* ph = p.data() + int64_t(h) * n;
    denom[size_t(h)] = paths.softmax(ph, n, *std::max_element(ph, ph + n));
  }
  paths.mix(p.data(), group, values.data(), n, dh, out);
  for (int h = 0; h < group; ++h)
    for (int d = 0; d < dh; ++d) out[h * dh + d] /= denom[size_t(h)];
}

}  // namespace

void attention(const AttentionArgs& a, Isa isa) {
  const Paths paths = paths_for(isa);
  // At least about 2^18 multiply-adds per thread's share (keys estimated from the first token).
  const int64_t keys = int64_t(a.vis[0].cache_len) + a.tokens;
  const int64_t per_item = std::max<int64_t>(1, int64_t(2) * a.q_heads / a.kv_heads * a.head_dim * keys);
  parallel_for(int64_t(a.tokens) * a.kv_heads, std::max<int64_t>(1, (int64_t(1) << 18) / per_item),
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i) token_group(a, paths, int(i / a.kv_heads), int(i % a.kv_heads));
               });
}

void attention(const AttentionArgs& a) { attention(a, best_isa()); }

}  // namespace dllm::cpu
