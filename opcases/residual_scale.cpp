// residual_scale: ZAYA1's learned residual merge and its input scaling (no r_scale), against
// ref::residual_scale (one precision: element-wise), every weight dtype; 17 tokens row by row.
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

Case<ResidualScaleArgs> random_case(int t, int d, DType dt, bool merge) {
  Case<ResidualScaleArgs> c;
  c.name = "residual_scale T=" + std::to_string(t) + " D=" + std::to_string(d) + " " + dtype_name(dt) +
           (merge ? " merge" : " input");
  c.build = [=](Arena& arena) {
    const float* h = arena.in(random_floats(size_t(t) * d, uint32_t(t + d)));
    const WeightView hs = arena.in(make_weights(1, d, dt, 1)), hb = arena.in(make_weights(1, d, dt, 2));
    const WeightView rs = merge ? arena.in(make_weights(1, d, dt, 3)) : WeightView{};
    const WeightView rb = arena.in(make_weights(1, d, dt, 4));
    return ResidualScaleArgs{t,  d,  h,  hs,
                             hb, rs, rb, arena.inout("r", random_floats(size_t(t) * d, uint32_t(t + d + 1)))};
  };
  return c;
}

}  // namespace

const Op<ResidualScaleArgs>& residual_scale_op() {
  static const Op<ResidualScaleArgs> op = [] {
    Op<ResidualScaleArgs> op;
    op.name = "residual_scale";
    op.ref32 = op.ref64 = ref::residual_scale;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        // a rounding of the products (FMA contraction on the device) at most
        {"elementwise", Device::gpu, gpu::residual_scale, f32_reference(1e-6), true},
#endif
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int t : {1, 3, 7, 37})
        for (int d : {1, 7, 97, 2048})
          for (bool merge : {false, true}) op.cases.push_back(random_case(t, d, dt, merge));
    op.row_cases = {random_case(17, 2048, DType::bf16, true)};
    op.rows = [](const ResidualScaleArgs& a, int first, int count) {
      ResidualScaleArgs r = a;
      r.tokens = count, r.h = a.h + int64_t(first) * a.dim, r.r = a.r + int64_t(first) * a.dim;
      return r;
    };
    op.row_count = [](const ResidualScaleArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
