#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/lanes.h"
#include "kernels/cpu/threads.h"

namespace dllm::cpu {

namespace {

// The per-output order, fixed whatever the pass size, block, tile, thread or ISA: lane l (of 16)
// accumulates w[i] * x[i] for i = l, l + 16, ... in increasing i with fused multiply-adds (inputs
// zero-padded to a multiple of 16), then the lanes are summed by a fixed pairwise tree and the bias
// is added. Blocking on K only splits these chains into consecutive pieces; it never reorders them.
static_assert(kTileCols == kLanes, "a piece of the tiles layout is one register of lanes");
// Up to kStreamTokens tokens (AR) a pass is memory-bound: register tiles read the weight rows in
// place, converted in registers, each row once from memory for every token. Above, a pass is blocked
// on K: a block of 16 rows is swept over every token one chunk of columns at a time, read in place
// from the tiles layout (see row_block) or, from the rows layout, widened to f32 once per pass into a
// panel of 16 rows x the chunk. The chunk is the ISA's (Kernels::chunk_cols): with the next chunk
// prefetched (next_chunk), AVX-512's 4 x 6 tiles run fastest over whole rows up to 4096 columns (one
// thread, 8192 x 4096 bf16, 64 tokens: 99 GFLOP/s against 84 at 512 columns: a quarter of the tile
// calls, each loading and storing its accumulators once), while AVX2's 2 x 3 tiles, which read more
// inputs per multiply-add, need their inputs (3 x 2 KB) in L1: 512 columns (63 against 55 GFLOP/s).
constexpr int kPanelRows = 16;
constexpr int kStreamTokens = 4;
static_assert(kPanelRows == kLanes, "the AVX-512 reduction sums a panel's 16 rows in one register");

int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Scratch (packed inputs, panels, accumulators) on cache-line boundaries: a 64-byte load that
// straddles two lines costs two (8 % of a 64-token pass).
template <typename T>
struct LineAligned {
  using value_type = T;
  LineAligned() = default;
  template <typename U>
  LineAligned(const LineAligned<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const LineAligned&) const { return true; }
};
template <typename T>
using Scratch = std::vector<T, LineAligned<T>>;

const void* advance(const void* p, DType d, int64_t elements) {
  return static_cast<const char*>(p) + elements * int64_t(dtype_size(d));
}

// Where element i of a row piece is, from its first: the row's 16-column pieces lie `step` elements
// apart (16 in the rows layout, 64 in the tiles layout of core/dtype.h).
inline int64_t offset(int64_t i, int64_t step) { return i / kLanes * step + i % kLanes; }

// out[0, count) = elements [0, count) of the row piece at p (dtype d, pieces `step` apart) as f32:
// exact, the same bits in every ISA. The vector paths also prefetch the same elements of the piece
// at next, the one the next panel will take from this row: it arrives while the current panel is
// swept, not when the next one is widened. Into L2, not L1: the sweep fills L1 with the panel and
// the inputs and would evict it first (L1 measured 8 % slower on a 64-token pass).
using WidenFn = void (*)(DType d, const void* p, int64_t step, int64_t count, float* out, const void* next);

void widen_portable(DType d, const void* p, int64_t step, int64_t count, float* out, const void* /*next*/) {
  for (int64_t i = 0; i < count; ++i) out[i] = load_as_f32(d, p, size_t(offset(i, step)));
}

template <DType D>
__attribute__((target(DLLM_AVX2))) void widen8(const void* p, int64_t step, int64_t count, float* out,
                                               const void* next) {
  const int64_t vec = count / 8 * 8;
  for (int64_t i = 0; i < vec; i += 8) {
    _mm_prefetch(static_cast<const char*>(advance(next, D, offset(i, step))), _MM_HINT_T1);
    _mm256_storeu_ps(out + i, load8<D>(p, offset(i, step)));
  }
  for (int64_t i = vec; i < count; ++i) out[i] = load_as_f32(D, p, size_t(offset(i, step)));
}

template <DType D>
__attribute__((target(DLLM_AVX512))) void widen16(const void* p, int64_t step, int64_t count, float* out,
                                                  const void* next) {
  const int64_t vec = count / 16 * 16;
  for (int64_t i = 0; i < vec; i += 16) {
    _mm_prefetch(static_cast<const char*>(advance(next, D, offset(i, step))), _MM_HINT_T1);
    _mm512_storeu_ps(out + i, load16<D>(p, offset(i, step)));
  }
  for (int64_t i = vec; i < count; ++i) out[i] = load_as_f32(D, p, size_t(offset(i, step)));
}

void widen_avx2(DType d, const void* p, int64_t step, int64_t count, float* out, const void* next) {
  switch (d) {
    case DType::f32:
      return widen8<DType::f32>(p, step, count, out, next);
    case DType::f16:
      return widen8<DType::f16>(p, step, count, out, next);
    case DType::bf16:
      return widen8<DType::bf16>(p, step, count, out, next);
  }
}

void widen_avx512(DType d, const void* p, int64_t step, int64_t count, float* out, const void* next) {
  switch (d) {
    case DType::f32:
      return widen16<DType::f32>(p, step, count, out, next);
    case DType::f16:
      return widen16<DType::f16>(p, step, count, out, next);
    case DType::bf16:
      return widen16<DType::bf16>(p, step, count, out, next);
  }
}

// Where a tile reads its weights: element (r, i) of the tile's R rows (i a multiple of 16 plus a
// lane) is at w + r * row + i / 16 * step + i % 16 elements: row = Din, step = 16 for the rows layout
// (and for an f32 panel, row = its width); row = 16, step = 64 for the tiles layout. `ahead` > 0: the
// tile also prefetches the same columns `ahead` elements on: the next R rows of the rows layout,
// whose short row streams (2 KB for 1024 bf16) end before the hardware prefetcher ramps up, and in
// the tiles layout the next chunk of a blocked pass (next_chunk).
struct TileWeights {
  const void* w;
  int64_t row, step, ahead;
};

// Element (r, c) of stored weights.
const void* stored(const WeightView& w, int64_t r, int64_t c) { return advance(w.data, w.dtype, w.index(r, c)); }

// How far apart a stored row's pieces of 16 columns lie (core/dtype.h).
int64_t piece_step(const WeightView& w) { return w.layout == WeightLayout::tiles ? kTileRows * kTileCols : kLanes; }

// The tiles reading rows [r, r + R) in place from column c (R within one group of the tiles layout);
// in the rows layout prefetching the same columns `ahead_rows` rows on (none: 0).
TileWeights in_place_weights(const WeightView& w, int64_t r, int64_t c, int64_t ahead_rows) {
  const bool tiled = w.layout == WeightLayout::tiles;
  return {stored(w, r, c), tiled ? kTileCols : w.cols, piece_step(w), tiled ? 0 : ahead_rows * w.cols};
}

// In the tiles layout, elements from (r, c) to where rows [r, r + 4) continue in the next chunk of
// `cols` columns, or after the last chunk to the first chunk of the rows a block (16) on: what the
// first tile of tokens over a chunk of a blocked pass prefetches, so that it is in cache when the next
// chunk starts (not when streamed: at T <= 4 it costs a third of the bandwidth).
// A block's chunk is four streams (4 KB each for 512 bf16 columns), which the hardware prefetcher follows too late
// (measured on one thread: 1.2x on a 16-token pass, 1.07x at 64; the bf16-dot tiles alike). Past the
// matrix, a prefetch is dropped. Tiles prefetch into L2, not L1: the next chunk is as large as the
// one being swept and would evict it (one thread, 8192 x 4096 bf16, 16 tokens: 7.1 ms against 10.0
// for the bf16-dot tiles, 11.0 against 13.3 for the f32 ones).
int64_t next_chunk(const WeightView& w, int64_t r, int64_t c, int64_t cols) {
  return (c + cols < w.cols ? w.index(r, c + cols) : w.index(r + kPanelRows, 0)) - w.index(r, c);
}

// A register tile: for r < R, t < TT, acc[t * ldacc + r * 16 + l] (taken as 0 where `fresh`: the
// first chunk, so no pass clears its accumulators first) += w(r, i) * x[t * ldx + i] over
// i = l, l + 16, ... < n (n a multiple of 16), one fused multiply-add per term in increasing i, with
// w(r, i) as TileWeights places it, of dtype D: the weights in place (memory-bound, AR) or a panel
// of them widened to f32.
using TileFn = void (*)(const TileWeights& w, const float* x, int64_t ldx, int64_t n, float* acc, int64_t ldacc,
                        bool fresh);

template <DType D, int R, int TT>
struct PortableTile {
  static void run(const TileWeights& w, const float* x, int64_t ldx, int64_t n, float* acc, int64_t ldacc, bool fresh) {
    for (int t = 0; t < TT && fresh; ++t) std::fill_n(acc + t * ldacc, R * kLanes, 0.0f);
    for (int64_t i = 0; i < n; i += kLanes)
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < TT; ++t)
          for (int l = 0; l < kLanes; ++l) {
            float& s = acc[t * ldacc + r * kLanes + l];
            s = std::fma(load_as_f32(D, w.w, size_t(r * w.row + i / kLanes * w.step + l)), x[t * ldx + i + l], s);
          }
  }
};

// 16 lanes as two 8-lane halves; R = 2, TT <= 3: 12 accumulators of the 16 registers (R = 4, TT = 1: 8).
template <DType D, int R, int TT>
struct Avx2Tile {
  __attribute__((target(DLLM_AVX2))) static void run(const TileWeights& w, const float* x, int64_t ldx, int64_t n,
                                                     float* acc, int64_t ldacc, bool fresh) {
    __m256 a[R][TT][2];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t)
        for (int h = 0; h < 2; ++h)
          a[r][t][h] = fresh ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + t * ldacc + r * kLanes + 8 * h);
    for (int64_t i = 0; i < n; i += kLanes)
      for (int h = 0; h < 2; ++h) {
        const int64_t piece = i / kLanes * w.step;
        __m256 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = load8<D>(w.w, r * w.row + piece + 8 * h);
        if (w.ahead && h == 0)
          for (int r = 0; r < R; ++r)
            _mm_prefetch(static_cast<const char*>(advance(w.w, D, w.ahead + r * w.row + piece)), _MM_HINT_T1);
        for (int t = 0; t < TT; ++t) {
          __m256 xv = _mm256_loadu_ps(x + t * ldx + i + 8 * h);
          // Keeps xv in a register: folded into each FMA it would be loaded R times, and the tile
          // would be bound by loads instead of FMAs.
          asm("" : "+x"(xv));
          for (int r = 0; r < R; ++r) a[r][t][h] = _mm256_fmadd_ps(wv[r], xv, a[r][t][h]);
        }
      }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t)
        for (int h = 0; h < 2; ++h) _mm256_storeu_ps(acc + t * ldacc + r * kLanes + 8 * h, a[r][t][h]);
  }
};

