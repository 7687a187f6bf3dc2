// The linear kernels, y = x W^T + bias, and their launches, templated on where their inputs come
// from: x as stored (kernels/gpu/linear.cu), rmsnorm's rows normalised while staged (norm_linear.cu)
// or silu(gate) * up computed while staged (swiglu_linear.cu). Each of those files instantiates the
// kernels with its own inputs, so a fused op is the same kernels with another staging step. Included
// by those three files, and by moe.cu, whose experts run the gemv sweep (gemv_dots) on their tokens.
//
// The kernels' Inputs parameter (a small struct they take by value) gives:
//   - inputs.tokens<N>(a, t0, nt): the inputs of tokens t0 .. t0 + nt - 1 (at most N) of linear a, as
//     a block stages them. Every thread of the block calls it: it may compute per-token values into
//     shared memory first (rmsnorm's factors), with barriers.
//   - on what tokens<N> returns, load4<VEC>(t, k): inputs k .. k + 3 of token t0 + t (t < nt), zeros
//     past the row; VEC: the rows start 16-byte aligned and hold whole groups of 8 (vector_rows).
//   - inputs.aligned(a), on the host: whether its rows start 16-byte aligned.
#pragma once
#include <algorithm>
#include <type_traits>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu::linear_kernels {

// Eight consecutive stored weights as loaded, before conversion: one 16-byte load for 16-bit
// weights, two for f32. Zero bits are 0.0 in every dtype.
template <DType W>
struct Packed8 {
  uint4 u;
};
template <>
struct Packed8<DType::f32> {
  float4 lo, hi;
};

// Stored weights i .. i + 7 of a row of n. VEC: all eight exist and sit at a 16-byte aligned address
// (vector loads); otherwise element by element, zeros past n.
template <DType W, bool VEC>
__device__ inline Packed8<W> load8(const void* row, int64_t i, int64_t n) {
  Packed8<W> p{};
  if constexpr (VEC) {
    if constexpr (W == DType::f32) {
      p.lo = *reinterpret_cast<const float4*>(static_cast<const float*>(row) + i);
      p.hi = *reinterpret_cast<const float4*>(static_cast<const float*>(row) + i + 4);
    } else {
      p.u = *reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(row) + i);
    }
  } else {
    if constexpr (W == DType::f32) {
      const float* r = static_cast<const float*>(row);
      float f[8];
      for (int e = 0; e < 8; ++e) f[e] = i + e < n ? r[i + e] : 0.0f;
      p.lo = float4{f[0], f[1], f[2], f[3]}, p.hi = float4{f[4], f[5], f[6], f[7]};
    } else {
      const uint16_t* r = static_cast<const uint16_t*>(row);
      unsigned words[4] = {};
      for (int e = 0; e < 8; ++e)
        if (i + e < n) words[e / 2] |= unsigned(r[i + e]) << (16 * (e % 2));
      p.u = uint4{words[0], words[1], words[2], words[3]};
    }
  }
  return p;
}

template <DType W>
__device__ inline void unpack8(const Packed8<W>& p, float* w) {
  if constexpr (W == DType::f32) {
    w[0] = p.lo.x, w[1] = p.lo.y, w[2] = p.lo.z, w[3] = p.lo.w;
    w[4] = p.hi.x, w[5] = p.hi.y, w[6] = p.hi.z, w[7] = p.hi.w;
  } else {
    const unsigned words[4] = {p.u.x, p.u.y, p.u.z, p.u.w};
    for (int k = 0; k < 4; ++k) {
      const uint16_t lo = uint16_t(words[k] & 0xffffu), hi = uint16_t(words[k] >> 16);
      if constexpr (W == DType::bf16)
        w[2 * k] = bf16_to_f32(lo), w[2 * k + 1] = bf16_to_f32(hi);
      else
        w[2 * k] = gpu_f16_to_f32(lo), w[2 * k + 1] = gpu_f16_to_f32(hi);
    }
  }
}

// Inputs k .. k + 3 of a token's row of n, zeros past n. VEC: the row holds whole groups of 8 and
// starts 16-byte aligned (vector_rows below), so k < n means all four exist: one 16-byte load.
template <bool VEC>
__device__ inline float4 load4_inputs(const float* row, int64_t k, int64_t n) {
  if (k >= n) return float4{0.0f, 0.0f, 0.0f, 0.0f};
  if constexpr (VEC) {
    return *reinterpret_cast<const float4*>(row + k);
  } else {
    float f[4];
    for (int e = 0; e < 4; ++e) f[e] = k + e < n ? row[k + e] : 0.0f;
    return float4{f[0], f[1], f[2], f[3]};
  }
}

// gemv: the AR step's shape. A block of kGemvThreads takes R consecutive rows per warp and sweeps
// the columns in stages of kGemvColumns:
//   - the stage's inputs, [up to kGemvTokens tokens, kGemvColumns], are staged once in shared memory
//     (16-byte loads), each token's columns stored as two planes, the first and the second half of
//     every group of 8, so that a quarter-warp's 16-byte reads hit 32 different banks;
//   - lane l owns the groups of 8 columns l, l + kWarp, ... of the stage (kGemvGroups of them): its
//     R x kGemvGroups 16-byte weight loads are independent, and the next stage's are issued before
//     this stage's arithmetic, so they are in flight across the barrier;
//   - each input read from shared memory serves R rows.
// Each output is one accumulator per lane over its groups in column order, then the warp butterfly:
// the order depends only on Din and the warp size, never on the token count or on R.
inline constexpr int kGemvTokens = 4;  // tokens per sweep over the weights
inline constexpr int kGemvThreads = 256;
inline constexpr int kGemvColumns = 1024;                       // columns per stage
inline constexpr int kGemvGroups = kGemvColumns / (8 * kWarp);  // 16-byte loads per lane and row per stage
static_assert(kGemvGroups >= 1, "a stage covers at least one group of 8 per lane");

