// The GPU kernels: host-callable entry points taking the ops.h Args structs with device pointers.
// Each op has its ref:: twin (ref/<op>.cpp), a kernel file kernels/gpu/<op>.cu and a test against
// the reference (tests/gpu/). Launches and copies go to one stream in issue order; every call and
// launch is checked and a failure throws dllm::Error. Host-only interface: it never spells a vendor
// name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "core/ops.h"

namespace dllm::gpu {

// Device memory. alloc returns zeroed memory; every call throws on failure.
void* alloc(size_t bytes);
void release(void* p) noexcept;
void upload(void* dst, const void* src, size_t bytes);    // host -> device
void download(void* dst, const void* src, size_t bytes);  // device -> host (waits for the device)
void copy(void* dst, const void* src, size_t bytes);      // device -> device (asynchronous)
void synchronize();

// A recorded sequence of device work (a CUDA/HIP graph). The constructor runs `issue` with the stream
// capturing: the kernel launches and device-to-device copies it issues are recorded, not run, and an
// allocation, a host copy or a synchronisation in it throws. launch() then runs the whole sequence
// with one call, with the pointers and scalar arguments it was recorded with.
class Graph {
 public:
  explicit Graph(const std::function<void()>& issue);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void launch();

 private:
  void* graph_ = nullptr;
  void* exec_ = nullptr;
};

// Times device work between two points on the stream (kernel micro-benchmarks).
class Timer {
 public:
  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start();
  double stop_seconds();  // waits for the device