// 16 lanes in one register; R = 4, TT <= 6: 24 accumulators, 4 weights and 1 input of the 32.
template <DType D, int R, int TT>
struct Avx512Tile {
  __attribute__((target(DLLM_AVX512))) static void run(const TileWeights& w, const float* x, int64_t ldx, int64_t n,
                                                       float* acc, int64_t ldacc, bool fresh) {
    __m512 a[R][TT];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t)
        a[r][t] = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + t * ldacc + r * kLanes);
    for (int64_t i = 0; i < n; i += kLanes) {
      const int64_t piece = i / kLanes * w.step;
      __m512 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = load16<D>(w.w, r * w.row + piece);
      if (w.ahead)
        for (int r = 0; r < R; ++r)
          _mm_prefetch(static_cast<const char*>(advance(w.w, D, w.ahead + r * w.row + piece)), _MM_HINT_T1);
      for (int t = 0; t < TT; ++t) {
        __m512 xv = _mm512_loadu_ps(x + t * ldx + i);
        asm("" : "+v"(xv));  // as in Avx2Tile
        for (int r = 0; r < R; ++r) a[r][t] = _mm512_fmadd_ps(wv[r], xv, a[r][t]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t) _mm512_storeu_ps(acc + t * ldacc + r * kLanes, a[r][t]);
  }
};

