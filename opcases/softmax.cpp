// softmax: y = softmax(x / temperature) row by row, against ref::softmax; odd dims up to a 128256-token
// vocabulary, two temperatures.
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<SoftmaxArgs>& softmax_op() {
  static const Op<SoftmaxArgs> op = [] {
    Op<SoftmaxArgs> op;
    op.name = "softmax";
    op.ref32 = ref::softmax<float>, op.ref64 = ref::softmax<double>;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"block", Device::gpu, gpu::softmax, f32_reference(1e-6)},
#endif
    };
    for (int rows : {1, 3, 7, 37})
      for (int dim : {1, 7, 97, 1025, 128256})
        for (float temperature : {1.0f, 0.7f}) {
          if (int64_t(rows) * dim > 5'000'000) continue;
          Case<SoftmaxArgs> c;
          c.name = "softmax rows=" + std::to_string(rows) + " dim=" + std::to_string(dim) +
                   " T=" + std::to_string(temperature);
          c.build = [=](Arena& arena) {
            const std::vector<float> x = random_floats(size_t(rows) * dim, uint32_t(rows + dim), 8.0f);
            return SoftmaxArgs{rows, dim, temperature, arena.in(x), arena.out("y", x.size())};
          };
          op.cases.push_back(c);
        }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
