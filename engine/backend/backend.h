// A backend runs the ops of engine/core/ops.h on its device. Transformer::forward is written once
// against this interface; CpuBackend runs on the host, a GpuBackend (built with DLLM_GPU) on a GPU.
#pragma once
#include <memory>
#include <string>

#include "engine/core/ops.h"

namespace dllm {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual void embedding(const EmbeddingArgs& a) = 0;
  virtual void rmsnorm(const RmsnormArgs& a) = 0;
  virtual void linear(const LinearArgs& a) = 0;
  virtual void rope(const RopeArgs& a) = 0;
  virtual void attention(const AttentionArgs& a) = 0;
  virtual void kv_write(const KvWriteArgs& a) = 0;
  virtual void swiglu(const SwigluArgs& a) = 0;
  virtual void add(const AddArgs& a) = 0;
  // ZAYA1 ops; a backend without them refuses zaya models.
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