// y[r] = the lanes acc[r * 16, r * 16 + 16) summed by the pairwise tree (s[l] += s[l + w] for
// w = 8, 4, 2, 1), plus bias[r], for r < rows <= 16; acc holds 16 rows.
using ReduceFn = void (*)(const float* acc, int rows, const float* bias, float* y);

void reduce_rows(const float* acc, int rows, const float* bias, float* y) {
  for (int r = 0; r < rows; ++r) y[r] = reduce_lanes(acc + r * kLanes) + bias[r];
}

// The same tree for 16 rows at once (lanes.h).
__attribute__((target(DLLM_AVX512))) void reduce_rows_avx512(const float* acc, int rows, const float* bias, float* y) {
  __m512 v[kLanes];
  for (int r = 0; r < kLanes; ++r) v[r] = _mm512_loadu_ps(acc + r * kLanes);
  _mm512_mask_storeu_ps(y, __mmask16((1u << rows) - 1), _mm512_add_ps(reduce_lanes16(v), _mm512_loadu_ps(bias)));
}

constexpr int kMaxTileTokens = 6;
using TileRow = std::array<TileFn, kMaxTileTokens + 1>;  // [tt]: the R x tt tile, tt = 1 .. tokens

// One ISA's pieces: register tiles of `rows` x tt for tt = 1 .. `tokens`, by the dtype they read
// (f32, f16, bf16): the weights in place, or an f32 panel; the columns of a blocked pass's chunk.
struct Kernels {
  int rows, tokens;
  int64_t chunk_cols;
  std::array<TileRow, 3> tiles;
  WidenFn widen;
  ReduceFn reduce;
};

