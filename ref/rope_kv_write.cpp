#include "ref/ref.h"

namespace dllm::ref {

// The ops one after the other: each norm given, then rope(q), rope(k), kv_write(kv).
template <typename Acc>
void rope_kv_write(const RopeKvWriteArgs& a) {
  if (!a.q_norm.empty()) rmsnorm<Acc>(a.head_norm(a.q, a.q_norm));
  if (!a.k_norm.empty()) rmsnorm<Acc>(a.head_norm(a.k, a.k_norm));
  rope(a.q);
  rope(a.k);
  kv_write(a.kv);
}

template void rope_kv_write<float>(const RopeKvWriteArgs&);
template void rope_kv_write<double>(const RopeKvWriteArgs&);

}  // namespace dllm::ref
