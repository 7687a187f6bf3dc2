#include "opcases/registry.h"

#include "opcases/ops.h"

namespace dllm::opcases {

const std::vector<Entry>& entries() {
  static const std::vector<Entry> all = [] {
    std::vector<Entry> e;
    add_entries(linear_op(), &e);
    add_entries(attention_op(), &e);
    add_entries(rmsnorm_op(), &e);
    add_entries(softmax_op(), &e);
    add_entries(swiglu_op(), &e);
    add_entries(add_op(), &e);
    add_entries(rope_op(), &e);
    add_entries(embedding_op(), &e);
    add_entries(kv_write_op(), &e);
    add_entries(rope_kv_write_op(), &e);
    add_entries(argmax_op(), &e);
    add_entries(cca_state_op(), &e);
    add_entries(cca_conv_op(), &e);
    add_entries(cca_qk_op(), &e);
    add_entries(moe_op(), &e);
    add_entries(residual_scale_op(), &e);
    add_entries(norm_linear_op(), &e);
    add_entries(swiglu_linear_op(), &e);
    return e;
  }();
  return all;
}

}  // namespace dllm::opcases