template <template <DType, int, int> class Tile, DType D, int R, int... TT>
TileRow tile_row(std::integer_sequence<int, TT...>) {
  return {nullptr, &Tile<D, R, TT + 1>::run...};
}

template <template <DType, int, int> class Tile, int R, int Tokens>
Kernels make_kernels(int64_t chunk_cols, WidenFn widen, ReduceFn reduce) {
  static_assert(kTileRows % R == 0, "a register tile's rows lie within one group of the tiles layout");
  const auto tts = std::make_integer_sequence<int, Tokens>();
  return {R,
          Tokens,
          chunk_cols,
          {tile_row<Tile, DType::f32, R>(tts), tile_row<Tile, DType::f16, R>(tts), tile_row<Tile, DType::bf16, R>(tts)},
          widen,
          reduce};
}

// The pieces for a pass of `tokens`. AVX2 decodes (T = 1) with 4 x 1 tiles: a 2-row tile reads a
// group of the tiles layout in two passes, every other line each (2 threads, 8192 x 4096 bf16: 1.8x
// the time of the rows layout, read as 2 row streams; the same at 4 rows).
const Kernels& kernels_for(Isa isa, int tokens) {
  static const Kernels portable = make_kernels<PortableTile, 2, 3>(512, widen_portable, reduce_rows);
  static const Kernels avx2 = make_kernels<Avx2Tile, 2, 3>(512, widen_avx2, reduce_rows);
  static const Kernels avx2_decode = make_kernels<Avx2Tile, 4, 1>(512, widen_avx2, reduce_rows);
  static const Kernels avx512 = make_kernels<Avx512Tile, 4, kMaxTileTokens>(4096, widen_avx512, reduce_rows_avx512);
  switch (isa) {
    case Isa::avx2:
      return tokens == 1 ? avx2_decode : avx2;
    case Isa::avx512:
      return avx512;
    case Isa::portable:
      break;
  }
  return portable;
}

// The inputs as the tiles read them: chunk j of `cols` columns of token t is x + j * chunk + t * ldx.
// Streamed (T <= 4, Din a multiple of 16): x itself, one chunk of whole rows. Blocked: packed as
// [chunks][T][chunk columns] and zero-padded past Din, so that a chunk's inputs are one contiguous
// block (with 512-column chunks token rows 2 KB apart: rows Din floats apart would fall into the same
// L1 sets).
struct Inputs {
  const float* x;
  int64_t cols, ldx, chunk;
};

