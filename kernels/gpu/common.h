// Device helpers shared by the kernels of kernels/gpu (included by .cu files only). Warp size is
// DLLM_WARP_SIZE (32 on NVIDIA, 64 on CDNA), never a literal; blocks are multiples of 64 threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/check.h"
#include "core/dtype.h"
#include "kernels/gpu/vendor.h"

namespace dllm::gpu {

inline constexpr int kWarp = DLLM_WARP_SIZE;

inline void check(gpuError_t e, const char* what, const char* file, int line) {
  if (e != gpuSuccess) fail("GPU error in ", what, ": ", gpuGetErrorString(e), " (", file, ":", line, ")");
}

}  // namespace dllm::gpu

// Every runtime call and every launch goes through these: a failure throws dllm::Error at once.
#define DLLM_GPU_CHECK(call) ::dllm::gpu::check((call), #call, __FILE__, __LINE__)
#define DLLM_GPU_LAUNCHED(name) ::dllm::gpu::check(gpuGetLastError(), "launch of " name, __FILE__, __LINE__)

namespace dllm::gpu {

// Two floats rounded to bf16 and packed in one word, `lo` in the low half: one register of an
// mma.sync or MFMA fragment (vendor.h's lane layouts).
__device__ inline uint32_t bf16_pair(float lo, float hi) {
  return uint32_t(f32_to_bf16(lo)) | uint32_t(f32_to_bf16(hi)) << 16;
}

// The matrix kernels' two input precisions: bf16 (inputs rounded to bf16, one instruction per
// product) and f32 (each input as the three bf16 terms of split_bf16x3, so the products are exact).
enum class MmaInputs { bf16, f32 };

// x as hi + mid + lo, three bf16 values whose sum is x exactly (for |x| >= 2^-110, where no term is
// subnormal), each given as its f32 bits (the low 16 bits zero): hi is x truncated to bf16, mid the
// rest truncated, lo what is left, at most 8 significant bits. Infinities and NaNs go whole into hi.
struct Bf16x3 {
  uint32_t hi, mid, lo;
};
__device__ inline Bf16x3 split_bf16x3(float x) {
  const uint32_t u = f32_to_bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return {uint32_t(f32_to_bf16(x)) << 16, 0, 0};
  const uint32_t hi = u & 0xffff0000u;
  const float rest = x - bits_to_f32(hi);  // exact: x's low 16 mantissa bits
  const uint32_t mid = f32_to_bits(rest) & 0xffff0000u;
  return {hi, mid, f32_to_bits(rest - bits_to_f32(mid))};
}
// Two terms' bf16 bits as a fragment register, a's in the low half.
__device__ inline uint32_t term_pair(uint32_t a, uint32_t b) { return a >> 16 | (b & 0xffff0000u); }

// f(std::integral_constant<int, 0>()), ..., f(std::integral_constant<int, N - 1>()): a loop whose
// index must be a constant, so that the register arrays it indexes stay in registers (f reads it as
// decltype(i)::value).
template <class F, int... I>
__device__ inline void unrolled_calls(const F& f, std::integer_sequence<int, I...>) {
  (f(std::integral_constant<int, I>()), ...);
}
template <int N, class F>
__device__ inline void unrolled(const F& f) {
  unrolled_calls(f, std::make_integer_sequence<int, N>());
}

// Sum over the lanes of a warp by a fixed butterfly: every lane gets the same bits.
__device__ inline float warp_sum(float v) {
  for (int m = kWarp / 2; m > 0; m /= 2) v += gpu_shfl_xor(v, m);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int m = kWarp / 2; m > 0; m /= 2) v = fmaxf(v, gpu_shfl_xor(v, m));
  return v;
}
// Whether p holds on every lane of the warp (every lane gets the answer).
__device__ inline bool warp_all(bool p) {
  int v = p;
  for (int m = kWarp / 2; m > 0; m /= 2) v &= gpu_shfl_xor(v, m);
  return v != 0;
}

// Sum over a block (blockDim.x a multiple of kWarp, at most 1024 threads): warps reduce, then warp 0
// adds the warp sums in warp order. Every thread gets the result. `scratch` holds 1024/32 floats.
__device__ inline float block_sum(float v, float* scratch) {
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  const int warps = int(blockDim.x) / kWarp;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  return total;
}
__device__ inline float block_max(float v, float* scratch) {
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  const int warps = int(blockDim.x) / kWarp;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float m = scratch[0];
  for (int w = 1; w < warps; ++w) m = fmaxf(m, scratch[w]);
  return m;
}

