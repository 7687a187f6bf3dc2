// Top-1 SwiGLU experts (ref/moe.cpp), grouped by expert: the pass's tokens are cut into chunks of up
// to kMoeGroup tokens that share an expert (experts in order, tokens in pass order within one), and a
// block reads each of its weight rows once for its whole chunk. A 17-token verify pass that touches
// 10 experts streams about 10 experts' weights, not 17. Two launches through the [T, F] workspace act:
// silu(gate) * up, then the weighted down projection. Both run the linear gemv's sweep (gemv_dots in
// linear_kernels.h) on the chunk's token rows: the inputs staged once per block in shared memory, each
// lane's 16-byte weight loads in flight together, one warp per output row (a gate row and its up row
// for act). Every output is the warp's dot product in the sweep's fixed order, which depends only on
// the row length and the warp size, so a token's result does not depend on the other tokens of the
// pass or of its chunk.
//
// Each block finds its chunk itself from the [T] routes (counts per expert, then a scan): no
// workspace and no host round trip; the grid has room for the most chunks a pass can have. The
// chunks are the grid's fastest index, so an expert's chunks (a long pass gives its experts several)
// read each block of its rows at about the same time: from memory once, then from L2 where it still
// holds them.
#include <algorithm>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"
#include "kernels/gpu/linear_kernels.h"

