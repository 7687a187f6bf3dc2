#include "ref/ref.h"

namespace dllm::ref {

void rope_kv_write(const RopeKvWriteArgs& a) {
  rope(a.q);
  rope(a.k);
  kv_write(a.kv);
}

}  // namespace dllm::ref
