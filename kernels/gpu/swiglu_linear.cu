// swiglu_linear: linear on swiglu's output, silu(gate) * up computed while the linear kernels stage
// their inputs (kernels/gpu/linear_kernels.h), so it is never written: the bits of the swiglu kernel
// then the linear.
#include "kernels/gpu/linear_kernels.h"

namespace dllm::gpu {

namespace {

// The inputs of the linear kernels: silu(gate) * up of act's rows.
struct SwigluRows {
  SwigluArgs act;  // gate and up; out is not written
  struct Tokens {
    const float *gate, *up;  // [nt, in] the block's tokens
    int64_t in;
    template <bool VEC>
    __device__ float4 load4(int t, int64_t k) const {  // silu(0) * 0 = 0 past the row
      const float4 g = linear_kernels::load4_inputs<VEC>(gate + t * in, k, in);
      const float4 u = linear_kernels::load4_inputs<VEC>(up + t * in, k, in);
      return float4{silu_times(g.x, u.x), silu_times(g.y, u.y), silu_times(g.z, u.z), silu_times(g.w, u.w)};
    }
  };
  template <int N>
  __device__ Tokens tokens(const LinearArgs&, int t0, int) const {
    const int64_t first = int64_t(t0) * act.dim;
    return Tokens{act.gate + first, act.up + first, act.dim};
  }
  bool aligned(const LinearArgs&) const { return aligned16(act.gate) && aligned16(act.up); }
};

// The linear reads swiglu's output: x = act.out, the same tokens and width.
void check_linear(const SwigluArgs& act, const LinearArgs& a) {
  DLLM_CHECK(a.x == act.out && a.tokens == act.rows && a.in == act.dim,
             "a linear on swiglu's output reads it: its x, tokens and width are swiglu's out, rows and dim");
}

}  // namespace

void swiglu_linear(const SwigluLinearArgs& a, LinearVariant v) {
  check_linear(a.act, a.linear);
  linear_kernels::linear(SwigluRows{a.act}, a.linear, v);
}

void swiglu_linear_residual(const SwigluArgs& act, const LinearArgs& down, float* residual, Reduction r) {
  check_linear(act, down);
  linear_kernels::linear_residual(SwigluRows{act}, down, residual, r);
}

}  // namespace dllm::gpu