// The linear layers of one gemv launch (gpu::linears, gpu::linear_residual), all on `inputs`:
// part p takes blocks [first_block[p], first_block[p + 1]) of the grid, the rows of its matrix in order.
template <class Inputs>
struct GemvParts {
  Inputs inputs;
  LinearArgs part[kMaxLinearParts];
  float* residual[kMaxLinearParts];  // non-null: the part's result is added there, and y not written
  int first_block[kMaxLinearParts + 1];
  int count;
};

// A warp's weight rows in the gemv sweep: row r < count starts at first + r * stride bytes; rows from
// count on are past the matrix (zeros).
struct WarpRows {
  const char* first;
  int64_t stride;
  int count;
};

// The gemv sweep, shared with the MoE experts (moe.cu): this lane's partial sums acc[r][t] of weight
// row r of `rows` with token t's inputs (tokens.load4<VEC>(t, k), t < nt <= NT: the linear layers
// take kGemvTokens at a time, an expert's chunk up to kMoeGroup), over n columns. warp_sum(acc[r][t])
// is the dot product. Every thread of the block calls it (it has barriers); each warp has its own
// rows.
template <DType W, bool VEC, int R, int NT, class Tokens>
__device__ inline void gemv_dots(const Tokens tokens, int nt, const WarpRows rows, int n, float (&acc)[R][NT]) {
  __shared__ float4 xs[NT][2][kGemvColumns / 8];  // [token, half of a group, group]: 16 KB per 8 tokens
  const int tid = int(threadIdx.x), lane = tid % kWarp;
  // Stage k0's weights of this warp's rows.
  const auto load_stage = [&](int k0, Packed8<W>(&stage)[R][kGemvGroups]) {
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < kGemvGroups; ++j) {
        const int64_t i = k0 + int64_t(j * kWarp + lane) * 8;
        stage[r][j] = r < rows.count && i < n ? load8<W, VEC>(rows.first + r * rows.stride, i, n) : Packed8<W>{};
      }
  };
  Packed8<W> next[R][kGemvGroups];
  load_stage(0, next);
  for (int k0 = 0; k0 < n; k0 += kGemvColumns) {
    Packed8<W> cur[R][kGemvGroups];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < kGemvGroups; ++j) cur[r][j] = next[r][j];
    // this stage's inputs, 4 columns (one half of a group) per step; zeros past the row
    for (int e = tid; e < nt * kGemvColumns / 4; e += kGemvThreads) {
      const int t = e / (kGemvColumns / 4), c = (e % (kGemvColumns / 4)) * 4;
      xs[t][(c / 4) % 2][c / 8] = tokens.template load4<VEC>(t, k0 + c);
    }
    __syncthreads();
    if (k0 + kGemvColumns < n) load_stage(k0 + kGemvColumns, next);
    for (int j = 0; j < kGemvGroups; ++j) {
      const int g = j * kWarp + lane;  // the group in the stage
      if (k0 + g * 8 >= n) break;
      float w[R][8];
      for (int r = 0; r < R; ++r) unpack8<W>(cur[r][j], w[r]);
      unrolled<NT>([&](auto token) {  // acc's index a constant: acc stays in registers
        constexpr int t = decltype(token)::value;
        if (t >= nt) return;
        const float4 lo = xs[t][0][g], hi = xs[t][1][g];
        const float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        for (int r = 0; r < R; ++r)
          for (int e = 0; e < 8; ++e) acc[r][t] += w[r][e] * v[e];
      });
    }
    __syncthreads();  // the stage's inputs are read before the next stage overwrites them
  }
}

template <DType W, bool VEC, int R, class Inputs>
__global__ void __launch_bounds__(kGemvThreads) linear_gemv_kernel(GemvParts<Inputs> parts) {
  int p = 0;  // this block's part: its blocks are [first_block[p], first_block[p + 1])
  while (p + 1 < parts.count && int(blockIdx.x) >= parts.first_block[p + 1]) ++p;
  const LinearArgs& a = parts.part[p];
  const int block = int(blockIdx.x) - parts.first_block[p];
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  const int o0 = (block * (kGemvThreads / kWarp) + warp) * R;  // this warp's first row
  // This warp's rows (none past the matrix: those warps still reach every barrier, and write nothing).
  const int64_t row_bytes = int64_t(a.in) * int64_t(dtype_size(W));
  const WarpRows rows{static_cast<const char*>(a.weight.data) + o0 * row_bytes, row_bytes, min(R, max(0, a.out - o0))};
  for (int t0 = 0; t0 < a.tokens; t0 += kGemvTokens) {
    const int nt = min(kGemvTokens, a.tokens - t0);
    float acc[R][kGemvTokens] = {};
    gemv_dots<W, VEC>(parts.inputs.template tokens<kGemvTokens>(a, t0, nt), nt, rows, a.in, acc);
    for (int r = 0; r < R; ++r) {
      const int o = o0 + r;
      const float bias = a.bias.empty() || o >= a.out ? 0.0f : a.bias.at(0, o);
      for (int t = 0; t < nt; ++t) {
        const float sum = warp_sum(acc[r][t]);
        if (lane == 0 && o < a.out) {
          const int64_t i = int64_t(t0 + t) * a.out + o;
          if (float* residual = parts.residual[p])
            residual[i] += sum + bias;  // gpu::add's sum of linear's output
          else
            a.y[i] = sum + bias;
        }
      }
    }
  }
}

// The staging pipeline of the tiled kernels, over the columns [begin, end) in tiles of `step`:
// load(k0) issues tile k0's global loads into registers, store(buffer) puts them into one of two
// shared buffers, compute(k0, buffer) reads that buffer. The next tile's loads are issued before this
// tile's arithmetic and stored into the other buffer after it, so there is one barrier per tile: the
// buffer a store overwrites was last read before the previous barrier.
template <class Load, class Store, class Compute>
__device__ inline void pipelined_tiles(int begin, int end, int step, const Load& load, const Store& store,
                                       const Compute& compute) {
  load(begin);
  store(0);
  __syncthreads();
  for (int k0 = begin, buffer = 0; k0 < end; k0 += step, buffer ^= 1) {
    const bool more = k0 + step < end;
    if (more) load(k0 + step);  // in flight during this tile's arithmetic
    compute(k0, buffer);
    if (more) store(buffer ^ 1);
    __syncthreads();
  }
}

