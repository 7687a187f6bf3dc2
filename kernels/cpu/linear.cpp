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
constexpr int kRowBlock = 4;   // weight rows streamed together, once for all tokens
constexpr int kTokenTile = 3;  // tokens of a 2-row register tile: 2 x 3 x 16 lanes = 12 AVX2 registers
// A chunk of the 4 rows (at most 4 KB) is swept over a block of 18 tokens (18 KB of inputs): both
// stay in L1. The rows come from memory for the first token block and from L2 for the others.
constexpr int64_t kChunk = 256;
constexpr int kTokenBlock = 18;

int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Weight rows are read as f32, or as bf16 converted in registers (exact: the bits shifted up), so a
// bf16 weight costs its 2 bytes and one conversion per token tile, never an f32 copy.
inline float to_f32(float w) { return w; }
inline float to_f32(uint16_t w) { return bf16_to_f32(w); }

__attribute__((target("avx2,fma"))) inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
__attribute__((target("avx2,fma"))) inline __m256 load8(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// acc[r * TT + t][0, 16) += the lanes of row w[r] against token x[t] over elements [0, n), n a
// multiple of 16. Same operations in the same order in both ISAs.
template <int R, int TT, typename W>
void tile_portable(const W* const* w, const float* const* x, int64_t n, float* const* acc) {
  for (int64_t i = 0; i < n; i += kLanes)
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t)
        for (int l = 0; l < kLanes; ++l) {
          float& s = acc[r * TT + t][l];
          s = std::fma(to_f32(w[r][i + l]), x[t][i + l], s);
        }
}

template <int R, int TT, typename W>
__attribute__((target("avx2,fma"))) void tile_avx2(const W* const* w, const float* const* x, int64_t n, float* const* acc) {
  __m256 a[R][TT][2];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t)
      for (int h = 0; h < 2; ++h) a[r][t][h] = _mm256_loadu_ps(acc[r * TT + t] + 8 * h);
  for (int64_t i = 0; i < n; i += kLanes)
    for (int h = 0; h < 2; ++h) {
      __m256 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = load8(w[r] + i + 8 * h);
      for (int t = 0; t < TT; ++t) {
        __m256 xv = _mm256_loadu_ps(x[t] + i + 8 * h);
        // Keeps xv in a register: folded into each FMA it would be loaded R times, and the tile
        // would be bound by loads instead of FMAs.
        asm("" : "+x"(xv));
        for (int r = 0; r < R; ++r) a[r][t][h] = _mm256_fmadd_ps(wv[r], xv, a[r][t][h]);
      }
    }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t)
      for (int h = 0; h < 2; ++h) _mm256_storeu_ps(acc[r * TT + t] + 8 * h, a[r][t][h]);
}

template <typename W>
using TileFn = void (*)(const W* const*, const float* const*, int64_t, float* const*);

template <typename W>
struct Tiles {
  TileFn<W> rows2_tokens3;  // the main tile: 6 outputs per pass over a chunk
  TileFn<W> rows4_tokens1;  // tokens left over (and T = 1): 8 independent FMA chains
};

