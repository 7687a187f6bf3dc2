// The vendor's GEMM as a linear variant, the baseline every own linear kernel is reported against on
// the same shapes: y[T, Dout] = x[T, Din] W^T + bias through cuBLASLt on NVIDIA (the weights' dtype
// for both operands, f32 accumulation and output). AMD's BLAS libraries are not in Debian 12, so the
// HIP build has none; the CPU emulator has no cuBLASLt either and computes it through ref::linear, so
// the variant's plumbing (op cases, backend, graphs) is tested without a GPU.
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

#if defined(DLLM_EMU)
#include "ref/ref.h"
#elif defined(DLLM_HAVE_CUBLASLT)
#include <cublasLt.h>

#include <map>
#include <tuple>
#include <utility>
#endif

namespace dllm::gpu {

namespace {

#if defined(DLLM_EMU)

// One thread runs the reference over the whole call (device memory is readable inside a kernel only).
__global__ void __launch_bounds__(1) reference_linear_kernel(LinearArgs a) { ref::linear<float>(a); }

#elif defined(DLLM_HAVE_CUBLASLT)

void blas_check(cublasStatus_t status, const char* what) {
  DLLM_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLASLt: ", what, " failed (status ", int(status), ")");
}
#define DLLM_BLAS_CHECK(expr) blas_check((expr), #expr)

// The largest power of two up to 256 that divides the address: the library's algorithms assume the
// alignment they are told, so a plan is made per alignment of its three pointers too.
uint32_t alignment(const void* p) {
  const uint64_t address = reinterpret_cast<uint64_t>(p);
  uint32_t a = 256;
  while (a > 1 && address % a != 0) a /= 2;
  return a;
}

cudaDataType_t blas_type(DType t) { return t == DType::f32 ? CUDA_R_32F : t == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F; }

// x [n] f32 -> the 16-bit weight dtype, rounded to nearest even (the library multiplies like types).
__global__ void __launch_bounds__(kBlockThreads)
    round_inputs_kernel(const float* x, int64_t n, DType dtype, uint16_t* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = dtype == DType::bf16 ? f32_to_bf16(x[i]) : f32_to_f16(x[i]);
}

// y[t, o] += bias[o]
__global__ void __launch_bounds__(kBlockThreads) add_bias_kernel(LinearArgs a) {
  const int64_t n = int64_t(a.tokens) * a.out;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a.y[i] += a.bias.at(0, i % a.out);
}

// What a call of one shape needs: the operation, its three layouts, the algorithm the library's
// heuristic picked, and (16-bit weights) a buffer for the rounded inputs. Kept for the process's
// life: recorded graphs hold their pointers.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t w = nullptr, x = nullptr, y = nullptr;
  cublasLtMatmulAlgo_t algo{};
  uint16_t* rounded = nullptr;  // [T, Din], or null for f32 weights
};

class Library {
 public:
  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;

  static Library& get() {
    static Library* library = new Library();  // never destroyed: graphs may outlive static teardown
    return *library;
  }

  // Column-major view of the row-major call: y^T [Dout, T] = op(W) x^T with W stored [Din, Dout]
  // (ld Din, transposed), x^T [Din, T] (ld Din), y^T [Dout, T] (ld Dout).
  const Plan& plan(const LinearArgs& a) {
    const uint32_t align_w = alignment(a.weight.data), align_x = a.weight.dtype == DType::f32 ? alignment(a.x) : 256,
                   align_y = alignment(a.y);
    const auto key = std::make_tuple(a.tokens, a.in, a.out, a.weight.dtype, align_w, align_x, align_y);
    const auto found = plans_.find(key);
    if (found != plans_.end()) return found->second;
    Plan p;
    const cudaDataType_t type = blas_type(a.weight.dtype);
    DLLM_BLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t transpose = CUBLAS_OP_T;
    DLLM_BLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)));
    DLLM_BLAS_CHECK(cublasLtMatrixLayoutCreate(&p.w, type, uint64_t(a.in), uint64_t(a.out), int64_t(a.in)));
    DLLM_BLAS_CHECK(cublasLtMatrixLayoutCreate(&p.x, type, uint64_t(a.in), uint64_t(a.tokens), int64_t(a.in)));
    DLLM_BLAS_CHECK(cublasLtMatrixLayoutCreate(&p.y, CUDA_R_32F, uint64_t(a.out), uint64_t(a.tokens), int64_t(a.out)));
    cublasLtMatmulPreference_t preference = nullptr;
    DLLM_BLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const size_t workspace = kWorkspaceBytes;
    DLLM_BLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                         &workspace, sizeof(workspace)));
    for (auto [attribute, bytes] : {std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_w},
                                    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_x},
                                    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_y},
                                    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_y}})
      DLLM_BLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &bytes, sizeof(bytes)));
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    DLLM_BLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.w, p.x, p.y, p.y, preference, 1, &result, &count));
    DLLM_BLAS_CHECK(cublasLtMatmulPreferenceDestroy(preference));
    DLLM_CHECK(count > 0, "cuBLASLt has no algorithm for a linear of ", a.tokens, " tokens, ", a.in, " -> ", a.out,
               " in ", dtype_name(a.weight.dtype));
    p.algo = result.algo;
    if (a.weight.dtype != DType::f32)
      p.rounded = static_cast<uint16_t*>(alloc(size_t(a.tokens) * size_t(a.in) * sizeof(uint16_t)));
    return plans_.emplace(key, p).first->second;
  }

  void run(const LinearArgs& a) {
    const Plan& p = plan(a);
    const void* x = a.x;
    if (p.rounded) {
      launch_elementwise("vendor linear: inputs to 16 bits", round_inputs_kernel, int64_t(a.tokens) * a.in, a.x,
                         int64_t(a.tokens) * a.in, a.weight.dtype, p.rounded);
      x = p.rounded;
    }
    const float one = 1.0f, zero = 0.0f;
    DLLM_BLAS_CHECK(cublasLtMatmul(handle_, p.op, &one, a.weight.data, p.w, x, p.x, &zero, a.y, p.y, a.y, p.y, &p.algo,
                                   workspace_, kWorkspaceBytes, stream()));
    if (!a.bias.empty()) launch_elementwise("vendor linear: bias", add_bias_kernel, int64_t(a.tokens) * a.out, a);
  }

 private:
  Library() {
    DLLM_BLAS_CHECK(cublasLtCreate(&handle_));
    workspace_ = alloc(kWorkspaceBytes);
  }

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<std::tuple<int, int, int, DType, uint32_t, uint32_t, uint32_t>, Plan> plans_;
};

#endif

}  // namespace

bool vendor_linear_available() {
#if defined(DLLM_EMU) || defined(DLLM_HAVE_CUBLASLT)
  return true;
#else
  return false;
#endif
}

void vendor_linear(const LinearArgs& a) {
  DLLM_CHECK(vendor_linear_available(), "the vendor linear variant needs ", kVendorLinearNeeds);
  if (a.tokens == 0 || a.out == 0) return;
#if defined(DLLM_EMU)
  DLLM_LAUNCH(1, 1, reference_linear_kernel)(a);
  DLLM_GPU_LAUNCHED("vendor linear (the emulator's reference)");
#elif defined(DLLM_HAVE_CUBLASLT)
  Library::get().run(a);
#endif
}

}  // namespace dllm::gpu
