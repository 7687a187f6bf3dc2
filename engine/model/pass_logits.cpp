#include "engine/model/pass_logits.h"

#include "core/check.h"

namespace dllm {

Buffer<float>& PassLogits::storage(int rows, int vocab) {
  vocab_ = vocab;
  device_.resize(size_t(rows) * size_t(vocab));
  argmax_.clear(), token_.clear();
  on_host_.assign(size_t(rows), false);
  return device_;
}

void PassLogits::set_tokens(std::vector<int32_t> argmax, std::vector<int32_t> token,
                            std::vector<MixDivergence> divergence) {
  DLLM_ASSERT(argmax.size() == on_host_.size() && token.size() == on_host_.size());
  DLLM_ASSERT(divergence.empty() || divergence.size() == on_host_.size());
  argmax_ = std::move(argmax), token_ = std::move(token), divergence_ = std::move(divergence);
}

const float* PassLogits::device_row(int r) const {
  DLLM_ASSERT(r >= 0 && r < rows());
  return device_.data() + size_t(r) * size_t(vocab_);
}

const float* PassLogits::row(int r) const {
  DLLM_ASSERT(r >= 0 && r < rows());
  const size_t offset = size_t(r) * size_t(vocab_);
  if (!on_host_[size_t(r)]) {
    on_host_[size_t(r)] = true;
    ++rows_read_;
    if (&device_.memory() != &host_memory()) {
      host_.resize(device_.size());
      device_.memory().download(host_.data() + offset, device_.data() + offset, size_t(vocab_) * sizeof(float));
    }
  }
  return &device_.memory() == &host_memory() ? device_.data() + offset : host_.data() + offset;
}

}  // namespace dllm
