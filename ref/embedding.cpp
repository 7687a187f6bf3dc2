#include "core/check.h"
#include "ref/ref.h"

namespace dllm::ref {

void embedding(const EmbeddingArgs& a) {
  for (int t = 0; t < a.tokens; ++t) {
    const int32_t id = a.ids[t];
    DLLM_ASSERT(id >= 0 && id < a.table.rows);
    for (int c = 0; c < a.dim; ++c) a.out[int64_t(t) * a.dim + c] = a.table.at(id, c);
  }
}

}  // namespace dllm::ref
