// linear: y = x W^T + bias on x as stored (the kernels: kernels/gpu/linear_kernels.h).
#include <string>

#include "kernels/gpu/linear_kernels.h"

namespace dllm::gpu {

namespace {

// The inputs of the linear kernels: the rows of a.x as stored.
struct StoredRows {
  struct Tokens {
    const float* x;  // [nt, in] the block's tokens
    int64_t in;
    template <bool VEC>
    __device__ float4 load4(int t, int64_t k) const {
      return linear_kernels::load4_inputs<VEC>(x + t * in, k, in);
    }
  };
  template <int N>
  __device__ Tokens tokens(const LinearArgs& a, int t0, int) const {
    return Tokens{a.x + int64_t(t0) * a.in, a.in};
  }
  bool aligned(const LinearArgs& a) const { return aligned16(a.x); }
};

}  // namespace

bool mma_available() {
#if defined(DLLM_EMU)
  return true;  // warp 32: mma.sync; warp 64: MFMA (both bf16)
#elif defined(DLLM_BUILD_HAS_MMA_BF16)
  static const bool yes = [] {
    gpuDeviceProp p;
    DLLM_GPU_CHECK(gpuGetDeviceProperties(&p, 0));
    return p.major >= 8;
  }();
  return yes;
#else
  static const bool yes = [] {
    gpuDeviceProp p;
    DLLM_GPU_CHECK(gpuGetDeviceProperties(&p, 0));
    const std::string arch = p.gcnArchName;
    return arch.rfind("gfx90a", 0) == 0 || arch.rfind("gfx94", 0) == 0;
  }();
  return yes;
#endif
}

LinearVariant pick_linear(const LinearArgs& a, Reduction r) {
  // f32 precision on the matrix units where the weights are bf16, else f32 FMAs
  const LinearVariant exact =
      a.weight.dtype == DType::bf16 && mma_available() ? LinearVariant::mma_f32 : LinearVariant::tiled;
  if (r == Reduction::invariant) return exact;
  if (a.tokens <= linear_kernels::kGemvTokens) return LinearVariant::gemv;
  if (r == Reduction::fast_mma && a.tokens >= kMmaMinTokens && mma_available()) return LinearVariant::mma;
  return exact;
}

void linear(const LinearArgs& a, LinearVariant v) { linear_kernels::linear(StoredRows{}, a, v); }

void linears(const LinearArgs* parts, int count, Reduction r) {
  linear_kernels::linears(StoredRows{}, parts, count, r);
}

void linear_residual(const LinearArgs& a, float* residual, Reduction r) {
  linear_kernels::linear_residual(StoredRows{}, a, residual, r);
}

}  // namespace dllm::gpu
