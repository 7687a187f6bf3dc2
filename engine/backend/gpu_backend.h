// The GPU backend (built with -DDLLM_GPU=CUDA|HIP): every op runs as a kernels/gpu kernel on device
// memory; the host sees the pass description going in and, per logits row, its token (argmax or
// sample) and non-finite count coming out (a full row only when a decoder asks for it).
// "gpu" picks each kernel variant by size (results within tolerance of the reference; f32 inputs
// throughout, on matrix units where the weights are bf16: gpu::LinearVariant::mma_f32);
// "gpu-invariant" uses one kernel shape whatever the pass size, so a token's logits are bitwise the
// same alone or in any pass (the lossless gate holds exactly on the GPU); "gpu-mma" is "gpu" with
// matrix units (opt-in: bf16 inputs; mma.sync on NVIDIA sm_80+, MFMA on AMD gfx90a/gfx94x) for the
// linear layers of passes of 16+ tokens and for attention; "gpu-vendor" is "gpu" with every linear
// layer through the vendor's GEMM (cuBLASLt), the baseline the own kernels are measured against.
// A pass whose shape repeats (every decode step after the first of its size) is recorded as a
// CUDA/HIP graph and replayed with one launch (GraphPassRunner), unless graphs are turned off (the
// "-eager" names).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "engine/backend/backend.h"
#include "kernels/gpu/gpu.h"

namespace dllm {

class GpuMemory final : public Memory {
 public:
  void* alloc(size_t bytes) override { return gpu::alloc(bytes); }
  void release(void* p) noexcept override { gpu::release(p); }
  void upload(void* dst, const void* src, size_t bytes) override { gpu::upload(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { gpu::download(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { gpu::copy(dst, src, bytes); }
};

// How the graphs of a backend's passes were used: recorded, and launched (each recorded graph's
// first run is a launch too); passes run without a graph are neither.
struct GraphStats {
  int64_t recorded = 0, launched = 0;
};

class GpuBackend final : public Backend {
 public:
  // Throws, saying why, when no GPU is visible.
  // vendor_linears: every linear layer through gpu::vendor_linear (needs gpu::vendor_linear_available()).
  explicit GpuBackend(gpu::Reduction reduction, bool graphs = true, bool vendor_linears = false);
  ~GpuBackend() override;
  GpuBackend(const GpuBackend&) = delete;
  GpuBackend& operator=(const GpuBackend&) = delete;

  std::string name() const override;
  Memory& memory() override { return memory_; }
  std::optional<MemoryLimit> memory_limit() const override;
  std::optional<BackendDevice> device() const override;
  ModelWeights resident(const ModelWeights& w) override;
  std::unique_ptr<PassRunner> pass_runner() override;
  size_t attention_workspace_floats(const AttentionArgs& a) const override {
    return gpu::attention_workspace_floats(a);
  }
  // gpu-mma: the matrix units (NVIDIA's mma.sync, AMD's MFMA) take the inputs of linear rounded to bf16.
  // gpu-vendor: 16-bit weights take inputs rounded to their dtype.
  bool rounds_linear_inputs() const override { return reduction_ == gpu::Reduction::fast_mma || vendor_linears_; }
  // gpu-mma: the tiles attention variant (matrix units) rounds its inputs to bf16.
  bool rounds_attention_inputs() const override {
    return reduction_ == gpu::Reduction::fast_mma && gpu::attention_tiles_available();
  }
  // bf16 where every attention call takes the tiles variant (it stages K and V as bf16: the same bits).
  DType kv_cache_dtype(const ModelConfig& cfg) const override;
  bool graphs() const { return graphs_; }
  const GraphStats& graph_stats() const { return graph_stats_; }
  void embedding(const EmbeddingArgs& a) override { gpu::embedding(a); }
  void rmsnorm(const RmsnormArgs& a) override { gpu::rmsnorm(a); }
  void linear(const LinearArgs& a) override;
  void linears(std::span<const LinearArgs> parts) override;
  void linear_residual(const LinearArgs& a, float* residual) override;
  // The RMSNorm before linears and the SwiGLU before the down projection are computed in the linear
  // kernels' input staging: no launches of their own (gpu-vendor: the unfused sequence).
  void norm_linears(const RmsnormArgs& norm, std::span<const LinearArgs> parts) override;
  void swiglu_linear_residual(const SwigluArgs& act, const LinearArgs& down, float* residual) override;
  void rope(const RopeArgs& a) override { gpu::rope(a); }
  void attention(const AttentionArgs& a) override { gpu::attention(a, gpu::pick_attention(a, reduction_)); }
  void kv_write(const KvWriteArgs& a) override { gpu::kv_write(a); }
  void rope_kv_write(const RopeKvWriteArgs& a) override { gpu::rope_kv_write(a); }
  void swiglu(const SwigluArgs& a) override { gpu::swiglu(a); }
  void add(const AddArgs& a) override { gpu::add(a); }
  void argmax(const ArgmaxArgs& a) override { gpu::argmax(a); }
  void sample(const SampleArgs& a) override { gpu::sample(a); }
  void sample_divergence(const SampleDivergenceArgs& a) override { gpu::sample_divergence(a); }
  // ZAYA1: one kernel shape per op whatever the pass size (per-token blocks), in every mode.
  void cca_state(const CcaStateArgs& a) override { gpu::cca_state(a); }
  void cca_conv(const CcaConvArgs& a) override { gpu::cca_conv(a); }
  void cca_qk(const CcaQkArgs& a) override { gpu::cca_qk(a); }
  void zaya_router(const ZayaRouterArgs& a) override { gpu::zaya_router(a); }
  void moe(const MoeArgs& a) override { gpu::moe(a); }
  void residual_scale(const ResidualScaleArgs& a) override { gpu::residual_scale(a); }

 private:
  WeightView upload(const WeightView& w);

  gpu::Reduction reduction_;
  bool graphs_;
  bool vendor_linears_;
  GraphStats graph_stats_;
  GpuMemory memory_;
  std::map<const void*, std::pair<void*, size_t>> uploaded_;  // host tensor -> its device copy (owned), bytes
};

// Appended to a GPU backend's name ("gpu-eager", "gpu-invariant-eager"): every op issued one by one,
// no graphs (the launch overhead that graphs remove, measured side by side).
inline constexpr const char* kEagerSuffix = "-eager";

// "gpu", "gpu-invariant", "gpu-mma" or "gpu-vendor", each optionally with kEagerSuffix; null for any
// other name.
std::unique_ptr<Backend> make_gpu_backend(const std::string& name);

}  // namespace dllm
