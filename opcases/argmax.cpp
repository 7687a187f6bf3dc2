// argmax: each row's index of its largest value and its count of NaN/Inf, against ref::argmax: exact,
// on rows with planted ties (the maximum again anywhere), NaN, -Inf and +Inf; dims up to a
// 128256-token vocabulary; timed over that vocabulary.
#include <algorithm>
#include <limits>
#include <random>

#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<ArgmaxArgs>& argmax_op() {
  static const Op<ArgmaxArgs> op = [] {
    Op<ArgmaxArgs> op;
    op.name = "argmax";
    op.ref32 = op.ref64 = ref::argmax;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"block", Device::gpu, gpu::argmax, bitwise()},
#endif
    };
    for (int rows : {1, 3, 7, 37})
      for (int dim : {1, 7, 97, 1025, 128256}) {
        if (int64_t(rows) * dim > 5'000'000) continue;
        Case<ArgmaxArgs> c;
        c.name = "argmax rows=" + std::to_string(rows) + " dim=" + std::to_string(dim);
        c.build = [=](Arena& arena) {
          const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
          std::vector<float> x = random_floats(size_t(rows) * dim, uint32_t(rows * 7 + dim), 8.0f);
          std::mt19937 gen(uint32_t(rows + dim));
          for (int r = 0; r < rows; ++r) {
            float* row = x.data() + size_t(r) * dim;
            const int top = int(std::max_element(row, row + dim) - row);
            switch (r % 4) {
              case 1:
                row[gen() % uint32_t(dim)] = row[top];
                break;  // a tie anywhere
              case 2:
                row[gen() % uint32_t(dim)] = nan, row[gen() % uint32_t(dim)] = -inf;
                break;
              case 3:
                row[gen() % uint32_t(dim)] = inf;
                break;
              default:
                break;
            }
          }
          return ArgmaxArgs{rows, dim, arena.in(x), arena.out_ints("index", size_t(rows)),
                            arena.out_ints("non_finite", size_t(rows))};
        };
        c.emulator = int64_t(rows) * dim <= 500'000;
        op.cases.push_back(c);
      }
    // Timed over a 128256-token vocabulary: 17 rows of logits, the rows past them zeros (all ties, the
    // worst case).
    for (int rows : {1, 17, 306}) {
      Case<ArgmaxArgs> c;
      c.name = "V 128256";
      c.build = [=](Arena& arena) {
        const int dim = 128256;
        float* x = arena.zeros<float>(size_t(rows) * dim);
        const std::vector<float> logits = random_floats(size_t(std::min(rows, 17)) * dim, 7, 3.0f);
        arena.place().upload(x, logits.data(), logits.size() * sizeof(float));
        return ArgmaxArgs{rows, dim, x, arena.zeros<int32_t>(size_t(rows)), arena.zeros<int32_t>(size_t(rows))};
      };
      c.tokens = rows, c.host = false;
      c.bytes = 4.0 * rows * 128256 + 8.0 * rows, c.flops = double(rows) * 128256;
      op.bench.push_back(c);
    }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
