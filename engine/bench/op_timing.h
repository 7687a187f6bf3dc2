// Where a forward pass's time goes, op by op: a Backend that runs another host backend's ops and
// adds up the wall time of each kind (linear, attention, rmsnorm, ...). `dllm-bench stepcost --ops`
// prints the split; whatever a pass spends outside the ops (dispatch, the Transformer's own host
// work) is its time minus their sum. Host backends only: a GPU's launches return before the work ends.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/backend/backend.h"

namespace dllm {

class OpTimingBackend final : public Backend {
 public:
  explicit OpTimingBackend(Backend& inner);  // throws unless inner runs on the host
  // Seconds and calls per op name since the last reset.
  struct Total {
    double seconds = 0;
    int64_t calls = 0;
  };
  const std::map<std::string, Total>& totals() const { return totals_; }
  void reset() { totals_.clear(); }

  std::string name() const override { return inner_.name(); }
  Memory& memory() override { return inner_.memory(); }
  std::optional<MemoryLimit> memory_limit() const override { return inner_.memory_limit(); }
  std::optional<BackendDevice> device() const override { return inner_.device(); }
  ModelWeights resident(const ModelWeights& w) override { return inner_.resident(w); }
  std::unique_ptr<PassRunner> pass_runner() override { return inner_.pass_runner(); }
  size_t attention_workspace_floats(const AttentionArgs& a) const override {
    return inner_.attention_workspace_floats(a);
  }
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
  template <typename Args>
  void timed(const char* op, void (Backend::*run)(const Args&), const Args& a);
  Backend& inner_;
  std::map<std::string, Total> totals_;
};

}  // namespace dllm