 private:
  void* begin_ = nullptr;
  void* end_ = nullptr;
};

// How reductions are ordered. invariant: one kernel shape for every pass size, so a token's result
// is bitwise the same alone or inside a 306-token pass (the lossless gate on the GPU). fast: the
// kernel shape is chosen by the pass size (results agree within tolerance only). fast_mma: fast, with
// matrix-unit tiles on bf16 inputs for passes of kMmaMinTokens or more where mma_available()
// (opt-in: the inputs are rounded to bf16).
enum class Reduction { fast, invariant, fast_mma };
inline constexpr int kMmaMinTokens = 16;

// Linear kernel variants. gemv: the shape of an AR step (1..4 tokens): each warp streams one or two
// weight rows with several 16-byte loads in flight per lane, against the inputs staged in shared
// memory; the weights are read once per 4 tokens. tiled: 64 outputs x 16 tokens per block through
// shared memory, f32 FMAs (any weight dtype; the invariant mode's shape where mma_f32 does not run).
// mma: matrix-unit tiles of 32 tokens x 64 outputs, bf16 inputs and f32 accumulation: mma.sync
// m16n8k16 on NVIDIA sm_80+, MFMA 16x16x16 on AMD CDNA2/3 (see mma_available()). mma_f32: the same
// tiles on bf16 weights with each f32 input as three bf16 terms that sum to it exactly, so only the
// sums round (the f32 reference's precision, three instructions per product). Both mma variants sum
// in a fixed column order whatever the pass size, so a token's result is bitwise the same alone or in
// any pass.
enum class LinearVariant { gemv, tiled, mma, mma_f32 };
// Whether this build and device run the mma variants (a CUDA build on sm_80 or newer, a HIP build on
// gfx90a or gfx94x, the emulator at either warp size), and what it needs otherwise (for error messages).
inline constexpr const char* kMmaNeeds =
    "an NVIDIA GPU of sm_80 or newer (CUDA build) or an AMD CDNA2/3 GPU, gfx90a or gfx94x (HIP build)";
bool mma_available();
// The vendor's GEMM as a linear variant (kernels/gpu/linear_vendor.cu), the baseline the own kernels
// are reported against: cuBLASLt in a CUDA build that found it (the weights' dtype for both operands:
// 16-bit weights take inputs rounded to it; f32 accumulation); the CPU emulator computes it through
// ref::linear. Any pass size; not batch-invariant (the library picks its algorithm by shape).
inline constexpr const char* kVendorLinearNeeds =
    "a CUDA build that found cuBLASLt (AMD's BLAS libraries are not in Debian 12: HIP builds have none)";
bool vendor_linear_available();
void vendor_linear(const LinearArgs& a);
// Attention variants. single_pass: one block per (2 consecutive tokens, up to 4 query heads sharing a
// kv head) over all their keys, each K and V row loaded once for those heads, and once for both tokens
// where their visible lists hold it at the same index (a pass's cache prefix). split_keys: keys cut
// into fixed chunks of kAttentionChunk processed by separate blocks, then merged in chunk order (long
// contexts with few tokens; no merge where every list fits one chunk; batch-invariant).
// split_balanced: the same with as many chunks as fill the device at once, each at least 32 keys
// (gpu's AR steps; not batch-invariant: the chunks follow the pass's size). tiles: flash attention on
// matrix units, a block per (tile of query rows sharing a kv head, kv head, chunk of keys), each staged
// K/V tile serving all the tile's rows; Q, K, V and the softmax weights rounded to bf16 (opt-in:
// gpu-mma; where mma_available(): mma.sync on NVIDIA sm_80+, MFMA on AMD gfx90a/gfx94x, the emulator
// at either warp size). tiles_f32: the same tiles with each f32 input as bf16 terms (split_bf16x3),
// six instructions per product, within about 4 f32 ulps of each product exact (gpu, where it fits
// and the call has at least 16 query rows per kv head); not batch-invariant (a row's keys are grouped
// by the tile's hull and the key chunks follow the grid). tiles_invariant: tiles_f32 with each row's
// keys in tiles and chunks of kAttentionChunk fixed by its own visible list, merged in chunk order:
// batch-invariant (gpu-invariant, where it fits; else split_keys).
enum class AttentionVariant { single_pass, split_keys, split_balanced, tiles, tiles_f32, tiles_invariant };
inline constexpr int kAttentionChunk = 256;
// Largest head dimension the attention kernels take.
inline constexpr int kMaxHeadDim = 256;

// The variant picked for a call (by size for fast, fixed for invariant).
LinearVariant pick_linear(const LinearArgs& a, Reduction r);
AttentionVariant pick_attention(const AttentionArgs& a, Reduction r);

void embedding(const EmbeddingArgs& a);
void rmsnorm(const RmsnormArgs& a);
void linear(const LinearArgs& a, LinearVariant v);
// Independent linear layers, each with the result of linear(part, pick_linear(part, r)) bitwise: up to
// kMaxLinearParts at a time in one grid where the parts take gemv, or one mma variant, with one pass
// size and weight dtype (q/k/v or gate/up: fewer launches, and the small k/v rows no longer leave
// multiprocessors idle), one launch each otherwise (tiled).
inline constexpr int kMaxLinearParts = 4;
void linears(const LinearArgs* parts, int count, Reduction r);
// residual[T, Dout] += x W^T + bias, bitwise as linear(a, pick_linear(a, r)) then add into residual:
// one grid that adds in its epilogue where a takes gemv (a.y not written) or an mma variant (a.y is the
// split-K's scratch), both kernels after tiled (a.y is the scratch between them).
void linear_residual(const LinearArgs& a, float* residual, Reduction r);
// Linear on inputs the linear kernels compute while they stage them, so the rows between the two ops
// are never written (kernels/gpu/norm_linear.cu, swiglu_linear.cu): each with the bits of the two ops'
// kernels one after the other. norm_linear: rmsnorm(a.norm) then linear(a.linear, v); norm_linears:
// rmsnorm(norm) then linears(parts, count, r), every part's x being norm.y; swiglu_linear: swiglu(a.act)
// then linear(a.linear, v); swiglu_linear_residual: swiglu(act) then linear_residual(down, residual, r),
// down.x being act.out. The normalised rows and SwiGLU's output are never written (norm.y's first
// `rows` floats may hold the rows' factors, computed once where the linear kernel is not gemv).
void norm_linear(const NormLinearArgs& a, LinearVariant v);
void norm_linears(const RmsnormArgs& norm, const LinearArgs* parts, int count, Reduction r);
void swiglu_linear(const SwigluLinearArgs& a, LinearVariant v);
void swiglu_linear_residual(const SwigluArgs& act, const LinearArgs& down, float* residual, Reduction r);
void rope(const RopeArgs& a);
// Needs a.max_keys (sizes the split grid) and, for the variants that split keys (split_keys,
// split_balanced, the tiles), a.workspace of attention_workspace_floats(a) floats (the [T, Hq, chunks,
// Dh + 2] partial states).
void attention(const AttentionArgs& a, AttentionVariant v);
int attention_chunks(const AttentionArgs& a);
// Whether this build and device run the AttentionVariant::tiles variants, and whether a call's shape fits them
// (head_dim up to 128, up to 64 query heads per kv head).
bool attention_tiles_available();
bool attention_tiles_fit(const AttentionArgs& a);
size_t attention_workspace_floats(const AttentionArgs& a);
void kv_write(const KvWriteArgs& a);
// rope(q), rope(k) and kv_write in one kernel: one block per token forms the token's cos and sin once
// (as rope does) for all its query and key heads, then stores its rotated K and its V.
void rope_kv_write(const RopeKvWriteArgs& a);
void swiglu(const SwigluArgs& a);
void add(const AddArgs& a);
void softmax(const SoftmaxArgs& a);
void argmax(const ArgmaxArgs& a);
// Rows with temperature > 0 must be finite (kernels/gpu/sample.cu, both).
void sample(const SampleArgs& a);
void sample_divergence(const SampleDivergenceArgs& a);
// ZAYA1 (kernels/gpu/cca.cu, zaya_router.cu, moe.cu, residual_scale.cu). cca_conv takes head_dim up
// to kMaxHeadDim; zaya_router takes router_dim up to kMaxRouterDim and up to kMaxExperts experts (its
// shared arrays); moe needs a.act (the [T, F] workspace) and takes up to kMaxExperts experts.
inline constexpr int kMaxRouterDim = 1024;
inline constexpr int kMaxExperts = 256;
void cca_state(const CcaStateArgs& a);
void cca_conv(const CcaConvArgs& a);
void cca_qk(const CcaQkArgs& a);
void zaya_router(const ZayaRouterArgs& a);
void moe(const MoeArgs& a);
void residual_scale(const ResidualScaleArgs& a);

}  // namespace dllm::gpu