// Outputs [o0, o0 + rows) of every token, rows <= kPanelRows. Whole register tiles of rows are read
// in place when streamed, and for every T from the tiles layout (with Din a multiple of 16): a
// group's chunk is one contiguous block that stays in cache while the tokens sweep it, and
// converting it in registers again per tile of tokens costs less than a panel (1.2x on a 16-token
// pass, the same at 64). Otherwise the rows are widened into a panel, chunk by chunk.
void row_block(const LinearArgs& a, const Kernels& k, const Inputs& in, bool streamed, int o0, int rows) {
  thread_local Scratch<float> panel, acc;
  const WeightView& wv = a.weight;
  const int tokens = a.tokens, groups = (rows + k.rows - 1) / k.rows;
  const int64_t n = padded(a.in), cols = in.cols, ldacc = kPanelRows * kLanes;
  const bool in_place = (streamed || (wv.layout == WeightLayout::tiles && n == a.in)) && rows % k.rows == 0;
  acc.resize(size_t(tokens) * ldacc);  // [T, 16 rows, 16 lanes]: the tiles' rows start fresh at c = 0
  for (int t = 0; t < tokens && groups * k.rows < kPanelRows; ++t)
    std::fill(&acc[t * ldacc + groups * k.rows * kLanes], &acc[(t + 1) * ldacc], 0.0f);
  for (int64_t c = 0; c < n; c += cols) {
    const int64_t len = std::min(cols, n - c);
    const float* x = in.x + c / cols * in.chunk;
    if (!in_place) {  // the panel [groups * k.rows, cols]; zero past Din and past the last row
      panel.resize(size_t(kPanelRows * cols));
      const int64_t real = std::clamp<int64_t>(a.in - c, 0, len);
      for (int r = 0; r < groups * k.rows; ++r) {
        float* dst = panel.data() + r * cols;
        const int64_t have = r < rows ? real : 0;
        // The next panel: this row's next chunk, or after the last one the first chunk of the row
        // 16 rows on (the next block: past the matrix, a prefetch is dropped, never a fault).
        const void* next = c + cols < n ? stored(wv, o0 + r, c + cols) : stored(wv, o0 + r + kPanelRows, 0);
        if (have > 0) k.widen(wv.dtype, stored(wv, o0 + r, c), piece_step(wv), have, dst, next);
        std::fill(dst + have, dst + len, 0.0f);
      }
    }
    const TileRow& tile = k.tiles[int(in_place ? wv.dtype : DType::f32)];
    for (int t = 0; t < tokens; t += k.tokens) {
      const int tt = std::min(k.tokens, tokens - t);
      for (int g = 0; g < groups; ++g) {
        TileWeights w = in_place ? in_place_weights(wv, o0 + g * k.rows, c, streamed ? k.rows : 0)
                                 : TileWeights{panel.data() + g * k.rows * cols, cols, kLanes, 0};
        if (!streamed && in_place && wv.layout == WeightLayout::tiles && t == 0)
          w.ahead = next_chunk(wv, o0 + g * k.rows, c, cols);
        tile[tt](w, x + t * in.ldx, in.ldx, len, acc.data() + int64_t(t) * ldacc + g * k.rows * kLanes, ldacc, c == 0);
      }
    }
  }
  float bias[kPanelRows] = {};
  for (int r = 0; r < rows && !a.bias.empty(); ++r) bias[r] = a.bias.at(0, o0 + r);
  for (int t = 0; t < tokens; ++t) k.reduce(&acc[t * ldacc], rows, bias, a.y + int64_t(t) * a.out + o0);
}

}  // namespace