// tiled: a block computes 64 outputs x 16 tokens through shared-memory tiles of 32 columns. Each
// output is one accumulator summed in column order 0, 1, ..., Din-1 (the reference's order), whatever
// the token count: the invariant mode's one shape.
//   - staging: each thread loads one group of 8 weights (a 16-byte load for 16-bit weights) and, for
//     half of the threads, 4 inputs (16 bytes), widened to f32 in shared memory; the next tile's loads
//     are issued before this tile's arithmetic and stored into the other of two buffers (one barrier
//     per tile);
//   - the input tile is stored transposed, [column][token], so a thread's 4 tokens of a column are one
//     16-byte shared read: per column, one read of its weight and one of its inputs for 4 FMAs;
//   - blockIdx.x runs over the token tiles, so the blocks that share a weight tile run together and
//     the weights of a long pass come from HBM once.
inline constexpr int kTileOut = 64, kTileTok = 16, kTileK = 32, kTileThreads = 256;
inline constexpr int kTilePerThread = kTileTok / (kTileThreads / kTileOut);  // tokens per thread: 4
static_assert(kTileOut * kTileK == 8 * kTileThreads, "one group of 8 weights per thread and tile");
static_assert(kTileTok * kTileK <= 4 * kTileThreads, "at most one group of 4 inputs per thread and tile");

template <DType W, bool VEC, class Inputs>
__global__ void __launch_bounds__(kTileThreads) linear_tiled_kernel(Inputs inputs, LinearArgs a) {
  __shared__ float ws[2][kTileOut][kTileK + 1];       // [buffer, output, column]
  __shared__ float4 xs[2][kTileK][kTileTok / 4 + 1];  // [buffer, column, 4 tokens]
  const int tid = int(threadIdx.x);
  const int t0 = int(blockIdx.x) * kTileTok, o0 = int(blockIdx.y) * kTileOut;
  const int oi = tid % kTileOut, tg = tid / kTileOut;  // this thread: output o0 + oi, tokens 4 tg .. 4 tg + 3
  // Staging: weight group tid is row tid / 4, columns (tid % 4) * 8 .. + 7 of the tile; input group
  // tid (< 128) is token tid / 8, columns (tid % 8) * 4 .. + 3.
  const int wr = tid / 4, wc = (tid % 4) * 8, xt = tid / 8, xc = (tid % 8) * 4;
  const bool stages_inputs = tid < kTileTok * kTileK / 4;
  const char* wrow = static_cast<const char*>(a.weight.data) + int64_t(o0 + wr) * a.in * int64_t(dtype_size(W));
  const int nt = min(kTileTok, a.tokens - t0);
  const auto tokens = inputs.template tokens<kTileTok>(a, t0, nt);
  Packed8<W> w_next{};
  float4 x_next{};
  const auto load = [&](int k0) {
    w_next = o0 + wr < a.out && k0 + wc < a.in ? load8<W, VEC>(wrow, k0 + wc, a.in) : Packed8<W>{};
    if (stages_inputs) x_next = xt < nt ? tokens.template load4<VEC>(xt, k0 + xc) : float4{0.0f, 0.0f, 0.0f, 0.0f};
  };
  const auto store = [&](int buffer) {
    float w[8];
    unpack8<W>(w_next, w);
    for (int e = 0; e < 8; ++e) ws[buffer][wr][wc + e] = w[e];
    if (!stages_inputs) return;
    const float v[4] = {x_next.x, x_next.y, x_next.z, x_next.w};  // token xt of columns xc .. xc + 3
    for (int e = 0; e < 4; ++e) reinterpret_cast<float*>(xs[buffer][xc + e])[xt] = v[e];
  };
  float acc[kTilePerThread] = {};
  pipelined_tiles(0, a.in, kTileK, load, store, [&](int k0, int buffer) {
    const int kn = min(kTileK, a.in - k0);
    for (int c = 0; c < kn; ++c) {
      const float w = ws[buffer][oi][c];
      const float4 v = xs[buffer][c][tg];
      acc[0] += w * v.x;
      acc[1] += w * v.y;
      acc[2] += w * v.z;
      acc[3] += w * v.w;
    }
  });
  const int o = o0 + oi;
  if (o >= a.out) return;
  const float bias = a.bias.empty() ? 0.0f : a.bias.at(0, o);
  for (int j = 0; j < kTilePerThread; ++j) {
    const int t = t0 + tg * kTilePerThread + j;
    if (t < a.tokens) a.y[int64_t(t) * a.out + o] = acc[j] + bias;
  }
}

// mma: matrix-unit tiles. A block of 256 threads computes 64 outputs x 32 tokens through shared-memory
// tiles of the weights and the inputs; the matrix instruction is the vendor's (MmaWarpTile below);
// staging, split-K and the write-out are shared. Two input precisions (MmaInputs):
//   - bf16: weights and inputs rounded to bf16 (bf16 weights stay exact: their bits go in as loaded;
//     f16 and f32 weights and the activations lose mantissa bits), hence opt-in (LinearVariant::mma);
//   - f32: bf16 weights only, and each f32 input fed to the instruction as three bf16 terms whose sum
//     is the input exactly (split_bf16x3), so every product is exact and only the sums round: the
//     f32 reference's precision on matrix units at three times the instructions (LinearVariant::mma_f32).
// Each output sums its columns in ascending steps of 16: a step's products are summed from zero by
// its instructions (one, or three for f32 inputs), then added to the output's accumulator by an f32
// add, so the hardware's own rounding inside the instruction (tensor cores may truncate) acts on one
// step's sum only, as an f32 FMA chain's rounding acts on one product; one split of the columns after
// another, the splits added in order. That order does not depend on the pass size or on the token's
// place in it (padding tokens and columns are zeros, and a warp skips instructions whose tokens are
// all padding), so a token's result is bitwise the same alone or in any pass.
inline constexpr int kMmaOut = 64, kMmaTok = 32, kMmaThreads = 256;

