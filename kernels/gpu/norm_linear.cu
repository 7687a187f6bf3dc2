// norm_linear: linear on rmsnorm's rows, normalised while the linear kernels stage them
// (kernels/gpu/linear_kernels.h), so the normalised rows are never written: the bits of the rmsnorm
// kernel then the linear.
#include "kernels/gpu/linear_kernels.h"

namespace dllm::gpu {

namespace {

// The inputs of the linear kernels: rmsnorm's rows of norm.x. A block first computes its tokens'
// factors with rmsnorm's own reduction (rms_factors, which needs rmsnorm's block size), then
// normalises each input as it loads it.
struct NormedRows {
  RmsnormArgs norm;  // x, weight and eps; y is not written
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
    __shared__ float factors[N];
    const float* x = norm.x + int64_t(t0) * norm.dim;
    rms_factors<N>(x, norm.dim, nt, norm.dim, norm.eps, factors);
    return Tokens{x, norm.dim, norm.weight, factors};
  }
  bool aligned(const LinearArgs&) const { return aligned16(norm.x); }
};
static_assert(linear_kernels::kGemvThreads == kBlockThreads && linear_kernels::kTileThreads == kBlockThreads &&
                  linear_kernels::kMmaThreads == kBlockThreads,
              "rmsnorm's factors in the linear kernels' blocks have the bits of rmsnorm's");

// The parts read norm's rows: x = norm.y, the same tokens and width.
void check_parts(const RmsnormArgs& norm, const LinearArgs* parts, int count) {
  for (int p = 0; p < count; ++p)
    DLLM_CHECK(parts[p].x == norm.y && parts[p].tokens == norm.rows && parts[p].in == norm.dim,
               "a linear on rmsnorm's rows reads them: its x, tokens and width are rmsnorm's y, rows and dim");
}

}  // namespace

void norm_linear(const NormLinearArgs& a, LinearVariant v) {
  check_parts(a.norm, &a.linear, 1);
  linear_kernels::linear(NormedRows{a.norm}, a.linear, v);
}

void norm_linears(const RmsnormArgs& norm, const LinearArgs* parts, int count, Reduction r) {
  check_parts(norm, parts, count);
  linear_kernels::linears(NormedRows{norm}, parts, count, r);
}

}  // namespace dllm::gpu