namespace {

// linear's reading of a tiles layout: whole groups of rows and whole pieces of Din.
void check_layout(const LinearArgs& a) {
  DLLM_CHECK(a.weight.layout == WeightLayout::rows || (a.weight.rows % kTileRows == 0 && a.in % kTileCols == 0),
             "linear: weights in the tiles layout need rows a multiple of ", kTileRows, " and Din a multiple of ",
             kTileCols);
}

// block(o0, rows) for the output rows in blocks of 16, split over the threads only where each share
// has at least 2^18 multiply-adds: smaller work costs less than waking a thread.
template <typename Block>
void for_row_blocks(const LinearArgs& a, const Block& block) {
  const int64_t min_rows = (int64_t(1) << 18) / std::max<int64_t>(1, int64_t(a.in) * a.tokens);
  const int64_t grain = std::max<int64_t>(1, (min_rows + kPanelRows - 1) / kPanelRows) * kPanelRows;
  parallel_for(a.out, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; o += kPanelRows) block(int(o), int(std::min<int64_t>(kPanelRows, end - o)));
  });
}

}  // namespace

bool tileable(const WeightView& w) {
  return w.layout == WeightLayout::rows && !w.empty() && w.rows % kTileRows == 0 && w.cols % kTileCols == 0;
}

WeightView tile_weights(const WeightView& w, void* dst) {
  DLLM_CHECK(tileable(w), "tile_weights: a [", w.rows, ", ", w.cols,
             "] matrix in the rows layout needs rows a multiple of ", kTileRows, " and columns a multiple of ",
             kTileCols);
  WeightView t = w;
  t.data = dst, t.layout = WeightLayout::tiles;
  const size_t element = dtype_size(w.dtype), piece = kTileCols * element;
  const auto* src = static_cast<const uint8_t*>(w.data);
  auto* out = static_cast<uint8_t*>(dst);
  parallel_for(w.rows, kTileRows * 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c = 0; c < w.cols; c += kTileCols)
        std::memcpy(out + t.index(r, c) * element, src + (r * w.cols + c) * element, piece);
  });
  return t;
}

void linear(const LinearArgs& a, Isa isa) {
  check_layout(a);
  const Kernels& k = kernels_for(isa, a.tokens);
  const int64_t n = padded(a.in);
  const bool streamed = a.tokens <= kStreamTokens && n == a.in;
  Inputs in{a.x, n, a.in, 0};
  if (!streamed) {
    thread_local Scratch<float> packed;  // [chunks, T, cols]
    const int64_t cols = std::min(n, k.chunk_cols), chunks = (n + cols - 1) / cols;
    packed.assign(size_t(chunks * a.tokens * cols), 0.0f);
    for (int64_t j = 0; j < chunks; ++j)
      for (int t = 0; t < a.tokens; ++t) {
        const int64_t first = j * cols, count = std::clamp<int64_t>(a.in - first, 0, cols);
        std::copy_n(a.x + int64_t(t) * a.in + first, count, packed.data() + (j * a.tokens + t) * cols);
      }
    in = {packed.data(), cols, cols, a.tokens * cols};
  }
  for_row_blocks(a, [&](int o0, int rows) { row_block(a, k, in, streamed, o0, rows); });
}

void linear(const LinearArgs& a) { linear(a, best_isa()); }

// ---- linear_bf16_dot: the AVX512-BF16 path ----