// Split-K: a matrix with few output tiles would leave most multiprocessors idle (llama3-8b's q, o and
// down have 64 tiles of 64 outputs for 132 SMs, k and v 16), so its columns are cut into ranges, one
// block each, chosen from the matrix shape and the device only, never from the pass size (mma_split).
// The blocks of a tile then add their sums into y in split order, each waiting for its turn on the
// tile's counter: y = ((sum_0 + bias) + sum_1) + ..., the same bits for a token alone or in any pass
// (into the residual: the last split adds the sum there instead). The counters start at 0 (device
// globals are zeroed when the module loads) and the last split puts its tile's back to 0. Blocks are
// dispatched in grid order, and a part's splits are its slower index (MmaParts), so a block waits only
// on blocks already running or done.
// Token tiles x split output tiles a launch may have (its counters, mma_turn). The emulator holds 64,
// so that its tests reach the several-launch path (MmaGrid::token_tiles) with passes of a thousand
// tokens, where a GPU needs several thousand.
#ifdef DLLM_EMU
inline constexpr int kMmaMaxSplitTiles = 1 << 6;
#else
inline constexpr int kMmaMaxSplitTiles = 1 << 16;
#endif
namespace {
__device__ int mma_turn[kMmaMaxSplitTiles];  // per tile: the split whose turn it is to add into y
}

// Staging: a tile is kMmaSyncK columns; each thread stages its groups of 8 weights and of 8 inputs
// with 16-byte loads (VEC: Din % 8 == 0, 16-byte aligned rows; else element by element).
//   - on NVIDIA, bf16 weights with VEC go straight to shared memory by cp.async, into a ring of
//     kMmaStages buffers (kMmaF32Stages for f32 inputs, whose tiles are twice the size: 45 KB in all,
//     under the 48 KB of static shared memory), STAGES - 1 tiles ahead of the mmas: 24 KB (16 KB) of
//     a block's weights in flight;
//   - other weights (rounded to bf16 on the way) and the inputs (computed by Inputs; bf16: rounded,
//     f32: as they are) pass through registers: the next tile's loads are issued before this tile's
//     mmas and stored into the other of two shared buffers after them.
// One barrier per tile. Shared weight tiles hold bf16 pairs (columns 2j and 2j + 1, the lower in the
// low half: one fragment register each) in rows of kMmaPairsLd words, so a warp's fragment reads hit
// 32 different banks; bf16 input tiles the same, f32 ones rows of kMmaF32Ld floats (conflict-free
// 8-byte reads).
inline constexpr int kMmaSyncK = 64, kMmaStages = 4, kMmaF32Stages = 3;
inline constexpr int kMmaPairs = kMmaSyncK / 2, kMmaPairsLd = kMmaPairs + 4, kMmaF32Ld = kMmaSyncK + 8;
// groups of 8 columns each thread stages per tile: 2 of the weights, 1 of the inputs
inline constexpr int kMmaWeightGroups = kMmaOut * kMmaSyncK / 8 / kMmaThreads;
inline constexpr int kMmaInputGroups = kMmaTok * kMmaSyncK / 8 / kMmaThreads;
static_assert(kMmaWeightGroups * kMmaThreads * 8 == kMmaOut * kMmaSyncK &&
                  kMmaInputGroups * kMmaThreads * 8 == kMmaTok * kMmaSyncK,
              "the threads stage whole tiles");

// Eight weights as four bf16 pairs: bf16 as stored, other dtypes rounded.
template <DType W>
__device__ inline uint4 bf16_pairs(const Packed8<W>& p) {
  if constexpr (W == DType::bf16) {
    return p.u;
  } else {
    float w[8];
    unpack8<W>(p, w);
    return uint4{bf16_pair(w[0], w[1]), bf16_pair(w[2], w[3]), bf16_pair(w[4], w[5]), bf16_pair(w[6], w[7])};
  }
}

// Inputs k .. k + 7 of token t of the block's nt (`tokens`, from Inputs::tokens) as staged: bf16,
// four bf16 pairs (one uint4); f32, the eight floats (two uint4). Zeros past the pass or the row.
template <MmaInputs I>
struct InputGroup {
  uint4 u[I == MmaInputs::bf16 ? 1 : 2];
};
template <MmaInputs I, bool VEC, class Tokens>
__device__ inline InputGroup<I> input_group(const Tokens& tokens, int t, int nt, int64_t k) {
  float4 lo{0.0f, 0.0f, 0.0f, 0.0f}, hi = lo;
  if (t < nt) lo = tokens.template load4<VEC>(t, k), hi = tokens.template load4<VEC>(t, k + 4);
  if constexpr (I == MmaInputs::bf16) {
    return {{uint4{bf16_pair(lo.x, lo.y), bf16_pair(lo.z, lo.w), bf16_pair(hi.x, hi.y), bf16_pair(hi.z, hi.w)}}};
  } else {
    return {{uint4{f32_to_bits(lo.x), f32_to_bits(lo.y), f32_to_bits(lo.z), f32_to_bits(lo.w)},
             uint4{f32_to_bits(hi.x), f32_to_bits(hi.y), f32_to_bits(hi.z), f32_to_bits(hi.w)}}};
  }
}

// The staged inputs of one tile as the matrix instruction's token operand: terms(t, j0, j1, fn) calls
// fn(b) with b = {column pair j0, column pair j1} of token t, once per term, the smallest first.
struct Bf16Tile {
  const uint32_t* pairs;  // [kMmaTok, kMmaPairsLd]
  template <class Fn>
  __device__ void terms(int t, int j0, int j1, const Fn& fn) const {
    const uint32_t b[2] = {pairs[t * kMmaPairsLd + j0], pairs[t * kMmaPairsLd + j1]};
    fn(b);
  }
};
struct F32Tile {
  const float* x;  // [kMmaTok, kMmaF32Ld]
  template <class Fn>
  __device__ void terms(int t, int j0, int j1, const Fn& fn) const {
    const float* row = x + t * kMmaF32Ld;
    const float2 p0 = *reinterpret_cast<const float2*>(row + 2 * j0),
                 p1 = *reinterpret_cast<const float2*>(row + 2 * j1);
    const Bf16x3 a0 = split_bf16x3(p0.x), b0 = split_bf16x3(p0.y), a1 = split_bf16x3(p1.x), b1 = split_bf16x3(p1.y);
    const uint32_t lo[2] = {term_pair(a0.lo, b0.lo), term_pair(a1.lo, b1.lo)};
    const uint32_t mid[2] = {term_pair(a0.mid, b0.mid), term_pair(a1.mid, b1.mid)};
    const uint32_t hi[2] = {term_pair(a0.hi, b0.hi), term_pair(a1.hi, b1.hi)};
    fn(lo);
    fn(mid);
    fn(hi);
  }
};

