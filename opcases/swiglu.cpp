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
        // exp as kernels/cpu/exp.h computes it, not libm's: ulps; the same bits on every path
        {"portable", Device::host, [](const SwigluArgs& a) { cpu::swiglu(a, cpu::Isa::portable); }, f32_reference(1e-6),
         true},
        {"avx2", Device::host, [](const SwigluArgs& a) { cpu::swiglu(a, cpu::Isa::avx2); }, f32_reference(1e-6), true,
         [] { return cpu::runs(cpu::Isa::avx2); }},
        {"avx512", Device::host, [](const SwigluArgs& a) { cpu::swiglu(a, cpu::Isa::avx512); }, f32_reference(1e-6),
         true, [] { return cpu::runs(cpu::Isa::avx512); }},
#ifdef DLLM_HAVE_GPU
        {"elementwise", Device::gpu, gpu::swiglu, f32_reference(1e-6), true},  // expf against libm's: ulps
#endif
    };
    for (int rows : {1, 3, 7, 37, 97, 1025})
      for (int dim : {1, 37, 1025})
        op.cases.push_back(
            random_case(rows, dim, "swiglu rows=" + std::to_string(rows) + " dim=" + std::to_string(dim)));
    // element-wise, so each token's row alone equals the whole call whatever the threads' split
    op.row_cases.push_back(random_case(37, 1025, "swiglu rows=37 dim=1025"));
    op.rows = [](const SwigluArgs& a, int first, int count) {
      const int64_t skip = int64_t(first) * a.dim;
      return SwigluArgs{count, a.dim, a.gate + skip, a.up + skip, a.out + skip};
    };
    op.row_count = [](const SwigluArgs& a) { return a.rows; };
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
