#include "engine/backend/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#if defined(DLLM_HAVE_GPU)
#include "engine/backend/gpu_backend.h"
#endif

namespace dllm {

namespace {

class HostMemory final : public Memory {
 public:
  void* alloc(size_t bytes) override {
    void* p = std::calloc(bytes ? bytes : 1, 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void release(void* p) noexcept override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

}  // namespace

Memory& host_memory() {
  static HostMemory memory;
  return memory;
}

namespace {

// The views of w that the forward pass hands to linear (transformer.cpp, zaya_blocks.cpp).
std::vector<WeightView*> linear_weights(ModelWeights& w) {
  std::vector<WeightView*> views{&w.lm_head};
  for (LayerWeights& l : w.layers)
    for (WeightView* v : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down, &l.v_delayed}) views.push_back(v);
  return views;
}

}  // namespace

ModelWeights CpuBackend::resident(const ModelWeights& w) {
  ModelWeights r = w;
  const std::vector<WeightView*> views = linear_weights(r);
  int64_t bytes = 0;
  for (const WeightView* v : views)
    if (cpu::tileable(*v) && !tiled_.count(v->data)) bytes += v->rows * v->cols * int64_t(dtype_size(v->dtype));
  // A margin of a quarter of the copies' size for everything else the run allocates.
  const std::optional<MemoryLimit> limit = available_memory();
  if (limit && limit->bytes < bytes + bytes / 4) return r;
  for (WeightView* v : views) {
    if (!cpu::tileable(*v)) continue;
    auto [it, fresh] = tiled_.try_emplace(v->data);
    const size_t size = size_t(v->rows * v->cols) * dtype_size(v->dtype);
    if (fresh) {
      it->second.reset(std::aligned_alloc(64, (size + 63) / 64 * 64));
      if (!it->second) tiled_.erase(it), throw std::bad_alloc();
      *v = cpu::tile_weights(*v, it->second.get());
    } else {
      v->data = it->second.get(), v->layout = WeightLayout::tiles;
    }
  }
  return r;
}

void CpuBackend::embedding(const EmbeddingArgs& a) { ref::embedding(a); }
void CpuBackend::rmsnorm(const RmsnormArgs& a) { ref::rmsnorm<float>(a); }
void CpuBackend::linear(const LinearArgs& a) { bf16_dot_ ? cpu::linear_bf16_dot(a) : cpu::linear(a); }
void CpuBackend::rope(const RopeArgs& a) { cpu::rope(a); }
void CpuBackend::attention(const AttentionArgs& a) { cpu::attention(a); }
void CpuBackend::kv_write(const KvWriteArgs& a) { ref::kv_write(a); }
void CpuBackend::swiglu(const SwigluArgs& a) { cpu::swiglu(a); }
void CpuBackend::add(const AddArgs& a) { ref::add(a); }
void CpuBackend::argmax(const ArgmaxArgs& a) { ref::argmax(a); }
void CpuBackend::sample(const SampleArgs& a) { ref::sample(a); }
void CpuBackend::sample_divergence(const SampleDivergenceArgs& a) { ref::sample_divergence(a); }
void CpuBackend::cca_state(const CcaStateArgs& a) { ref::cca_state(a); }
void CpuBackend::cca_conv(const CcaConvArgs& a) { ref::cca_conv<float>(a); }
void CpuBackend::cca_qk(const CcaQkArgs& a) { ref::cca_qk<float>(a); }
void CpuBackend::zaya_router(const ZayaRouterArgs& a) { ref::zaya_router<float>(a); }
void CpuBackend::moe(const MoeArgs& a) { ref::moe<float>(a); }
void CpuBackend::residual_scale(const ResidualScaleArgs& a) { ref::residual_scale(a); }

void Backend::no_zaya() const {
  fail("the ", name(), " backend does not run zaya (ZAYA1) models yet: use --backend cpu");
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu") return std::make_unique<CpuBackend>();
  if (name == "cpu-bf16") {
    DLLM_CHECK(cpu::has_bf16_dot(), "--backend cpu-bf16 needs AVX512-BF16 (avx512_bf16 in /proc/cpuinfo), which this ",
               "CPU lacks: use --backend cpu");
    return std::make_unique<CpuBackend>(true);
  }
#if defined(DLLM_HAVE_GPU)
  if (auto gpu = make_gpu_backend(name)) return gpu;
  fail("--backend ", name, " is not available: use --backend cpu, cpu-bf16, gpu, gpu-invariant or gpu-mma (each GPU",
       " name also with -eager: no graphs)");
#else
  fail("--backend ", name, " is not available in this build: use --backend cpu or cpu-bf16",
       " (GPU backends gpu, gpu-invariant and gpu-mma come with -DDLLM_GPU=CUDA|HIP)");
#endif
}

}  // namespace dllm
