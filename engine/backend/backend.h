// A backend runs the ops of core/ops.h on its device. Transformer::forward is written once
// against this interface; CpuBackend runs on the host, a GpuBackend (built with DLLM_GPU) on a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/ops.h"
#include "engine/backend/memory.h"

namespace dllm {

// The memory a backend's ops read and write: host memory for the CPU, device memory for a GPU.
class Memory {
 public:
  virtual ~Memory() = default;
  virtual void* alloc(size_t bytes) = 0;  // zeroed; throws when out of memory
  virtual void release(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;    // host -> this memory
  virtual void download(void* dst, const void* src, size_t bytes) = 0;  // this memory -> host
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;      // within this memory
};

// Plain host memory (the CPU backend's, and the KV cache's when none is given).
Memory& host_memory();

// Runs the device work of a forward pass. `shape` lists everything the work bakes into its launches
// (sizes, which ops run, the pointers of its buffers): two passes with equal shapes issue the same
// launches with the same arguments, the data they read aside. This one runs `issue` each time; the
// GPU backend's records the work as a graph once a shape repeats and launches that instead.
class PassRunner {
 public:
  virtual ~PassRunner() = default;
  virtual void run(const std::vector<int64_t>& shape, const std::function<void()>& issue) {
    (void)shape;
    issue();
  }
};

// The device a backend runs on (provenance of its numbers).
struct BackendDevice {
  std::string name;
  int64_t memory_bytes = 0;
  int multiprocessors = 0, warp_size = 0;
  int runtime_version = 0, driver_version = 0;
  bool emulated = false;  // the CPU emulator of the kernel language, not a GPU
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Memory& memory() { return host_memory(); }
  // What the memory this backend's runs live in has free, and where the number comes from (for the
  // memory plan's error): the host's (MemAvailable, the cgroup limit) by default, the device's on a
  // GPU. nullopt when it cannot be read.
  virtual std::optional<MemoryLimit> memory_limit() const { return available_memory(); }
  // nullopt on the host (the report's host record describes it); the GPU on a GPU backend.
  virtual std::optional<BackendDevice> device() const { return std::nullopt; }
  // Whether linear rounds its inputs (cpu-bf16: to bf16): its results are then held to that rounding,
  // not to the f32 reference's (the report's kernel-parity audit).
  virtual bool rounds_linear_inputs() const { return false; }
  // Whether attention rounds q, k, v and its softmax weights (gpu-mma's matrix-unit tiles: to bf16).
  virtual bool rounds_attention_inputs() const { return false; }
  // The element type of the KV caches for this backend's passes on a model (KvCache): f32, the exact
  // mode, unless its attention rounds K and V to bf16 anyway, where a bf16 cache halves the cache's
  // bytes and what attention reads, for the same results.
  virtual DType kv_cache_dtype(const ModelConfig&) const { return DType::f32; }
  // The weights as this backend's ops read them: the same views on the host; device copies on a GPU,
  // owned by the backend (each tensor uploaded once, however many Transformers share it).
  virtual ModelWeights resident(const ModelWeights& w) { return w; }
  // One per Transformer (its graphs hold its buffers' pointers).
  virtual std::unique_ptr<PassRunner> pass_runner() { return std::make_unique<PassRunner>(); }
  // The scratch attention(a) needs in a.workspace, from a's sizes and max_keys (none on the CPU).
  virtual size_t attention_workspace_floats(const AttentionArgs& a) const {
    (void)a;
    return 0;
  }
  virtual void embedding(const EmbeddingArgs& a) = 0;
  virtual void rmsnorm(const RmsnormArgs& a) = 0;
  virtual void linear(const LinearArgs& a) = 0;
  // Independent linear layers issued together (an AR step's q/k/v, gate/up), each with linear()'s
  // result: one after another here; a GPU launches them as one grid where it can.
  virtual void linears(std::span<const LinearArgs> parts) {
    for (const LinearArgs& a : parts) linear(a);
  }
  // residual[T, Dout] += x W^T + bias (the output projections), with linear() then add()'s result;
  // a.y is scratch. A GPU adds in the linear's epilogue where it can.
  virtual void linear_residual(const LinearArgs& a, float* residual) {
    linear(a);
    add(AddArgs{int64_t(a.tokens) * a.out, a.y, residual});
  }
  // rmsnorm(norm), then linears(parts) on its rows: every part's x is norm.y, which is scratch as in
  // NormLinearArgs (a GPU normalises the inputs while its linear kernels stage them and never writes
  // the normalised rows).
  virtual void norm_linears(const RmsnormArgs& norm, std::span<const LinearArgs> parts) {
    rmsnorm(norm);
    linears(parts);
  }
  // swiglu(act), then linear_residual(down, residual) on its output: down.x is act.out, which is
  // scratch as in SwigluLinearArgs (a GPU computes silu(gate) * up while its linear kernel stages it
  // and leaves act.out unwritten).
  virtual void swiglu_linear_residual(const SwigluArgs& act, const LinearArgs& down, float* residual) {
    swiglu(act);
    linear_residual(down, residual);
  }
  virtual void rope(const RopeArgs& a) = 0;
  virtual void attention(const AttentionArgs& a) = 0;
  virtual void kv_write(const KvWriteArgs& a) = 0;
  // The q/k norms given (rmsnorm of each head row), rope(q), rope(k), kv_write(kv): one kernel on the GPU.
  virtual void rope_kv_write(const RopeKvWriteArgs& a) {
    if (!a.q_norm.empty()) rmsnorm(a.head_norm(a.q, a.q_norm));
    if (!a.k_norm.empty()) rmsnorm(a.head_norm(a.k, a.k_norm));
    rope(a.q);
    rope(a.k);
    kv_write(a.kv);
  }
  virtual void swiglu(const SwigluArgs& a) = 0;
  virtual void add(const AddArgs& a) = 0;
  virtual void argmax(const ArgmaxArgs& a) = 0;
  virtual void sample(const SampleArgs& a) = 0;
  virtual void sample_divergence(const SampleDivergenceArgs& a) = 0;
  // ZAYA1 ops; a backend without them refuses zaya models.
  virtual void cca_state(const CcaStateArgs&) { no_zaya(); }
  virtual void cca_conv(const CcaConvArgs&) { no_zaya(); }
  virtual void cca_qk(const CcaQkArgs&) { no_zaya(); }
  virtual void zaya_router(const ZayaRouterArgs&) { no_zaya(); }
  virtual void moe(const MoeArgs&) { no_zaya(); }
  virtual void residual_scale(const ResidualScaleArgs&) { no_zaya(); }

 private:
  [[noreturn]] void no_zaya() const;
};

// "cpu"; throws naming the choices for anything this build does not have.
std::unique_ptr<Backend> make_backend(const std::string& name);

}  // namespace dllm
