// norm_linear: linear on rmsnorm's rows, normalised while the linear kernels stage them
// (kernels/gpu/linear_kernels.h), so the normalised rows are never written: the bits of the rmsnorm
// kernel then the linear.
#include "kernels/gpu/linear_kernels.h"

namespace dllm::gpu {

namespace {

// The inputs of the linear kernels: rmsnorm's rows of norm.x, each input normalised as it is loaded.
// gemv's blocks (N = kGemvTokens) compute their tokens' factors with rmsnorm's own reduction
// (rms_factors, which needs rmsnorm's block size): nt whole rows read from L2, a few blocks per
// token. The other kernels' blocks take theirs from `factors`, computed by rms_factors_kernel.
struct NormedRows {
  RmsnormArgs norm;                // x, weight and eps; y is not written here
  const float* factors = nullptr;  // [rows]: every kernel's but gemv's
  struct Tokens {
    const float* x;  // [nt, in] the block's tokens
    int64_t in;
    WeightView weight;     // [in]
    const float* factors;  // [nt] in shared memory
    template <bool VEC>
    __device__ float4 load4(int t, int64_t k) const {
      const float4 v = linear_kernels::load4_inputs<VEC>(x + t * in, k, in);
      const float f = factors[t];
      const auto normed = [&](float value, int e) {
        return k + e < in ? rms_normed(value, f, weight.at(0, k + e)) : 0.0f;
      };
      return float4{normed(v.x, 0), normed(v.y, 1), normed(v.z, 2), normed(v.w, 3)};
    }
  };
  template <int N>
  __device__ Tokens tokens(const LinearArgs&, int t0, int nt) const {
    __shared__ float shared_factors[N];
    const float* x = norm.x + int64_t(t0) * norm.dim;
    if constexpr (N == linear_kernels::kGemvTokens) {
      rms_factors<N>(x, norm.dim, nt, norm.dim, norm.eps, shared_factors);
    } else {
      __syncthreads();  // as in rms_factors: a previous call's factors may still be read
      for (int i = int(threadIdx.x); i < nt; i += int(blockDim.x)) shared_factors[i] = factors[t0 + i];
      __syncthreads();
    }
    return Tokens{x, norm.dim, norm.weight, shared_factors};
  }
  bool aligned(const LinearArgs&) const { return aligned16(norm.x); }
};
static_assert(linear_kernels::kGemvThreads == kBlockThreads && linear_kernels::kTileThreads == kBlockThreads &&
                  linear_kernels::kMmaThreads == kBlockThreads,
              "rmsnorm's factors in the linear kernels' blocks have the bits of rmsnorm's");

// Row blockIdx.x's factor (rms_factors, the bits rmsnorm's and the linear kernels' blocks give it) into
// factors[row].
__global__ void __launch_bounds__(kBlockThreads) rms_factors_kernel(RmsnormArgs a, float* factors) {
  const int row = int(blockIdx.x);
  rms_factors<1>(a.x + int64_t(row) * a.dim, a.dim, 1, a.dim, a.eps, factors + row);
}

// The inputs of linear kernels on norm's rows, `gemv` or another. The other kernels' blocks are many
// per token (llama3-8b's q/k/v at 68 tokens: 832 per tile of 32 tokens), and each reading its tokens'
// rows whole would read 0.9 GB from L2 a layer for 50 MB of weights, so their factors are computed
// once, by a launch of their own, into norm.y's first `rows` floats (scratch: the normalised rows are
// never written; norm.y is not norm.x, fused_in_place). gemv's blocks are few per token (an AR step
// keeps its launches).
NormedRows normed_rows(const RmsnormArgs& norm, bool gemv) {
  if (gemv) return NormedRows{norm};
  DLLM_ASSERT(norm.y != norm.x);
  if (norm.rows > 0) launch_per_row("rms factors", rms_factors_kernel, norm.rows, norm, norm.y);
  return NormedRows{norm, norm.y};
}
// Where norm.y is norm.x (in place) there is no room for the other kernels' factors: rmsnorm's kernel
// runs, then the linear on its rows as stored (the same bits).
bool fused_in_place(const RmsnormArgs& norm, bool gemv) { return !gemv && norm.y == norm.x; }

// The parts read norm's rows: x = norm.y, the same tokens and width.
void check_parts(const RmsnormArgs& norm, const LinearArgs* parts, int count) {
  for (int p = 0; p < count; ++p)
    DLLM_CHECK(parts[p].x == norm.y && parts[p].tokens == norm.rows && parts[p].in == norm.dim,
               "a linear on rmsnorm's rows reads them: its x, tokens and width are rmsnorm's y, rows and dim");
}

}  // namespace

void norm_linear(const NormLinearArgs& a, LinearVariant v) {
  check_parts(a.norm, &a.linear, 1);
  if (a.linear.tokens == 0 || a.linear.out == 0) return;
  const bool gemv = v == LinearVariant::gemv;
  if (fused_in_place(a.norm, gemv)) {
    rmsnorm(a.norm);
    return linear(a.linear, v);
  }
  linear_kernels::linear(normed_rows(a.norm, gemv), a.linear, v);
}

void norm_linears(const RmsnormArgs& norm, const LinearArgs* parts, int count, Reduction r) {
  check_parts(norm, parts, count);
  bool gemv = true;  // every part that runs takes gemv
  for (int p = 0; p < count; ++p)
    if (parts[p].tokens > 0 && parts[p].out > 0) gemv = gemv && pick_linear(parts[p], r) == LinearVariant::gemv;
  if (fused_in_place(norm, gemv)) {
    rmsnorm(norm);
    return linears(parts, count, r);
  }
  linear_kernels::linears(normed_rows(norm, gemv), parts, count, r);
}

}  // namespace dllm::gpu