namespace {

#define DLLM_AVX512BF16 DLLM_AVX512 ",avx512bf16"
constexpr int64_t kPairCols = 32;  // the columns one vdpbf16ps takes: 16 lanes x 2

// A bf16-dot register tile: for r < R, t < TT, lane l of acc[t * ldacc + r * 16 + l] adds, for each
// 32-column step i in increasing order, w(r, i + 2l) x[t][i + 2l] and w(r, i + 2l + 1) x[t][i + 2l + 1]
// (one vdpbf16ps), from 0 where `fresh`. w: bf16 weights placed as TileWeights says (in place, or a panel); x: bf16
// inputs, tokens ldx apart; n a multiple of 32. A step's two 16-column pieces are one load where
// they are Contiguous (w.step = 16: the rows layout, a panel), two apart otherwise (the tiles layout).
template <int R, int TT, bool Contiguous>
__attribute__((target(DLLM_AVX512BF16))) void bf16_tile(const TileWeights& w, const uint16_t* x, int64_t ldx, int64_t n,
                                                        float* acc, int64_t ldacc, bool fresh) {
  const auto* base = static_cast<const uint16_t*>(w.w);
  __m512 a[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) a[r][t] = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + t * ldacc + r * kLanes);
  for (int64_t i = 0; i < n; i += kPairCols) {
    const int64_t piece = i / kLanes * w.step;
    __m512bh wv[R];
    for (int r = 0; r < R; ++r) {
      const uint16_t* lo = base + r * w.row + piece;
      if constexpr (Contiguous) {
        wv[r] = (__m512bh)_mm512_loadu_si512(lo);
        continue;
      }
      const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo));
      const __m256i second = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo + w.step));
      wv[r] = (__m512bh)_mm512_maskz_inserti64x4(0xff, _mm512_castsi256_si512(first), second, 1);
    }
    if (w.ahead && Contiguous)  // each row's step, one line
      for (int r = 0; r < R; ++r)
        _mm_prefetch(reinterpret_cast<const char*>(base + w.ahead + r * w.row + piece), _MM_HINT_T1);
    else if (w.ahead)  // the step's two pieces of the tiles layout, 2 * w.step elements from `piece` on
      for (int64_t e = 0; e < 2 * w.step; e += 32)
        _mm_prefetch(reinterpret_cast<const char*>(base + w.ahead + piece + e), _MM_HINT_T1);
    for (int t = 0; t < TT; ++t) {
      __m512bh xv = (__m512bh)_mm512_loadu_si512(x + t * ldx + i);
      asm("" : "+v"(xv));  // as in Avx2Tile
      for (int r = 0; r < R; ++r) a[r][t] = _mm512_dpbf16_ps(a[r][t], wv[r], xv);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) _mm512_storeu_ps(acc + t * ldacc + r * kLanes, a[r][t]);
}

using Bf16TileFn = void (*)(const TileWeights& w, const uint16_t* x, int64_t ldx, int64_t n, float* acc, int64_t ldacc,
                            bool fresh);
constexpr int kBf16TileRows = 4;

template <bool Contiguous, int... TT>
std::array<Bf16TileFn, kMaxTileTokens + 1> bf16_tiles(std::integer_sequence<int, TT...>) {
  return {nullptr, &bf16_tile<kBf16TileRows, TT + 1, Contiguous>...};
}

