#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// The per-output order, fixed whatever the pass size, tile or thread: lane l (of 16) accumulates
// w[i] * x[i] for i = l, l + 16, ... in increasing i with fused multiply-adds (inputs zero-padded to
// a multiple of 16), then the lanes are summed by a fixed pairwise tree and the bias is added.
constexpr int kLanes = 16;
constexpr int kRowBlock = 4;   // weight rows widened to f32 together, then streamed once for all tokens
constexpr int kTokenTile = 3;  // tokens of a 2-row register tile: 2 x 3 x 16 lanes = 12 AVX2 registers
constexpr int64_t kChunk = 512;  // elements of a row per pass over the tokens: 4 rows x 2 KB stay in L1

int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// acc[r * TT + t][0, 16) += the lanes of row w[r] against token x[t] over elements [0, n), n a
// multiple of 16. Same operations in the same order in both ISAs.
template <int R, int TT>
void tile_portable(const float* const* w, const float* const* x, int64_t n, float* const* acc) {
  for (int64_t i = 0; i < n; i += kLanes)
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t)
        for (int l = 0; l < kLanes; ++l) {
          float& s = acc[r * TT + t][l];
          s = std::fma(w[r][i + l], x[t][i + l], s);
        }
}

template <int R, int TT>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* const* w, const float* const* x, int64_t n, float* const* acc) {
  __m256 a[R][TT][2];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t)
      for (int h = 0; h < 2; ++h) a[r][t][h] = _mm256_loadu_ps(acc[r * TT + t] + 8 * h);
  for (int64_t i = 0; i < n; i += kLanes)
    for (int h = 0; h < 2; ++h) {
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_ps(w[r] + i + 8 * h);
      for (int t = 0; t < TT; ++t) {
        const __m256 xv = _mm256_loadu_ps(x[t] + i + 8 * h);
        for (int r = 0; r < R; ++r) a[r][t][h] = _mm256_fmadd_ps(wv[r], xv, a[r][t][h]);
      }
    }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t)
      for (int h = 0; h < 2; ++h) _mm256_storeu_ps(acc[r * TT + t] + 8 * h, a[r][t][h]);
}

using TileFn = void (*)(const float* const*, const float* const*, int64_t, float* const*);

struct Tiles {
  TileFn rows2_tokens3;  // the main tile: 6 outputs per pass over a chunk
  TileFn rows4_tokens1;  // tokens left over (and T = 1): 8 independent FMA chains
};

Tiles tiles_for(Isa isa) {
  if (isa == Isa::avx2) return {tile_avx2<2, kTokenTile>, tile_avx2<kRowBlock, 1>};
  return {tile_portable<2, kTokenTile>, tile_portable<kRowBlock, 1>};
}

float reduce_lanes(const float* lanes) {
  float s[kLanes];
  std::copy_n(lanes, kLanes, s);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) s[l] += s[l + width];
  return s[0];
}

// out[0, n) = row `row` of w as f32, zero-padded to `padded_n`. Exact in every dtype and ISA.
__attribute__((target_clones("avx2", "default"))) void widen_row(const WeightView& w, int64_t row, int64_t padded_n,
                                                                float* out) {
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
  std::fill(out + n, out + padded_n, 0.0f);
}

// Rows [o0, o0 + 4) of y for every token: the rows are widened once (or read in place when f32 and
// already padded), then each chunk of them is swept over all tokens while it sits in L1.
void row_block(const LinearArgs& a, const Tiles& tiles, const float* xp, int64_t n, int o0) {
  thread_local std::vector<float> widened, acc;
  const int rows = std::min(kRowBlock, a.out - o0), tokens = a.tokens;
  const float* w[kRowBlock];
  const bool in_place = a.weight.dtype == DType::f32 && n == a.in;
  widened.resize(size_t(kRowBlock * n));
  for (int r = 0; r < kRowBlock; ++r) {
    float* dst = widened.data() + r * n;
    if (r >= rows) std::fill(dst, dst + n, 0.0f);
    else if (!in_place) widen_row(a.weight, o0 + r, n, dst);
    w[r] = r < rows && in_place ? static_cast<const float*>(a.weight.data) + int64_t(o0 + r) * n : dst;
  }
  acc.assign(size_t(tokens) * kRowBlock * kLanes, 0.0f);  // [T, 4 rows, 16 lanes]
  const auto lanes = [&](int t, int r) { return &acc[(size_t(t) * kRowBlock + r) * kLanes]; };
  const int full = tokens / kTokenTile * kTokenTile;
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t len = std::min(kChunk, n - c);
    const float* wc[kRowBlock] = {w[0] + c, w[1] + c, w[2] + c, w[3] + c};
    for (int t = 0; t < full; t += kTokenTile) {
      const float* xc[kTokenTile];
      for (int j = 0; j < kTokenTile; ++j) xc[j] = xp + int64_t(t + j) * n + c;
      for (int rp = 0; rp < kRowBlock; rp += 2) {
        float* out[2 * kTokenTile];
        for (int r = 0; r < 2; ++r)
          for (int j = 0; j < kTokenTile; ++j) out[r * kTokenTile + j] = lanes(t + j, rp + r);
        tiles.rows2_tokens3(wc + rp, xc, len, out);
      }
    }
    for (int t = full; t < tokens; ++t) {
      const float* xc = xp + int64_t(t) * n + c;
      float* out[kRowBlock] = {lanes(t, 0), lanes(t, 1), lanes(t, 2), lanes(t, 3)};
      tiles.rows4_tokens1(wc, &xc, len, out);
    }
  }
  for (int t = 0; t < tokens; ++t)
    for (int r = 0; r < rows; ++r) {
      const float bias = a.bias.empty() ? 0.0f : a.bias.at(0, o0 + r);
      a.y[int64_t(t) * a.out + o0 + r] = reduce_lanes(lanes(t, r)) + bias;
    }
}

}  // namespace

void linear(const LinearArgs& a, Isa isa) {
  const int64_t n = padded(a.in);
  thread_local std::vector<float> xp;  // [T, n] the inputs zero-padded to a multiple of 16
  xp.assign(size_t(a.tokens) * n, 0.0f);
  for (int t = 0; t < a.tokens; ++t) std::copy_n(a.x + int64_t(t) * a.in, a.in, xp.data() + t * n);
  const Tiles tiles = tiles_for(isa);
  const float* x = xp.data();
  parallel_for(a.out, kRowBlock, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; o += kRowBlock) row_block(a, tiles, x, n, int(o));
  });
}

void linear(const LinearArgs& a) { linear(a, best_isa()); }

}  // namespace dllm::cpu
