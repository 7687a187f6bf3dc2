// add: y += x (the residual stream), against ref::add: bitwise.
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<AddArgs>& add_op() {
  static const Op<AddArgs> op = [] {
    Op<AddArgs> op;
    op.name = "add";
    op.ref32 = op.ref64 = ref::add;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"elementwise", Device::gpu, gpu::add, bitwise()},
#endif
    };
    for (int rows : {1, 3, 7, 37, 97, 1025})
      for (int dim : {1, 37, 1025}) {
        Case<AddArgs> c;
        c.name = "add n=" + std::to_string(rows) + "x" + std::to_string(dim);
        c.build = [=](Arena& arena) {
          const size_t n = size_t(rows) * dim;
          return AddArgs{int64_t(n), arena.in(random_floats(n, uint32_t(rows + dim), 6.0f)),
                         arena.inout("y", random_floats(n, 3))};
        };
        op.cases.push_back(c);
      }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
