#include "engine/backend/cpu_backend.h"

#include "engine/core/check.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"

namespace dllm {

void CpuBackend::embedding(const EmbeddingArgs& a) { ref::embedding(a); }
void CpuBackend::rmsnorm(const RmsnormArgs& a) { ref::rmsnorm<float>(a); }
void CpuBackend::linear(const LinearArgs& a) { cpu::linear(a); }
void CpuBackend::rope(const RopeArgs& a) { ref::rope(a); }
void CpuBackend::attention(const AttentionArgs& a) { ref::attention<float>(a); }
void CpuBackend::kv_write(const KvWriteArgs& a) { ref::kv_write(a); }
void CpuBackend::swiglu(const SwigluArgs& a) { ref::swiglu(a); }
void CpuBackend::add(const AddArgs& a) { ref::add(a); }
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
  fail("--backend ", name, " is not available in this build: use --backend cpu",
       " (GPU backends come with -DDLLM_GPU=CUDA|HIP)");
}

}  // namespace dllm