// A warp's part of the block's 64 x 32 tile and its matrix instruction, the weights as the
// instruction's row operand A and the tokens as its column operand B, so a pass's few tokens fill the
// narrow side. step() adds 16 columns, shared pairs p .. p + 7 of the weights (wp: [outputs,
// kMmaPairsLd] words) and of the inputs (x: Bf16Tile or F32Tile), to acc[h][i], whose place in the
// tile is (output(i), token(h, i)); the block's tokens from nt on are padding.
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
// NVIDIA, mma.sync m16n8k16: each of the 8 warps takes 16 outputs (warp % 4) and 16 tokens (warp / 4),
// two mmas of 8 tokens sharing the weight fragment (vendor.h's layout: g = lane / 4, q = lane % 4).
struct MmaWarpTile {
  int wo, wt, g, q;
  __device__ explicit MmaWarpTile(int tid)
      : wo(tid / kWarp % 4 * 16), wt(tid / kWarp / 4 * 16), g(tid % kWarp / 4), q(tid % 4) {}
  template <class Tile>
  __device__ void step(const uint32_t* wp, const Tile& x, int p, int nt, float (&acc)[2][4]) const {
    if (wt >= nt) return;  // all 16 of the warp's tokens padding (an AR step: warps 4 to 7)
    const uint32_t w[4] = {wp[(wo + g) * kMmaPairsLd + p + q], wp[(wo + g + 8) * kMmaPairsLd + p + q],
                           wp[(wo + g) * kMmaPairsLd + p + q + 4], wp[(wo + g + 8) * kMmaPairsLd + p + q + 4]};
    for (int h = 0; h < 2; ++h) {
      if (wt + 8 * h >= nt) break;  // all 8 tokens padding (the same for the whole warp)
      x.terms(wt + 8 * h + g, p + q, p + q + 4, [&](const uint32_t(&b)[2]) { gpu_mma_16x8x16_bf16(w, b, acc[h]); });
    }
  }
  __device__ int output(int i) const { return wo + g + 8 * (i / 2); }
  __device__ int token(int h, int i) const { return wt + 8 * h + 2 * q + i % 2; }
};
#elif defined(DLLM_DEVICE_HAS_MFMA_BF16)
// AMD, MFMA 16x16x16 bf16: each of the 4 waves takes 16 outputs and both 16-token halves, two MFMAs
// sharing the weight fragment (vendor.h's layout: r = lane % 16, s = lane / 16).
struct MmaWarpTile {
  int wo, r, s;
  __device__ explicit MmaWarpTile(int tid) : wo(tid / kWarp * 16), r(tid % 16), s(tid % kWarp / 16) {}
  template <class Tile>
  __device__ void step(const uint32_t* wp, const Tile& x, int p, int nt, float (&acc)[2][4]) const {
    const uint32_t w[2] = {wp[(wo + r) * kMmaPairsLd + p + 2 * s], wp[(wo + r) * kMmaPairsLd + p + 2 * s + 1]};
    for (int h = 0; h < 2; ++h) {
      if (16 * h >= nt) break;  // all 16 tokens padding
      x.terms(16 * h + r, p + 2 * s, p + 2 * s + 1,
              [&](const uint32_t(&b)[2]) { gpu_mfma_16x16x16_bf16(w, b, acc[h]); });
    }
  }
  __device__ int output(int i) const { return wo + 4 * s + i; }
  __device__ int token(int h, int) const { return 16 * h + r; }
};
#endif

#if defined(DLLM_DEVICE_HAS_MMA_BF16)
// pipelined_tiles with a second kind of copy: issue(k0, stage) copies tile k0 straight into shared
// buffer `stage` of STAGES by cp.async (one commit group per tile), STAGES - 1 tiles ahead;
// compute(stage, buffer) reads the tile from that stage and from the register-staged buffer. At the
// top of each tile: this thread's copies of the tile have landed (wait), then the barrier makes every
// thread's visible and frees the stage and the buffer the previous tile read, which this tile's
// issue and store overwrite.
template <int STAGES, class Issue, class Load, class Store, class Compute>
__device__ inline void async_pipelined_tiles(int begin, int end, int step, const Issue& issue, const Load& load,
                                             const Store& store, const Compute& compute) {
  static_assert(STAGES >= 2, "a stage being computed and one in flight");
  for (int s = 0; s < STAGES - 1; ++s) {
    if (begin + s * step < end) issue(begin + s * step, s);
    gpu_cp_async_commit();  // possibly empty: the groups count tiles
  }
  load(begin);
  store(0);
  for (int k0 = begin, i = 0; k0 < end; k0 += step, ++i) {
    gpu_cp_async_wait<STAGES - 2>();
    __syncthreads();
    const int ahead = k0 + (STAGES - 1) * step;
    if (ahead < end) issue(ahead, (i + STAGES - 1) % STAGES);
    gpu_cp_async_commit();
    const bool more = k0 + step < end;
    if (more) load(k0 + step);
    compute(i % STAGES, i % 2);
    if (more) store((i + 1) % 2);
  }
}
#endif

// The linear layers of one mma launch (gpu::linears, gpu::linear_residual), all on `inputs` with one
// pass size: part p takes grid rows [first_row[p], first_row[p + 1]), its output tiles once per split
// of its columns (split_columns[p] each; the split is the slower index, so every split's blocks are
// dispatched after the previous split's), and its tiles' split counters start at tile first_tile[p]
// of mma_turn's rows.
template <class Inputs>
struct MmaParts {
  Inputs inputs;
  LinearArgs part[kMaxLinearParts];
  float* residual[kMaxLinearParts];  // non-null: the part's result is added there, and y only a scratch
  int split_columns[kMaxLinearParts];
  int first_row[kMaxLinearParts + 1];
  int first_tile[kMaxLinearParts];
  int count;
};