namespace dllm::gpu {

namespace {

using linear_kernels::kGemvThreads;
inline constexpr int kMoeRows = kGemvThreads / kWarp;  // output rows per block, one per warp (device side)
// Tokens of one expert per block: twice the linear gemv's 4. A 68-token pass over 16 experts routed
// evenly gives an expert 4.25 tokens on average: with chunks of 4 about 1.45 chunks an expert, so its
// weights were read about 1.45 times (from L2 at best: an expert of zaya1-8b is 25 MB, an H100's L2
// 50 MB); with chunks of 8 about 1.03.
inline constexpr int kMoeGroup = 8;

// The most chunks T tokens over E experts and the skip route can form: sum over routes of
// ceil(n / G) <= T / G + (routes used) <= ceil(T / G) + min(E + 1, T).
int max_chunks(int tokens, int experts) {
  return blocks_for(tokens, kMoeGroup) + (experts + 1 < tokens ? experts + 1 : tokens);
}

// This block's chunk (blockIdx.x): its route (an expert, or `experts` for the skip route) and up to
// kMoeGroup tokens in pass order; count 0 when the pass has fewer chunks. Routes in [0, experts].
struct Chunk {
  int route, count;
  int tokens[kMoeGroup];
};

__device__ void find_chunk(const MoeArgs& a, Chunk& chunk, int* per_route) {
  const int routes = a.experts + 1;
  for (int r = int(threadIdx.x); r < routes; r += int(blockDim.x)) {
    int n = 0;
    for (int t = 0; t < a.tokens; ++t) n += a.expert[t] == r;
    per_route[r] = n;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    chunk.route = 0, chunk.count = 0;
    int c = int(blockIdx.x);
    for (int r = 0; r < routes; ++r) {
      const int chunks = (per_route[r] + kMoeGroup - 1) / kMoeGroup;
      if (c >= chunks) {
        c -= chunks;
        continue;
      }
      chunk.route = r;  // chunk c of route r: its tokens c * G .. c * G + G - 1, in pass order
      for (int t = 0, seen = 0; t < a.tokens && chunk.count < kMoeGroup; ++t) {
        if (a.expert[t] != r) continue;
        if (seen++ >= c * kMoeGroup) chunk.tokens[chunk.count++] = t;
      }
      break;
    }
  }
  __syncthreads();
}

// The chunk's token rows of a [T, n] array, as gemv_dots stages them.
struct ChunkRows {
  const float* x;
  int64_t n;
  const int* tokens;
  template <bool VEC>
  __device__ float4 load4(int k, int64_t i) const {
    return linear_kernels::load4_inputs<VEC>(x + int64_t(tokens[k]) * n, i, n);
  }
};

// Rows first, first + step, ... of w ([rows, cols] of dtype W), `count` of them, as the gemv sweep
// reads them.
template <DType W>
__device__ inline linear_kernels::WarpRows weight_rows(const WeightView& w, int64_t first, int64_t step, int count) {
  const int64_t row_bytes = w.cols * int64_t(dtype_size(W));
  return {static_cast<const char*>(w.data) + first * row_bytes, step * row_bytes, count};
}

// Block (chunk, rows r0..): act[t, r] = silu(gate_e x_t)[r] * (up_e x_t)[r]; nothing for the skip route.
// VEC: D holds whole groups of 8 and x and the weights start 16-byte aligned.
template <DType W, bool VEC>
__global__ void __launch_bounds__(kGemvThreads) moe_act_kernel(MoeArgs a) {
  __shared__ Chunk chunk;
  __shared__ int per_route[kMaxExperts + 1];
  find_chunk(a, chunk, per_route);
  const int e = chunk.route;
  if (chunk.count == 0 || e == a.experts) return;                                  // the whole block
  const int f = a.ffn, r = int(blockIdx.y) * kMoeRows + int(threadIdx.x) / kWarp;  // this warp's row
  // its gate row and its up row, f rows further
  const linear_kernels::WarpRows rows = weight_rows<W>(a.gate_up, int64_t(e) * 2 * f + r, f, r < f ? 2 : 0);
  float acc[2][kMoeGroup] = {};
  linear_kernels::gemv_dots<W, VEC>(ChunkRows{a.x, a.dim, chunk.tokens}, chunk.count, rows, a.dim, acc);
  for (int k = 0; k < chunk.count; ++k) {
    const float g = warp_sum(acc[0][k]), u = warp_sum(acc[1][k]);
    if (threadIdx.x % kWarp == 0 && r < f) a.act[int64_t(chunk.tokens[k]) * f + r] = g / (1.0f + expf(-g)) * u;
  }
}

// Block (chunk, outputs o0..): y[t, o] = weight[t] * (down_e act_t)[o]; the skip route gives 0 or
// weight[t] * x[t, o]. VEC: F holds whole groups of 8 and act and the weights start 16-byte aligned.
template <DType W, bool VEC>
__global__ void __launch_bounds__(kGemvThreads) moe_down_kernel(MoeArgs a) {
  __shared__ Chunk chunk;
  __shared__ int per_route[kMaxExperts + 1];
  find_chunk(a, chunk, per_route);
  const int e = chunk.route, d = a.dim;
  if (chunk.count == 0) return;
  const int o0 = int(blockIdx.y) * kMoeRows;
  if (e == a.experts) {
    for (int k = 0; k < chunk.count; ++k) {
      const int t = chunk.tokens[k];
      for (int o = o0 + int(threadIdx.x); o < min(o0 + kMoeRows, d); o += int(blockDim.x))
        a.y[int64_t(t) * d + o] = a.skip == SkipRoute::identity ? a.weight[t] * a.x[int64_t(t) * d + o] : 0.0f;
    }
    return;
  }
  const int o = o0 + int(threadIdx.x) / kWarp;  // this warp's output
  const linear_kernels::WarpRows rows = weight_rows<W>(a.down, int64_t(e) * d + o, 1, o < d ? 1 : 0);
  float acc[1][kMoeGroup] = {};
  linear_kernels::gemv_dots<W, VEC>(ChunkRows{a.act, a.ffn, chunk.tokens}, chunk.count, rows, a.ffn, acc);
  for (int k = 0; k < chunk.count; ++k) {
    const float s = warp_sum(acc[0][k]);
    if (threadIdx.x % kWarp == 0 && o < d) a.y[int64_t(chunk.tokens[k]) * d + o] = a.weight[chunk.tokens[k]] * s;
  }
}

}  // namespace

void moe(const MoeArgs& a) {
  if (a.tokens == 0) return;
  DLLM_ASSERT(a.act != nullptr);  // the [T, F] workspace
  DLLM_CHECK(a.experts <= kMaxExperts, "the GPU MoE kernel takes at most ", kMaxExperts, " experts, got ", a.experts);
  const int chunks = max_chunks(a.tokens, a.experts);
  DLLM_CHECK(a.gate_up.dtype == a.down.dtype, "the GPU MoE kernel takes gate_up and down of one dtype, got ",
             dtype_name(a.gate_up.dtype), " and ", dtype_name(a.down.dtype));
  const int rows = kGemvThreads / device_warp_size();  // kMoeRows of the device
  DLLM_CHECK(blocks_for(std::max(a.dim, a.ffn), rows) <= 65535, "the GPU MoE kernel takes experts of at most ",
             65535 * rows, " rows (a grid dimension of 65535 blocks), got dim ", a.dim, " and ffn ", a.ffn);
  const bool act_vec = a.dim % 8 == 0 && aligned16(a.x) && aligned16(a.gate_up.data);
  const bool down_vec = a.ffn % 8 == 0 && aligned16(a.act) && aligned16(a.down.data);
  linear_kernels::with_weight_dtype(a.gate_up.dtype, [&](auto w) {
    constexpr DType W = decltype(w)::value;
    const dim3 act_grid(unsigned(chunks), unsigned(blocks_for(a.ffn, rows)));
    if (a.ffn > 0) {
      if (act_vec)
        DLLM_LAUNCH(act_grid, kGemvThreads, moe_act_kernel<W, true>)(a);
      else
        DLLM_LAUNCH(act_grid, kGemvThreads, moe_act_kernel<W, false>)(a);
      DLLM_GPU_LAUNCHED("moe act");
    }
    const dim3 down_grid(unsigned(chunks), unsigned(blocks_for(a.dim, rows)));
    if (a.dim > 0) {
      if (down_vec)
        DLLM_LAUNCH(down_grid, kGemvThreads, moe_down_kernel<W, true>)(a);
      else
        DLLM_LAUNCH(down_grid, kGemvThreads, moe_down_kernel<W, false>)(a);
      DLLM_GPU_LAUNCHED("moe down");
    }
  });
}

}  // namespace dllm::gpu
