// The report's kernel-parity audit passes for the CPU backend and catches a kernel that is off.
#include "engine/bench/kernel_parity.h"

#include <gtest/gtest.h>

#include "engine/model/model.h"

namespace {

// The CPU backend with a linear kernel that is wrong by one part in 1e4 on one output.
class OffByALittle : public dllm::Backend {
 public:
  std::string name() const override { return "off"; }
  void embedding(const dllm::EmbeddingArgs& a) override { cpu_->embedding(a); }
  void rmsnorm(const dllm::RmsnormArgs& a) override { cpu_->rmsnorm(a); }
  void linear(const dllm::LinearArgs& a) override {
    cpu_->linear(a);
    a.y[0] *= 1.0001f;
  }
  void rope(const dllm::RopeArgs& a) override { cpu_->rope(a); }
  void attention(const dllm::AttentionArgs& a) override { cpu_->attention(a); }
  void kv_write(const dllm::KvWriteArgs& a) override { cpu_->kv_write(a); }
  void swiglu(const dllm::SwigluArgs& a) override { cpu_->swiglu(a); }
  void add(const dllm::AddArgs& a) override { cpu_->add(a); }
  void argmax(const dllm::ArgmaxArgs& a) override { cpu_->argmax(a); }
  void sample(const dllm::SampleArgs& a) override { cpu_->sample(a); }
  void sample_divergence(const dllm::SampleDivergenceArgs& a) override { cpu_->sample_divergence(a); }

 private:
  std::unique_ptr<dllm::Backend> cpu_ = dllm::make_backend("cpu");
};

}  // namespace

TEST(KernelParity, CpuBackendPassesOnModelShapes) {
  const auto model = dllm::Model::load("preset:tiny-qwen2");
  const auto cpu = dllm::make_backend("cpu");
  const nlohmann::json rows = dllm::kernel_parity(*cpu, model->config(), model->weights());
  EXPECT_GE(rows.size(), 15u);
  for (const auto& r : rows) EXPECT_TRUE(r["pass"].get<bool>()) << r.dump();
}

TEST(KernelParity, AWrongKernelFails) {
  const auto model = dllm::Model::load("preset:tiny");
  OffByALittle off;
  const nlohmann::json rows = dllm::kernel_parity(off, model->config(), model->weights());
  int failed = 0;
  for (const auto& r : rows) failed += r["op"].get<std::string>().rfind("linear", 0) == 0 && !r["pass"].get<bool>();
  EXPECT_EQ(failed, 10);  // every linear row (q/up/down at T = 1, 17, 68 and the lm_head at T = 1)
}
