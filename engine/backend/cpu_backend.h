// The CPU backend: the fast kernels of kernels/cpu where there is one (linear, attention, rmsnorm, rope,
// swiglu), the reference ops (f32 accumulation) elsewhere. Every op reduces in an order fixed per token, so a
// token's logits are bitwise identical whatever the pass size (batch invariance).
#pragma once
#include <cstdint>
#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"

namespace dllm {

class CpuBackend final : public Backend {
 public:
  // bf16_dot: linear on the AVX512-BF16 path (kernels/cpu/cpu.h: linear_bf16_dot), "cpu-bf16".
  explicit CpuBackend(bool bf16_dot = false) : bf16_dot_(bf16_dot) {}
  std::string name() const override { return bf16_dot_ ? "cpu-bf16" : "cpu"; }
  bool rounds_linear_inputs() const override { return bf16_dot_; }
  // The linear layers' weights copied into the tiles layout (core/dtype.h), which an AR step streams
  // at about twice the bandwidth; each tensor once, however many Transformers share it, into memory
  // advised for transparent huge pages (HugePageRegion). Where the copies would not fit in the memory
  // available, the weights stay as they are (slower, same bits).
  ModelWeights resident(const ModelWeights& w) override;
  void embedding(const EmbeddingArgs& a) override;
  void rmsnorm(const RmsnormArgs& a) override;
  void linear(const LinearArgs& a) override;
  void rope(const RopeArgs& a) override;
  void attention(const AttentionArgs& a) override;
  void kv_write(const KvWriteArgs& a) override;
  void swiglu(const SwigluArgs& a) override;
  void add(const AddArgs& a) override;
  void argmax(const ArgmaxArgs& a) override;
  void sample(const SampleArgs& a) override;
  void sample_divergence(const SampleDivergenceArgs& a) override;
  void cca_state(const CcaStateArgs& a) override;
  void cca_conv(const CcaConvArgs& a) override;
  void cca_qk(const CcaQkArgs& a) override;
  void zaya_router(const ZayaRouterArgs& a) override;
  void moe(const MoeArgs& a) override;
  void residual_scale(const ResidualScaleArgs& a) override;

 private:
  // Zeroed anonymous memory aligned to 2 MiB and advised (Linux madvise) for transparent huge pages:
  // an AR step streams every weight once, and with 4 KiB pages each 4 KiB of it costs a TLB miss.
  // Where the kernel refuses huge pages the memory is used as it is.
  class HugePageRegion {
   public:
    explicit HugePageRegion(size_t bytes);
    ~HugePageRegion();
    HugePageRegion(const HugePageRegion&) = delete;
    HugePageRegion& operator=(const HugePageRegion&) = delete;
    char* data() const { return aligned_; }

   private:
    void* mapping_ = nullptr;
    size_t mapped_ = 0;
    char* aligned_ = nullptr;
  };
  bool bf16_dot_;
  std::vector<std::unique_ptr<HugePageRegion>> regions_;  // one per resident() call that tiled something
  std::map<const void*, void*> tiled_;                    // stored tensor -> its tiled copy in a region
};

}  // namespace dllm
