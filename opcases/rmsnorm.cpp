// rmsnorm: y = x / sqrt(mean(x^2) + eps) * weight, against ref::rmsnorm; out of place and in place
// (the q/k norm), odd row counts and dims up to 4096.
#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

Case<RmsnormArgs> random_case(int rows, int dim, DType dt, bool in_place) {
  Case<RmsnormArgs> c;
  c.name = "rmsnorm rows=" + std::to_string(rows) + " dim=" + std::to_string(dim) + " " + dtype_name(dt) +
           (in_place ? " in place" : "");
  c.build = [=](Arena& arena) {
    const std::vector<float> x = random_floats(size_t(rows) * dim, uint32_t(rows * 7 + dim), 3.0f);
    const WeightView w = arena.in(make_weights(1, dim, dt, uint32_t(dim)));
    if (in_place) {
      float* y = arena.inout("y", x);
      return RmsnormArgs{rows, dim, 1e-6f, y, w, y};
    }
    return RmsnormArgs{rows, dim, 1e-6f, arena.in(x), w, arena.out("y", x.size())};
  };
  return c;
}

Case<RmsnormArgs> bench_case(int rows, int dim) {
  Case<RmsnormArgs> c;
  c.name = "D " + std::to_string(dim);
  c.build = [=](Arena& arena) {
    const WeightView w{DType::bf16, arena.zeros<uint16_t>(size_t(dim)), 1, dim};
    return RmsnormArgs{
        rows, dim, 1e-5f, arena.zeros<float>(size_t(rows) * dim), w, arena.zeros<float>(size_t(rows) * dim)};
  };
  c.tokens = rows, c.bytes = 8.0 * rows * dim + 2.0 * dim, c.flops = 4.0 * rows * dim;
  return c;
}

}  // namespace

const Op<RmsnormArgs>& rmsnorm_op() {
  static const Op<RmsnormArgs> op = [] {
    Op<RmsnormArgs> op;
    op.name = "rmsnorm";
    op.ref32 = ref::rmsnorm<float>, op.ref64 = ref::rmsnorm<double>;
    // each row alone: batch invariant
    op.variants = {
        {"portable", Device::host, [](const RmsnormArgs& a) { cpu::rmsnorm(a, cpu::Isa::portable); },
         f32_reference(4e-7), true},
        {"avx2", Device::host, [](const RmsnormArgs& a) { cpu::rmsnorm(a, cpu::Isa::avx2); }, f32_reference(4e-7), true,
         [] { return cpu::runs(cpu::Isa::avx2); }},
        {"avx512", Device::host, [](const RmsnormArgs& a) { cpu::rmsnorm(a, cpu::Isa::avx512); }, f32_reference(4e-7),
         true, [] { return cpu::runs(cpu::Isa::avx512); }},
#ifdef DLLM_HAVE_GPU
        {"block", Device::gpu, gpu::rmsnorm, f32_reference(4e-7), true},
#endif
    };
    for (DType dt : {DType::f32, DType::bf16})
      for (int rows : {1, 3, 7, 37, 97, 1025})
        for (int dim : {1, 3, 64, 97, 1025, 4096})
          for (bool in_place : {false, true})
            if (int64_t(rows) * dim <= 4'000'000) op.cases.push_back(random_case(rows, dim, dt, in_place));
    op.row_cases.push_back(random_case(37, 1025, DType::bf16, false));
    op.row_cases.push_back(random_case(37, 97, DType::f32, true));
    op.rows = [](const RmsnormArgs& a, int first, int count) {
      const int64_t skip = int64_t(first) * a.dim;
      return RmsnormArgs{count, a.dim, a.eps, a.x + skip, a.weight, a.y + skip};
    };
    op.row_count = [](const RmsnormArgs& a) { return a.rows; };
    for (int t : {1, 17, 306}) op.bench.push_back(bench_case(t, 4096));
    return op;
  }();
  return op;
}

Case<RmsnormArgs> rmsnorm_case(int rows, const WeightView& w, float eps) {
  Case<RmsnormArgs> c;
  c.name = "T=" + std::to_string(rows) + " D=" + std::to_string(w.cols);
  c.build = [=](Arena& arena) {
    const int dim = int(w.cols);
    return RmsnormArgs{rows,        dim,
                       eps,         arena.in(random_floats(size_t(rows) * dim, 1)),
                       arena.in(w), arena.out("y", size_t(rows) * dim)};
  };
  return c;
}

}  // namespace dllm::opcases
