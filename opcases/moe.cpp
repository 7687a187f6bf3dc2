// moe: ZAYA1's top-1 SwiGLU experts against ref::moe, both skip routes, the skip route among the
// tokens' experts; odd shapes, the tiny-zaya and tiny-tidar-zaya shapes, and zaya1-8b's expert shape
// (2048 x 2048) with 3 of its 16 experts (the per-token math does not depend on E); 17 tokens row by row;
// timed at zaya1-8b's shape.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

Case<MoeArgs> random_case(int t, int d, int f, int e, DType dt, SkipRoute skip) {
  Case<MoeArgs> c;
  c.name = "moe T=" + std::to_string(t) + " D=" + std::to_string(d) + " F=" + std::to_string(f) +
           " E=" + std::to_string(e) + " " + dtype_name(dt) +
           (skip == SkipRoute::zero ? " skip zero" : " skip identity");
  c.build = [=](Arena& arena) {
    const uint32_t seed = uint32_t(d * 3 + f + e);
    return MoeArgs{t,
                   d,
                   f,
                   e,
                   skip,
                   arena.in(random_floats(size_t(t) * d, uint32_t(t))),
                   arena.in(random_ints(size_t(t), 0, e + 1, uint32_t(t + 1))),  // the skip route included
                   arena.in(random_floats(size_t(t), uint32_t(t + 2))),
                   arena.in(make_weights(int64_t(e) * 2 * f, d, dt, seed, 1.0f / std::sqrt(float(d)))),
                   arena.in(make_weights(int64_t(e) * d, f, dt, seed + 1, 1.0f / std::sqrt(float(f)))),
                   arena.out("y", size_t(t) * d),
                   arena.scratch("act", size_t(t) * f)};
  };
  return c;
}

// Timed at zaya1-8b's expert shape (D = F = 2048, 16 experts, bf16 zeros), tokens routed round-robin
// over 10 experts: bytes are the touched experts' weights, which the grouped kernel reads once each.
Case<MoeArgs> bench_case(int t) {
  const int d = 2048, f = 2048, experts = 16, touched = 10;
  Case<MoeArgs> c;
  c.name = "zaya1-8b 2048x2048 E16";
  c.build = [=](Arena& arena) {
    std::vector<int32_t> routes(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) routes[size_t(i)] = i % touched;
    const WeightView gate_up{DType::bf16, arena.zeros<uint16_t>(size_t(experts) * 2 * f * d), int64_t(experts) * 2 * f,
                             d};
    const WeightView down{DType::bf16, arena.zeros<uint16_t>(size_t(experts) * d * f), int64_t(experts) * d, f};
    return MoeArgs{t,
                   d,
                   f,
                   experts,
                   SkipRoute::zero,
                   arena.zeros<float>(size_t(t) * d),
                   arena.in(routes),
                   arena.zeros<float>(size_t(t)),
                   gate_up,
                   down,
                   arena.zeros<float>(size_t(t) * d),
                   arena.zeros<float>(size_t(t) * f)};
  };
  c.tokens = t, c.host = false;
  c.bytes = double(std::min(t, touched)) * 3.0 * d * f * 2, c.flops = 6.0 * t * d * f;
  return c;
}

}  // namespace

const Op<MoeArgs>& moe_op() {
  static const Op<MoeArgs> op = [] {
    Op<MoeArgs> op;
    op.name = "moe";
    op.ref32 = ref::moe<float>, op.ref64 = ref::moe<double>;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"grouped", Device::gpu, gpu::moe, f32_reference(4e-6), true},  // gpu-invariant uses it in every mode
#endif
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (auto [d, f, e] : {std::tuple{1, 1, 1}, {7, 97, 3}, {97, 7, 2}, {64, 64, 4}, {128, 128, 16}, {2048, 2048, 3}})
        for (int t : {1, 3, 7, 37})
          for (SkipRoute skip : {SkipRoute::zero, SkipRoute::identity}) {
            if (d == 2048 && t > 7) continue;
            op.cases.push_back(random_case(t, d, f, e, dt, skip));
            op.cases.back().emulator = d < 2048 || t == 1;
          }
    op.row_cases = {random_case(17, 2048, 2048, 3, DType::bf16, SkipRoute::identity)};
    for (int t : {1, 17, 68}) op.bench.push_back(bench_case(t));
    op.rows = [](const MoeArgs& a, int first, int count) {
      MoeArgs r = a;
      r.tokens = count, r.x = a.x + int64_t(first) * a.dim, r.expert = a.expert + first, r.weight = a.weight + first;
      r.y = a.y + int64_t(first) * a.dim, r.act = a.act + int64_t(first) * a.ffn;
      return r;
    };
    op.row_count = [](const MoeArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