template <typename W>
Tiles<W> tiles_for(Isa isa) {
  if (isa == Isa::avx2) return {tile_avx2<2, kTokenTile, W>, tile_avx2<kRowBlock, 1, W>};
  return {tile_portable<2, kTokenTile, W>, tile_portable<kRowBlock, 1, W>};
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

// The sweep of rows w[0, 4) (o0.. of y) over every token, block by block of tokens.
template <typename W>
void sweep(const LinearArgs& a, Isa isa, const W* const* w, const float* xp, int64_t n, int o0) {
  thread_local std::vector<float> acc;
  const Tiles<W> tiles = tiles_for<W>(isa);
  const int rows = std::min(kRowBlock, a.out - o0), tokens = a.tokens;
  acc.assign(size_t(tokens) * kRowBlock * kLanes, 0.0f);  // [T, 4 rows, 16 lanes]
  const auto lanes = [&](int t, int r) { return &acc[(size_t(t) * kRowBlock + r) * kLanes]; };
  for (int tb = 0; tb < tokens; tb += kTokenBlock) {
    const int te = std::min(tokens, tb + kTokenBlock), full = tb + (te - tb) / kTokenTile * kTokenTile;
    for (int64_t c = 0; c < n; c += kChunk) {
      const int64_t len = std::min(kChunk, n - c);
      const W* wc[kRowBlock] = {w[0] + c, w[1] + c, w[2] + c, w[3] + c};
      for (int t = tb; t < full; t += kTokenTile) {
        const float* xc[kTokenTile];
        for (int j = 0; j < kTokenTile; ++j) xc[j] = xp + int64_t(t + j) * n + c;
        for (int rp = 0; rp < kRowBlock; rp += 2) {
          float* out[2 * kTokenTile];
          for (int r = 0; r < 2; ++r)
            for (int j = 0; j < kTokenTile; ++j) out[r * kTokenTile + j] = lanes(t + j, rp + r);
          tiles.rows2_tokens3(wc + rp, xc, len, out);
        }
      }
      for (int t = full; t < te; ++t) {
        const float* xc = xp + int64_t(t) * n + c;
        float* out[kRowBlock] = {lanes(t, 0), lanes(t, 1), lanes(t, 2), lanes(t, 3)};
        tiles.rows4_tokens1(wc, &xc, len, out);
      }
    }
  }
  for (int t = 0; t < tokens; ++t)
    for (int r = 0; r < rows; ++r) {
      const float bias = a.bias.empty() ? 0.0f : a.bias.at(0, o0 + r);
      a.y[int64_t(t) * a.out + o0 + r] = reduce_lanes(lanes(t, r)) + bias;
    }
}

// Rows [o0, o0 + 4) of y. f32 and bf16 rows are read in place when Din is a multiple of 16 and the
// block is whole; otherwise (f16, odd Din, the last partial block) they are widened to f32 first,
// zero-padded (zero rows past Dout).
void row_block(const LinearArgs& a, Isa isa, const float* xp, int64_t n, int o0) {
  const int rows = std::min(kRowBlock, a.out - o0);
  if (n == a.in && rows == kRowBlock && a.weight.dtype != DType::f16) {
    const int64_t base = int64_t(o0) * n;
    if (a.weight.dtype == DType::f32) {
      const float* p = static_cast<const float*>(a.weight.data) + base;
      const float* w[kRowBlock] = {p, p + n, p + 2 * n, p + 3 * n};
      return sweep(a, isa, w, xp, n, o0);
    }
    const uint16_t* p = static_cast<const uint16_t*>(a.weight.data) + base;
    const uint16_t* w[kRowBlock] = {p, p + n, p + 2 * n, p + 3 * n};
    return sweep(a, isa, w, xp, n, o0);
  }
  thread_local std::vector<float> widened;  // [4, n]
  widened.resize(size_t(kRowBlock * n));
  const float* w[kRowBlock];
  for (int r = 0; r < kRowBlock; ++r) {
    float* dst = widened.data() + r * n;
    if (r < rows) widen_row(a.weight, o0 + r, n, dst);
    else std::fill(dst, dst + n, 0.0f);
    w[r] = dst;
  }
  sweep(a, isa, w, xp, n, o0);
}

}  // namespace

void linear(const LinearArgs& a, Isa isa) {
  const int64_t n = padded(a.in);
  thread_local std::vector<float> xp;  // [T, n] the inputs zero-padded to a multiple of 16
  xp.assign(size_t(a.tokens) * n, 0.0f);
  for (int t = 0; t < a.tokens; ++t) std::copy_n(a.x + int64_t(t) * a.in, a.in, xp.data() + t * n);
  const float* x = xp.data();
  // At least 2^18 multiply-adds per thread's share: smaller work costs less than waking a thread.
  const int64_t min_rows = (int64_t(1) << 18) / std::max<int64_t>(1, int64_t(a.in) * a.tokens);
  const int64_t grain = std::max<int64_t>(1, (min_rows + kRowBlock - 1) / kRowBlock) * kRowBlock;
  parallel_for(a.out, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; o += kRowBlock) row_block(a, isa, x, n, int(o));
  });
}

void linear(const LinearArgs& a) { linear(a, best_isa()); }

}  // namespace dllm::cpu