// One block per row (launch_per_row): thread i of the block takes the row's columns i, i + blockDim.x,
// ... in ascending order. row_sum and row_max then combine the threads by the fixed block tree, so a
// row's result has the same bits whatever the row count; every thread gets it, after a barrier (every
// column is read before any thread goes on to write the row, which may alias its input).
template <class F>
__device__ void for_block_columns(int n, const F& f) {
  for (int c = int(threadIdx.x); c < n; c += int(blockDim.x)) f(c);
}
template <class Value>
__device__ float row_sum(int n, const Value& value) {
  __shared__ float scratch[1024 / 32];
  float s = 0.0f;
  for_block_columns(n, [&](int c) { s += value(c); });
  return block_sum(s, scratch);
}
template <class Value>
__device__ float row_max(int n, const Value& value) {
  __shared__ float scratch[1024 / 32];
  float m = -INFINITY;
  for_block_columns(n, [&](int c) { m = fmaxf(m, value(c)); });
  return block_max(m, scratch);
}

// A row's argmax under ref::argmax's rule (the lowest index of the largest value; NaN never counts;
// 0 when nothing is ordered) and its count of non-finite values, over value(i) for i in [0, n).
struct RowArgmax {
  int32_t index, non_finite;
};
// A candidate; index -1 when a thread saw no ordered (non-NaN) value.
struct ArgmaxCandidate {
  float value;
  int32_t index;
};
// The larger value, the lower index on ties: a total order on candidates, so every reduction tree
// gives the winner of ref::argmax's left-to-right scan.
__device__ inline ArgmaxCandidate better(ArgmaxCandidate a, ArgmaxCandidate b) {
  if (b.index < 0) return a;
  if (a.index < 0) return b;
  return b.value > a.value || (b.value == a.value && b.index < a.index) ? b : a;
}
// Block-wide (blockDim.x a multiple of kWarp, at most 1024 threads; every thread calls it and gets
// the result): each thread scans its strided columns (ascending, so a strict > keeps the lowest
// index), warps merge by butterfly, thread 0 merges the warps.
template <typename Value>
__device__ RowArgmax block_argmax(const Value& value, int n) {
  __shared__ float warp_value[1024 / 32];
  __shared__ int32_t warp_index[1024 / 32], warp_non_finite[1024 / 32];
  __shared__ RowArgmax result;
  ArgmaxCandidate b{0.0f, -1};
  int non_finite = 0;
  for (int c = int(threadIdx.x); c < n; c += int(blockDim.x)) {
    const float v = value(c);
    non_finite += !(fabsf(v) <= 3.402823466e38f);  // NaN and +-Inf
    if (v == v && (b.index < 0 || v > b.value)) b = ArgmaxCandidate{v, c};
  }
  for (int m = kWarp / 2; m > 0; m /= 2) {
    b = better(b, ArgmaxCandidate{gpu_shfl_xor(b.value, m), gpu_shfl_xor(int(b.index), m)});
    non_finite += gpu_shfl_xor(non_finite, m);
  }
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  __syncthreads();  // a previous call may still read the slots
  if (lane == 0) warp_value[warp] = b.value, warp_index[warp] = b.index, warp_non_finite[warp] = non_finite;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x) / kWarp; ++w) {
      b = better(b, ArgmaxCandidate{warp_value[w], warp_index[w]});
      non_finite += warp_non_finite[w];
    }
    result = RowArgmax{b.index < 0 ? 0 : b.index, non_finite};
  }
  __syncthreads();
  return result;
}

// Warp size and multiprocessor count of the current device, for launch shapes (host side).
int device_warp_size();
int device_multiprocessors();

inline int blocks_for(int64_t n, int threads) { return int((n + threads - 1) / threads); }

// How many blocks of `kernel`, `threads` threads each, the device runs at once: its multiprocessors
// times the blocks the runtime fits on one by registers and shared memory (host side).
template <class... Params>
int resident_blocks(void (*kernel)(Params...), int threads) {
  int per_multiprocessor = 0;
  DLLM_GPU_CHECK(gpuOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, kernel, threads, 0));
  return std::max(per_multiprocessor, 1) * device_multiprocessors();
}

