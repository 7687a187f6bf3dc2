// rope: the NeoX rotary embedding in place, against ref::rope (one precision: element-wise); partial
// rotary dims, positions up to 100000 at theta 500000.
#include <tuple>

#include "opcases/ops.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<RopeArgs>& rope_op() {
  static const Op<RopeArgs> op = [] {
    Op<RopeArgs> op;
    op.name = "rope";
    op.ref32 = op.ref64 = ref::rope;
    op.variants = {
        {"threaded", Device::host, [](const RopeArgs& a) { cpu::rope(a); }, bitwise()},  // ref::'s expression
#ifdef DLLM_HAVE_GPU
        {"elementwise", Device::gpu, gpu::rope, f32_reference(1e-6)},  // a rounding of the two products (FMA) at most
#endif
    };
    for (int t : {1, 3, 7, 37, 97, 1025})
      for (auto [heads, dh, rotary] : {std::tuple{1, 2, 2}, {3, 64, 64}, {8, 128, 128}, {2, 96, 48}}) {
        Case<RopeArgs> c;
        c.name = "rope T=" + std::to_string(t) + " H=" + std::to_string(heads) + " Dh=" + std::to_string(dh) +
                 " R=" + std::to_string(rotary);
        c.build = [=](Arena& arena) {
          const int32_t* pos = arena.in(random_ints(size_t(t), 0, 100000, uint32_t(t)));
          float* x = arena.inout("x", random_floats(size_t(t) * heads * dh, uint32_t(t + dh)));
          return RopeArgs{t, heads, dh, rotary, 500000.0f, pos, x};
        };
        op.cases.push_back(c);
      }
    // The 0.6B shape's queries, 16 heads of 128; the positions repeat, so cpu::rope times its rotation
    // with the angles kept, as in all but the first of a pass's calls.
    for (int t : {1, 16, 64}) {
      Case<RopeArgs> c;
      c.name = "H=16 Dh=128";
      c.build = [=](Arena& arena) {
        const int32_t* pos = arena.in(random_ints(size_t(t), 0, 4096, uint32_t(t)));
        float* x = arena.inout("x", random_floats(size_t(t) * 16 * 128, uint32_t(t)));
        return RopeArgs{t, 16, 128, 128, 1000000.0f, pos, x};
      };
      c.tokens = t, c.bytes = 8.0 * t * 16 * 128, c.device = false;
      op.bench.push_back(c);
      op.ref_bench.push_back(c);
    }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