// Outputs [o0, o0 + rows) of every token (rows <= 16), with the inputs xs [chunks, T, cols]. With Din
// a multiple of 32 the tiles read the weights in place: in the tiles layout for every T (a group's
// chunk is one contiguous block that stays in L2 while the tokens sweep it, the next one prefetched,
// so a copy would only cost time: 1.6x on a 16-token pass), in the rows layout up to 4 tokens. Otherwise the block's
// rows are copied chunk by chunk into a bf16 panel [16, cols] (zero past Din and past the last row) swept over every
// token. All read the same values in the same order.
void bf16_row_block(const LinearArgs& a, const uint16_t* xs, int64_t n, int64_t cols, int o0, int rows) {
  static const std::array<Bf16TileFn, kMaxTileTokens + 1> contiguous =
      bf16_tiles<true>(std::make_integer_sequence<int, kMaxTileTokens>());
  static const std::array<Bf16TileFn, kMaxTileTokens + 1> apart =
      bf16_tiles<false>(std::make_integer_sequence<int, kMaxTileTokens>());
  thread_local Scratch<uint16_t> panel;
  thread_local Scratch<float> acc;
  const WeightView& wv = a.weight;
  const int tokens = a.tokens, groups = (rows + kBf16TileRows - 1) / kBf16TileRows;
  const int64_t ldacc = kPanelRows * kLanes;
  const bool streamed = tokens <= kStreamTokens;
  const bool in_place = (streamed || wv.layout == WeightLayout::tiles) && a.in == n && rows % kBf16TileRows == 0;
  acc.resize(size_t(tokens) * ldacc);  // [T, 16 rows, 16 lanes]: the tiles' rows start fresh at c = 0
  for (int t = 0; t < tokens && groups * kBf16TileRows < kPanelRows; ++t)
    std::fill(&acc[t * ldacc + groups * kBf16TileRows * kLanes], &acc[(t + 1) * ldacc], 0.0f);
  for (int64_t c = 0; c < n; c += cols) {
    const int64_t len = std::min(cols, n - c), real = std::clamp<int64_t>(a.in - c, 0, len);
    if (!in_place) {
      panel.resize(size_t(kPanelRows * cols));
      for (int r = 0; r < groups * kBf16TileRows; ++r) {
        uint16_t* dst = panel.data() + r * cols;
        const int64_t have = r < rows ? real : 0;
        int64_t p = 0;
        for (; p + kTileCols <= have; p += kTileCols)  // whole pieces of 16: contiguous in either layout
          std::memcpy(dst + p, stored(wv, o0 + r, c + p), kTileCols * sizeof(uint16_t));
        if (p < have) std::memcpy(dst + p, stored(wv, o0 + r, c + p), size_t(have - p) * sizeof(uint16_t));
        std::fill(dst + have, dst + len, uint16_t(0));
      }
    }
    const uint16_t* x = xs + c / cols * tokens * cols;
    for (int t = 0; t < tokens; t += kMaxTileTokens) {
      const int tt = std::min(kMaxTileTokens, tokens - t);
      for (int g = 0; g < groups; ++g) {
        TileWeights w = in_place ? in_place_weights(wv, o0 + g * kBf16TileRows, c, streamed ? kBf16TileRows : 0)
                                 : TileWeights{panel.data() + g * kBf16TileRows * cols, cols, kLanes, 0};
        if (!streamed && in_place && wv.layout == WeightLayout::tiles && t == 0)
          w.ahead = next_chunk(wv, o0 + g * kBf16TileRows, c, cols);  // as row_block
        (w.step == kLanes ? contiguous : apart)[tt](
            w, x + t * cols, cols, len, acc.data() + int64_t(t) * ldacc + g * kBf16TileRows * kLanes, ldacc, c == 0);
      }
    }
  }
  float bias[kPanelRows] = {};
  for (int r = 0; r < rows && !a.bias.empty(); ++r) bias[r] = a.bias.at(0, o0 + r);
  for (int t = 0; t < tokens; ++t) reduce_rows_avx512(&acc[t * ldacc], rows, bias, a.y + int64_t(t) * a.out + o0);
}

}  // namespace

bool has_bf16_dot() {
  static const bool has = [] {
    const std::vector<Isa> isas = runnable_isas();  // (initialises the CPU feature flags)
    return isas.back() == Isa::avx512 && __builtin_cpu_supports("avx512bf16");
  }();
  return has;
}

void linear_bf16_dot(const LinearArgs& a) {
  DLLM_CHECK(has_bf16_dot(), "linear_bf16_dot: this CPU has no AVX512-BF16 (avx512_bf16 in /proc/cpuinfo)");
  if (a.weight.dtype != DType::bf16) return linear(a, Isa::avx512);
  check_layout(a);
  // Up to 4 tokens one chunk of whole rows, as the exact path streams them: chunks of a row block's
  // groups of the tiles layout would be read 4 KB here, 4 KB there (half the bandwidth on the LM head).
  const int64_t n = (a.in + kPairCols - 1) / kPairCols * kPairCols;
  const int64_t cols = a.tokens <= kStreamTokens ? n : std::min(n, kernels_for(Isa::avx512, a.tokens).chunk_cols);
  const int64_t chunks = (n + cols - 1) / cols;
  thread_local Scratch<uint16_t> xs;  // [chunks, T, cols]: the inputs rounded to bf16, zero past Din
  xs.assign(size_t(chunks * a.tokens * cols), 0);
  for (int64_t j = 0; j < chunks; ++j)
    for (int t = 0; t < a.tokens; ++t) {
      const int64_t first = j * cols, count = std::clamp<int64_t>(a.in - first, 0, cols);
      const float* x = a.x + int64_t(t) * a.in + first;
      uint16_t* out = xs.data() + (j * a.tokens + t) * cols;
      for (int64_t i = 0; i < count; ++i) out[i] = f32_to_bf16(x[i]);
    }
  const uint16_t* inputs = xs.data();  // this thread's (named in the workers, xs would be theirs)
  for_row_blocks(a, [&](int o0, int rows) { bf16_row_block(a, inputs, n, cols, o0, rows); });
}

}  // namespace dllm::cpu