// Whether device memory at p starts 16-byte aligned (the kernels' 16-byte loads), on the host.
inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// The launch shapes of the simple kernels; each launch is checked at once (dllm::Error naming it).
inline constexpr int kBlockThreads = 256;

// One block of kBlockThreads per row (or token): the kernel's row is blockIdx.x. Nothing for 0 rows.
template <class... Params, class... Args>
void launch_per_row(const char* name, void (*kernel)(Params...), int64_t rows, Args&&... args) {
  if (rows == 0) return;
  DLLM_LAUNCH(unsigned(rows), kBlockThreads, kernel)(std::forward<Args>(args)...);
  check(gpuGetLastError(), name, __FILE__, __LINE__);
}

// A grid-stride loop over n elements: at most 65535 blocks of kBlockThreads. Nothing for n = 0.
template <class... Params, class... Args>
void launch_elementwise(const char* name, void (*kernel)(Params...), int64_t n, Args&&... args) {
  if (n == 0) return;
  const int blocks = blocks_for(n, kBlockThreads);
  DLLM_LAUNCH(blocks < 65535 ? blocks : 65535, kBlockThreads, kernel)(std::forward<Args>(args)...);
  check(gpuGetLastError(), name, __FILE__, __LINE__);
}

}  // namespace dllm::gpu

namespace dllm::gpu {

// One warp's dot product of stored weight row `row` (any dtype) with x[0, n): lane l sums elements
// l, l + kWarp, ... in order, then the butterfly. The order depends on n only (and the device's warp
// size), never on which rows or tokens other warps compute. Every lane of the warp must call it.
__device__ inline float warp_dot(const WeightView& w, int64_t row, const float* x, int n) {
  float s = 0.0f;
  for (int i = int(threadIdx.x) % kWarp; i < n; i += kWarp) s += w.at(row, i) * x[i];
  return warp_sum(s);
}

// rmsnorm's arithmetic, in one place for its kernel (kernels/gpu/rmsnorm.cu) and the linear kernels
// that normalise their inputs while staging them (kernels/gpu/norm_linear.cu), so the two give the
// same bits. rms_factors: the factor 1 / sqrt(mean(x^2) + eps) of each of rows [0, rows) of x (at
// most N rows of n columns, `stride` floats apart) into factors[0, rows), in shared memory, which
// every thread may read after the call. The rows are summed side by side, each in row_sum's order
// (thread i: columns i, i + blockDim.x, ...; the warp butterfly; the warps in order), so a row's
// factor has the same bits whatever N and `rows`. A block of kBlockThreads; every thread calls it,
// and every read of x is done when it returns (an rmsnorm in place may then write its rows).
template <int N>
__device__ void rms_factors(const float* x, int64_t stride, int rows, int n, float eps, float* factors) {
  constexpr int kWarps = kBlockThreads / kWarp;
  __shared__ float warp_sums[N][kWarps];
  float s[N] = {};
  for_block_columns(n, [&](int c) {
    for (int r = 0; r < N; ++r)
      if (r < rows) s[r] += x[r * stride + c] * x[r * stride + c];
  });
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  __syncthreads();  // a previous call's factors and warp sums may still be read
  for (int r = 0; r < N; ++r) {
    const float v = warp_sum(s[r]);
    if (lane == 0) warp_sums[r][warp] = v;
  }
  __syncthreads();
  if (const int r = int(threadIdx.x); r < rows) {
    float total = 0.0f;
    for (int w = 0; w < kWarps; ++w) total += warp_sums[r][w];
    factors[r] = 1.0f / sqrtf(total / float(n) + eps);
  }
  __syncthreads();
}
__device__ inline float rms_normed(float x, float factor, float weight) { return weight * (x * factor); }

// swiglu's arithmetic, silu(gate) * up: its kernel's and the linear kernels' that compute their
// inputs with it while staging them (kernels/gpu/swiglu_linear.cu).
__device__ inline float silu_times(float gate, float up) { return gate / (1.0f + expf(-gate)) * up; }

}  // namespace dllm::gpu
