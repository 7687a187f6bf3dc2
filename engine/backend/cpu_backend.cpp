#include "engine/backend/cpu_backend.h"

#include <sys/mman.h>

#include <cstdint>
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

constexpr size_t kHugePage = size_t(2) << 20;

CpuBackend::HugePageRegion::HugePageRegion(size_t bytes) {
  mapped_ = (bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage;  // room to align the start
  mapping_ = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw std::bad_alloc();
  aligned_ = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(mapping_) + kHugePage - 1) / kHugePage * kHugePage);
  madvise(aligned_, mapped_ - kHugePage, MADV_HUGEPAGE);  // before the first touch; a refusal is harmless
}

CpuBackend::HugePageRegion::~HugePageRegion() { munmap(mapping_, mapped_); }

ModelWeights CpuBackend::resident(const ModelWeights& w) {
  ModelWeights r = w;
  // a copy's bytes in the region, rounded up to a cache line
  const auto padded_size = [](const WeightView* v) {
    return (size_t(v->rows * v->cols) * dtype_size(v->dtype) + 63) / 64 * 64;
  };
  std::vector<WeightView*> fresh;  // tileable, not copied yet: each stored tensor once
  size_t bytes = 0;
  for (WeightView* v : linear_weights(r)) {
    if (!cpu::tileable(*v)) continue;
    const auto it = tiled_.find(v->data);
    if (it == tiled_.end()) {
      tiled_.emplace(v->data, nullptr), fresh.push_back(v), bytes += padded_size(v);
    } else if (it->second) {
      v->data = it->second, v->layout = WeightLayout::tiles;  // copied by an earlier call
    } else {
      fresh.push_back(v);  // a second view of a tensor first seen in this call: copied once, below
    }
  }
  if (bytes == 0) return r;
  // A margin of a quarter of the copies' size for everything else the run allocates.
  const std::optional<MemoryLimit> limit = available_memory();
  if (limit && size_t(limit->bytes) < bytes + bytes / 4) {
    for (WeightView* v : fresh) tiled_.erase(v->data);
    return w;
  }
  char* next = regions_.emplace_back(std::make_unique<HugePageRegion>(bytes))->data();
  for (WeightView* v : fresh) {
    void*& copy = tiled_.at(v->data);
    if (copy) {
      v->data = copy, v->layout = WeightLayout::tiles;
    } else {
      copy = next, next += padded_size(v);
      *v = cpu::tile_weights(*v, copy);
    }
  }
  return r;
}

void CpuBackend::embedding(const EmbeddingArgs& a) { ref::embedding(a); }
void CpuBackend::rmsnorm(const RmsnormArgs& a) { cpu::rmsnorm(a); }
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
  fail("--backend ", name, " is not available: use --backend cpu, cpu-bf16, gpu, gpu-invariant, gpu-mma or gpu-vendor",
       " (each GPU name also with -eager: no graphs)");
#else
  fail("--backend ", name, " is not available in this build: use --backend cpu or cpu-bf16",
       " (GPU backends gpu, gpu-invariant, gpu-mma and gpu-vendor come with -DDLLM_GPU=CUDA|HIP)");
#endif
}

}  // namespace dllm
