// embedding: out[t] = table[ids[t]], against ref::embedding: bitwise, every table dtype.
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<EmbeddingArgs>& embedding_op() {
  static const Op<EmbeddingArgs> op = [] {
    Op<EmbeddingArgs> op;
    op.name = "embedding";
    op.ref32 = op.ref64 = ref::embedding;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"gather", Device::gpu, gpu::embedding, bitwise()},
#endif
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int t : {1, 3, 7, 37, 97, 1025})
        for (int d : {1, 7, 97, 1025}) {
          Case<EmbeddingArgs> c;
          c.name = "embedding T=" + std::to_string(t) + " D=" + std::to_string(d) + " " + dtype_name(dt);
          c.build = [=](Arena& arena) {
            const int32_t* ids = arena.in(random_ints(size_t(t), 0, 97, uint32_t(t)));
            const WeightView table = arena.in(make_weights(97, d, dt, uint32_t(t + d)));
            return EmbeddingArgs{t, d, ids, table, arena.out("out", size_t(t) * d)};
          };
          op.cases.push_back(c);
        }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