// I: the inputs' precision (MmaInputs). first_token_tile: the launch's first token tile (a long pass
// runs as several launches, MmaGrid::token_tiles).
template <DType W, bool VEC, MmaInputs I, class Inputs>
__global__ void __launch_bounds__(kMmaThreads) linear_mma_kernel(MmaParts<Inputs> parts, int first_token_tile) {
#if defined(DLLM_DEVICE_HAS_MATRIX_BF16)
  static_assert(I == MmaInputs::bf16 || W == DType::bf16, "f32 inputs are exact against bf16 weights only");
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
  constexpr bool kAsync = W == DType::bf16 && VEC;  // the weights go straight to shared memory
#else
  constexpr bool kAsync = false;  // cp.async is NVIDIA's
#endif
  constexpr bool kF32 = I == MmaInputs::f32;
  constexpr int kStages = kF32 ? kMmaF32Stages : kMmaStages, kInputLd = kF32 ? kMmaF32Ld / 4 : kMmaPairsLd / 4;
  __shared__ uint4 ws[kAsync ? kStages : 2][kMmaOut][kMmaPairsLd / 4];  // [stage, outputs, k / 8]
  __shared__ uint4 xs[2][kMmaTok][kInputLd];                            // [buffer, tokens, k / 8 or k / 4]
  int p = 0;  // this block's part, its output tile and its split
  while (p + 1 < parts.count && int(blockIdx.y) >= parts.first_row[p + 1]) ++p;
  const LinearArgs& a = parts.part[p];
  const int out_tiles = (a.out + kMmaOut - 1) / kMmaOut, row = int(blockIdx.y) - parts.first_row[p];
  const int split = row / out_tiles, splits = (parts.first_row[p + 1] - parts.first_row[p]) / out_tiles;
  const int split_columns = parts.split_columns[p];
  const auto& inputs = parts.inputs;
  const int tid = int(threadIdx.x);
  const MmaWarpTile tile(tid);
  const int t0 = (first_token_tile + int(blockIdx.x)) * kMmaTok, o0 = row % out_tiles * kMmaOut;
  const int64_t row_bytes = int64_t(a.in) * int64_t(dtype_size(W));
  const int nt = min(kMmaTok, a.tokens - t0);
  const auto tokens = inputs.template tokens<kMmaTok>(a, t0, nt);
  // Thread tid stages groups tid + i * kMmaThreads of the weight and of the input tile: group e is row
  // e / 8 (output or token), columns (e % 8) * 8 .. + 7 of the tile.
  const char* weights = static_cast<const char*>(a.weight.data);
  Packed8<W> w_next[kMmaWeightGroups];
  InputGroup<I> x_next[kMmaInputGroups];
  const auto load = [&](int k0) {
    if constexpr (!kAsync) {
      for (int i = 0; i < kMmaWeightGroups; ++i) {
        const int e = tid + i * kMmaThreads, o = o0 + e / 8;
        const int64_t k = k0 + (e % 8) * 8;
        w_next[i] = o < a.out && k < a.in ? load8<W, VEC>(weights + o * row_bytes, k, a.in) : Packed8<W>{};
      }
    }
    for (int i = 0; i < kMmaInputGroups; ++i) {
      const int e = tid + i * kMmaThreads;
      x_next[i] = input_group<I, VEC>(tokens, e / 8, nt, k0 + (e % 8) * 8);
    }
  };
  const auto store = [&](int buffer) {
    if constexpr (!kAsync) {
      for (int i = 0; i < kMmaWeightGroups; ++i) {
        const int e = tid + i * kMmaThreads;
        ws[buffer][e / 8][e % 8] = bf16_pairs<W>(w_next[i]);
      }
    }
    for (int i = 0; i < kMmaInputGroups; ++i) {
      const int e = tid + i * kMmaThreads;
      constexpr int n = std::extent_v<decltype(x_next[i].u)>;  // uint4 per group
      for (int u = 0; u < n; ++u) xs[buffer][e / 8][n * (e % 8) + u] = x_next[i].u[u];
    }
  };
  float acc[2][4] = {};
  const auto compute = [&](int stage, int buffer) {
    const uint32_t* wp = reinterpret_cast<const uint32_t*>(ws[stage]);
    for (int p = 0; p < kMmaPairs; p += 8) {  // 16 columns per step, in ascending order
      float sums[2][4] = {};                  // this step's
      if constexpr (kF32)
        tile.step(wp, F32Tile{reinterpret_cast<const float*>(xs[buffer])}, p, nt, sums);
      else
        tile.step(wp, Bf16Tile{reinterpret_cast<const uint32_t*>(xs[buffer])}, p, nt, sums);
      for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) acc[h][i] += sums[h][i];
    }
  };
  const int k_begin = split * split_columns, k_end = min(a.in, k_begin + split_columns);
  if constexpr (kAsync) {
#if defined(DLLM_DEVICE_HAS_MMA_BF16)
    const auto issue = [&](int k0, int stage) {  // this thread's weight groups of tile k0, by cp.async
      for (int i = 0; i < kMmaWeightGroups; ++i) {
        const int e = tid + i * kMmaThreads, o = o0 + e / 8;
        const int64_t k = k0 + (e % 8) * 8;
        const bool valid = o < a.out && k < a.in;
        gpu_cp_async_16(&ws[stage][e / 8][e % 8], valid ? weights + o * row_bytes + k * 2 : weights, valid);
      }
    };
    async_pipelined_tiles<kStages>(k_begin, k_end, kMmaSyncK, issue, load, store, compute);
#endif
  } else {
    pipelined_tiles(k_begin, k_end, kMmaSyncK, load, store, [&](int, int buffer) { compute(buffer, buffer); });
  }
  volatile int* turn = mma_turn + (parts.first_tile[p] + row % out_tiles) * int(gridDim.x) + int(blockIdx.x);
  if (splits > 1) {  // wait for the splits before this one to have added theirs
    if (threadIdx.x == 0)
      while (*turn != split) {
      }
    __syncthreads();
    __threadfence();
  }
  for (int i = 0; i < 4; ++i) {
    const int o = o0 + tile.output(i);
    if (o >= a.out) continue;
    const float bias = a.bias.empty() ? 0.0f : a.bias.at(0, o);
    for (int h = 0; h < 2; ++h) {
      const int t = t0 + tile.token(h, i);
      if (t >= a.tokens) continue;
      const int64_t at = int64_t(t) * a.out + o;
      volatile float* y = a.y + at;  // volatile: another block wrote it
      const float sum = (split == 0 ? bias : *y) + acc[h][i];
      if (parts.residual[p] && split + 1 == splits)
        parts.residual[p][at] += sum;  // gpu::add's sum of linear's output
      else
        *y = sum;
    }
  }
  if (splits > 1) {  // pass the turn on, after this block's sums are visible
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) *turn = split + 1 == splits ? 0 : split + 1;
  }
