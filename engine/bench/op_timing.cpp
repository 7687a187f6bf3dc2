#include "engine/bench/op_timing.h"

#include "core/check.h"
#include "core/clock.h"

namespace dllm {

OpTimingBackend::OpTimingBackend(Backend& inner) : inner_(inner) {
  DLLM_CHECK(&inner.memory() == &host_memory(),
             "op timing needs a backend that runs on the host (--backend cpu): ", inner.name(),
             "'s ops return before its device has finished them");
}

template <typename Args>
void OpTimingBackend::timed(const char* op, void (Backend::*run)(const Args&), const Args& a) {
  const Clock::time_point t0 = Clock::now();
  (inner_.*run)(a);
  Total& t = totals_[op];
  t.seconds += seconds_since(t0);
  ++t.calls;
}

void OpTimingBackend::embedding(const EmbeddingArgs& a) { timed("embedding", &Backend::embedding, a); }
void OpTimingBackend::rmsnorm(const RmsnormArgs& a) { timed("rmsnorm", &Backend::rmsnorm, a); }
void OpTimingBackend::linear(const LinearArgs& a) { timed("linear", &Backend::linear, a); }
void OpTimingBackend::rope(const RopeArgs& a) { timed("rope", &Backend::rope, a); }
void OpTimingBackend::attention(const AttentionArgs& a) { timed("attention", &Backend::attention, a); }
void OpTimingBackend::kv_write(const KvWriteArgs& a) { timed("kv_write", &Backend::kv_write, a); }
void OpTimingBackend::swiglu(const SwigluArgs& a) { timed("swiglu", &Backend::swiglu, a); }
void OpTimingBackend::add(const AddArgs& a) { timed("add", &Backend::add, a); }
void OpTimingBackend::argmax(const ArgmaxArgs& a) { timed("argmax", &Backend::argmax, a); }
void OpTimingBackend::sample(const SampleArgs& a) { timed("sample", &Backend::sample, a); }
void OpTimingBackend::sample_divergence(const SampleDivergenceArgs& a) {
  timed("sample_divergence", &Backend::sample_divergence, a);
}
void OpTimingBackend::cca_state(const CcaStateArgs& a) { timed("cca_state", &Backend::cca_state, a); }
void OpTimingBackend::cca_conv(const CcaConvArgs& a) { timed("cca_conv", &Backend::cca_conv, a); }
void OpTimingBackend::cca_qk(const CcaQkArgs& a) { timed("cca_qk", &Backend::cca_qk, a); }
void OpTimingBackend::zaya_router(const ZayaRouterArgs& a) { timed("zaya_router", &Backend::zaya_router, a); }
void OpTimingBackend::moe(const MoeArgs& a) { timed("moe", &Backend::moe, a); }
void OpTimingBackend::residual_scale(const ResidualScaleArgs& a) {
  timed("residual_scale", &Backend::residual_scale, a);
}

}  // namespace dllm
