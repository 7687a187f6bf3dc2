// swiglu: out = silu(gate) * up, against ref::swiglu (one precision: element-wise).
#include "opcases/ops.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

Case<SwigluArgs> random_case(int rows, int dim, const std::string& name) {
  Case<SwigluArgs> c;
  c.name = name;
  c.build = [=](Arena& arena) {
    const size_t n = size_t(rows) * dim;
    return SwigluArgs{rows, dim, arena.in(random_floats(n, uint32_t(rows + dim), 6.0f)), arena.in(random_floats(n, 3)),
                      arena.out("out", n)};
  };
  return c;
}

}  // namespace

const Op<SwigluArgs>& swiglu_op() {
  static const Op<SwigluArgs> op = [] {
    Op<SwigluArgs> op;
    op.name = "swiglu";
    op.ref32 = op.ref64 = ref::swiglu;
    op.variants = {
        {"threaded", Device::host, [](const SwigluArgs& a) { cpu::swiglu(a); }, bitwise()},  // ref::'s expression
#ifdef DLLM_HAVE_GPU
        {"elementwise", Device::gpu, gpu::swiglu, f32_reference(1e-6)},  // expf against libm's: ulps
#endif
    };
    for (int rows : {1, 3, 7, 37, 97, 1025})
      for (int dim : {1, 37, 1025})
        op.cases.push_back(
            random_case(rows, dim, "swiglu rows=" + std::to_string(rows) + " dim=" + std::to_string(dim)));
    for (int t : {1, 16, 64}) {  // the 0.6B shape's MLP, F = 3072
      Case<SwigluArgs> c = random_case(t, 3072, "F=3072");
      c.tokens = t, c.bytes = 12.0 * t * 3072, c.flops = 0;
      op.bench.push_back(c);
      op.ref_bench.push_back(c);
      op.bench.back().device = false;
    }
    return op;
  }();
  return op;
}

Case<SwigluArgs> swiglu_case(int rows, int dim) {
  return random_case(rows, dim, "T=" + std::to_string(rows) + " F=" + std::to_string(dim));
}

}  // namespace dllm::opcases