#else
  (void)parts, (void)first_token_tile;
  __builtin_trap();  // never launched: mma_available() is false without bf16 matrix units
#endif
}

// The mma kernel's split-K (see mma_turn): enough splits for about two blocks per multiprocessor in
// one token tile (at least 16 blocks, which every GPU exceeds, so that the emulator's one
// multiprocessor splits too), each split at least 4 column tiles, and at most kMmaMaxSplits: the
// splits of a tile add their sums one after another, each waiting for the one before (a flag seen in
// L2, a fence, y read back: about a microsecond a link by that count, where a whole split of
// llama3-8b's k streams in two or three), so 16 splits of k or v would spend longer in the chain than
// in the weights. One split for a matrix of more output tiles than the counters hold. From the
// matrix shape and the device only.
inline constexpr int kMmaMaxSplits = 4;
struct MmaSplit {
  int count = 1, columns = 0;
};
inline MmaSplit mma_split(const LinearArgs& a) {
  const int out_tiles = blocks_for(a.out, kMmaOut), k_tiles = blocks_for(a.in, kMmaSyncK);
  const int target = max(2 * device_multiprocessors(), 16);
  int count = std::clamp(blocks_for(target, out_tiles), 1, std::clamp(k_tiles / 4, 1, kMmaMaxSplits));
  if (out_tiles > kMmaMaxSplitTiles) count = 1;
  const int columns = blocks_for(k_tiles, count) * kMmaSyncK;
  return {blocks_for(a.in, columns), columns};
}
// The grid rows of an mma launch over parts (each part's output tiles x its splits) and the output
// tiles of its split parts (their counters in mma_turn, per token tile). add(a) takes part a if both
// stay within their limits (65535 grid rows; the counters for one token tile).
struct MmaGrid {
  int rows = 0, split_tiles = 0;
  bool add(const LinearArgs& a) {
    const int out_tiles = blocks_for(a.out, kMmaOut), splits = mma_split(a).count;
    const int r = rows + out_tiles * splits, t = split_tiles + (splits > 1 ? out_tiles : 0);
    if (r > 65535 || t > kMmaMaxSplitTiles) return false;
    rows = r, split_tiles = t;
    return true;
  }
  // The token tiles of one launch: token tiles x split_tiles fit the counters (a longer pass runs as
  // several launches, each with the same splits).
  int token_tiles(int tokens) const {
    const int tiles = blocks_for(tokens, kMmaTok);
    return split_tiles == 0 ? tiles : min(tiles, kMmaMaxSplitTiles / split_tiles);
  }
};

// Whether every weight row and every token's inputs start 16-byte aligned and hold whole groups of 8
// (the kernels' 16-byte loads).
template <class Inputs>
bool vector_rows(const Inputs& inputs, const LinearArgs& a) {
  return a.in % 8 == 0 && aligned16(a.weight.data) && inputs.aligned(a);
}

// One gemv grid for parts[0, count) on `inputs` (1 to kMaxLinearParts parts, weights of dtype W, at
// least one token each); with `residual`, the one part's result is added to it instead of written to
// its y.
template <DType W, class Inputs>
void launch_gemv(const Inputs& inputs, const LinearArgs* parts, int count, float* residual = nullptr) {
  GemvParts<Inputs> g{};
  g.inputs = inputs;
  g.residual[0] = residual;
  g.count = count;
  bool vec = true;
  int64_t rows = 0;
  for (int p = 0; p < count; ++p) vec = vec && vector_rows(inputs, parts[p]), rows += parts[p].out;
  // two rows per warp (each staged input serves both) unless that leaves multiprocessors idle
  const int warps = kGemvThreads / device_warp_size();
  const bool two_rows = blocks_for(rows, 2 * warps) >= 2 * device_multiprocessors();
  for (int p = 0; p < g.count; ++p) {
    g.part[p] = parts[p];
    g.first_block[p + 1] = g.first_block[p] + blocks_for(parts[p].out, (two_rows ? 2 : 1) * warps);
  }
  const int blocks = g.first_block[g.count];
  if (vec && two_rows)
    DLLM_LAUNCH(blocks, kGemvThreads, linear_gemv_kernel<W, true, 2, Inputs>)(g);
  else if (vec)
    DLLM_LAUNCH(blocks, kGemvThreads, linear_gemv_kernel<W, true, 1, Inputs>)(g);
  else if (two_rows)
    DLLM_LAUNCH(blocks, kGemvThreads, linear_gemv_kernel<W, false, 2, Inputs>)(g);
  else
    DLLM_LAUNCH(blocks, kGemvThreads, linear_gemv_kernel<W, false, 1, Inputs>)(g);
}

// fn(std::integral_constant<DType, W>()) for the weights' dtype W: the kernels take it as a template
// parameter.
template <class Fn>
void with_weight_dtype(DType d, const Fn& fn) {
  switch (d) {
    case DType::f32:
      return fn(std::integral_constant<DType, DType::f32>());
    case DType::f16:
      return fn(std::integral_constant<DType, DType::f16>());
    case DType::bf16:
      return fn(std::integral_constant<DType, DType::bf16>());
  }
}

// One mma grid for parts[0, count) on `inputs` (1 to kMaxLinearParts parts of one pass size, weights
// of dtype W, within MmaGrid's limits), over the whole pass: the token tiles are the grid's fastest
// index, so the blocks that share a weight tile run together and a pass of more than kMmaTok tokens
// streams the weights from memory once. With `residual`, the one part's result is added
// to it (a.y is the split-K's scratch).
template <DType W, MmaInputs I, class Inputs>
void launch_mma(const Inputs& inputs, const LinearArgs* parts, int count, float* residual = nullptr) {
  DLLM_CHECK(mma_available(), "the mma linear variants need matrix units: ", kMmaNeeds);
  MmaParts<Inputs> g{};
  g.inputs = inputs;
  g.residual[0] = residual;
  g.count = count;
  bool vec = true;
  MmaGrid grid;
  for (int p = 0; p < count; ++p) {
    const MmaSplit split = mma_split(parts[p]);
    g.part[p] = parts[p];
    g.split_columns[p] = split.columns;
    g.first_tile[p] = grid.split_tiles;
    DLLM_CHECK(grid.add(parts[p]), "the mma linear kernel takes at most 65535 output tiles x splits, got ",
               blocks_for(parts[p].out, kMmaOut), " x ", split.count);
    g.first_row[p + 1] = grid.rows;
    vec = vec && vector_rows(inputs, parts[p]);
  }
  const int tiles = blocks_for(parts[0].tokens, kMmaTok), per_launch = grid.token_tiles(parts[0].tokens);
  for (int first = 0; first < tiles; first += per_launch) {
    const dim3 blocks(unsigned(min(per_launch, tiles - first)), unsigned(grid.rows));
    if (vec)
      DLLM_LAUNCH(blocks, kMmaThreads, linear_mma_kernel<W, true, I, Inputs>)(g, first);
    else
      DLLM_LAUNCH(blocks, kMmaThreads, linear_mma_kernel<W, false, I, Inputs>)(g, first);
  }
}
// parts[0, count) on variant v (1 to kMaxLinearParts parts of one pass size, weights of dtype W, as
// linears groups them; tiled takes one, without a residual); with `residual`, the one part's result is
// added to it.
template <DType W, class Inputs>
void launch(const Inputs& inputs, const LinearArgs* parts, int count, LinearVariant v, float* residual = nullptr) {
  if (v == LinearVariant::gemv) {
    launch_gemv<W>(inputs, parts, count, residual);
  } else if (v == LinearVariant::tiled) {
    DLLM_ASSERT(count == 1 && residual == nullptr);
    const LinearArgs& a = parts[0];
    const dim3 grid(unsigned(blocks_for(a.tokens, kTileTok)), unsigned(blocks_for(a.out, kTileOut)));
    if (vector_rows(inputs, a))
      DLLM_LAUNCH(grid, kTileThreads, linear_tiled_kernel<W, true, Inputs>)(inputs, a);
    else
      DLLM_LAUNCH(grid, kTileThreads, linear_tiled_kernel<W, false, Inputs>)(inputs, a);
  } else if (v == LinearVariant::mma) {
    launch_mma<W, MmaInputs::bf16>(inputs, parts, count, residual);
  } else {
    DLLM_CHECK(W == DType::bf16, "the mma_f32 linear variant takes bf16 weights, got ", dtype_name(W));
    if constexpr (W == DType::bf16) launch_mma<W, MmaInputs::f32>(inputs, parts, count, residual);
  }
}

// gpu::linear(a, v) on `inputs`.
template <class Inputs>
void linear(const Inputs& inputs, const LinearArgs& a, LinearVariant v) {
  if (a.tokens == 0 || a.out == 0) return;
  with_weight_dtype(a.weight.dtype, [&](auto w) { launch<decltype(w)::value>(inputs, &a, 1, v); });
  DLLM_GPU_LAUNCHED("linear");
}

// gpu::linear_residual(a, residual, r) on `inputs`: the add in the epilogue of gemv and of the mma
// variants, a kernel of its own after tiled.
template <class Inputs>
void linear_residual(const Inputs& inputs, const LinearArgs& a, float* residual, Reduction r) {
  if (a.tokens == 0 || a.out == 0) return;
  const LinearVariant v = pick_linear(a, r);
  if (v == LinearVariant::tiled) {
    linear(inputs, a, v);
    return add(AddArgs{int64_t(a.tokens) * a.out, a.y, residual});
  }
  with_weight_dtype(a.weight.dtype, [&](auto w) { launch<decltype(w)::value>(inputs, &a, 1, v, residual); });
  DLLM_GPU_LAUNCHED("linear (into the residual)");
}

// gpu::linears(parts, count, r) on `inputs`: runs of up to kMaxLinearParts consecutive parts that take
// gemv, or one mma variant, with one pass size and weight dtype share a grid (an mma grid while its
// rows and split counters fit); tiled parts launch alone.
template <class Inputs>
void linears(const Inputs& inputs, const LinearArgs* parts, int count, Reduction r) {
  for (int i = 0, n = 1; i < count; i += n) {
    const LinearArgs& first = parts[i];
    n = 1;
    if (first.tokens == 0 || first.out == 0) continue;
    const LinearVariant v = pick_linear(first, r);
    if (v != LinearVariant::tiled) {
      MmaGrid grid;  // an mma run's rows and counters
      if (v != LinearVariant::gemv) grid.add(first);
      while (i + n < count && n < kMaxLinearParts) {
        const LinearArgs& next = parts[i + n];
        if (next.tokens != first.tokens || next.out == 0 || next.weight.dtype != first.weight.dtype ||
            pick_linear(next, r) != v || (v != LinearVariant::gemv && !grid.add(next)))
          break;
        ++n;
      }
    }
    with_weight_dtype(first.weight.dtype, [&](auto w) { launch<decltype(w)::value>(inputs, parts + i, n, v); });
    DLLM_GPU_LAUNCHED("linear (grouped)");
  }
}

}  // namespace dllm::gpu::linear_kernels
