// norm_linear: linear on rmsnorm's rows, against ref::rmsnorm then ref::linear. Token counts around
// the gemv's sweep of 4 and the tiles' 16 and 32, widths on and off the 16-byte loads, every weight
// dtype (the norm's in the same), llama3-8b's k/v shape, and passes of 37 and 68 tokens row by row.
#include <cmath>
#include <string>
#include <tuple>

#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

// T rows of x (values up to 3, so the norm's factor matters) normalised with a norm weight of Din in
// dt, then weights [Dout, Din] in dt scaled by 1/sqrt(Din); a bias where `bias`.
Case<NormLinearArgs> random_case(int t, int in, int out, DType dt, bool bias) {
  const uint32_t seed = uint32_t(in * 5 + out);
  const float scale = 1.0f / std::sqrt(float(in));
  const auto inputs = [=] { return random_floats(size_t(t) * in, uint32_t(t * 13 + in), 3.0f); };
  const auto norm_weight = [=] { return make_weights(1, in, dt, uint32_t(in + 1)); };
  Case<NormLinearArgs> c;
  c.name = "norm_linear T=" + std::to_string(t) + " Din=" + std::to_string(in) + " Dout=" + std::to_string(out) + " " +
           dtype_name(dt) + (bias ? " bias" : "");
  c.build = [=](Arena& arena) {
    float* normed = arena.scratch("normed", size_t(t) * in);
    const WeightView b = bias ? arena.in(make_weights(1, out, DType::f32, uint32_t(out))) : WeightView{};
    return NormLinearArgs{RmsnormArgs{t, in, 1e-6f, arena.in(inputs()), arena.in(norm_weight()), normed},
                          LinearArgs{t, in, out, normed, arena.in(make_weights(out, in, dt, seed, scale)), b,
                                     arena.out("y", size_t(t) * out)}};
  };
  c.emulator = t * out <= 8'000 && int64_t(t) * in * out <= 1'000'000;
  c.weights = dt;
  c.magnitude = [=] {  // sum |x w| of each output, x the normalised rows
    const std::vector<float> x = inputs();
    std::vector<float> normed(x.size());
    ref::rmsnorm<double>(RmsnormArgs{t, in, 1e-6f, x.data(), norm_weight().view, normed.data()});
    return linear_magnitudes(normed, make_weights(out, in, dt, seed, scale).values, t, in, out);
  };
  return c;
}

// A timed call on zeros: llama3-8b's layer `label`, weights [Dout, Din] in bf16.
Case<NormLinearArgs> bench_case(const std::string& label, int t, int in, int out) {
  Case<NormLinearArgs> c;
  c.name = label + " " + std::to_string(out) + "x" + std::to_string(in) + " bf16";
  c.build = [=](Arena& arena) {
    float* normed = arena.zeros<float>(size_t(t) * in);
    const WeightView norm{DType::bf16, arena.zeros<uint16_t>(size_t(in)), 1, in};
    const WeightView w{DType::bf16, arena.zeros<uint16_t>(size_t(in) * out), out, in};
    return NormLinearArgs{RmsnormArgs{t, in, 1e-5f, arena.zeros<float>(size_t(t) * in), norm, normed},
                          LinearArgs{t, in, out, normed, w, {}, arena.zeros<float>(size_t(t) * out)}};
  };
  c.host = false;
  c.tokens = t, c.weights = DType::bf16;
  c.bytes = 2.0 * in * out + 4.0 * t * (in + out);
  c.flops = 2.0 * t * in * double(out);
  return c;
}

NormLinearArgs rows(const NormLinearArgs& a, int first, int count) {
  NormLinearArgs r = a;
  const int64_t skip = int64_t(first) * a.norm.dim;
  r.norm.rows = r.linear.tokens = count;
  r.norm.x = a.norm.x + skip, r.norm.y = a.norm.y + skip, r.linear.x = r.norm.y;
  r.linear.y = a.linear.y + int64_t(first) * a.linear.out;
  return r;
}

}  // namespace

const Op<NormLinearArgs>& norm_linear_op() {
  static const Op<NormLinearArgs> op = [] {
    Op<NormLinearArgs> op;
    op.name = "norm_linear";
    op.ref32 = ref::norm_linear<float>, op.ref64 = ref::norm_linear<double>;
    op.variants = {
        // the CPU backend's: the two ops one after the other (Backend::norm_linears)
        {"unfused", Device::host,
         [](const NormLinearArgs& a) {
           cpu::rmsnorm(a.norm);
           cpu::linear(a.linear);
         },
         f32_reference(2e-6), true},
#ifdef DLLM_HAVE_GPU
        // the linear variants, normalising while they stage their inputs
        {"gemv", Device::gpu, [](const NormLinearArgs& a) { gpu::norm_linear(a, gpu::LinearVariant::gemv); },
         f32_reference(2e-6)},
        {"tiled", Device::gpu, [](const NormLinearArgs& a) { gpu::norm_linear(a, gpu::LinearVariant::tiled); },
         f32_reference(2e-6), true},
        {"mma", Device::gpu, [](const NormLinearArgs& a) { gpu::norm_linear(a, gpu::LinearVariant::mma); },
         bf16_inputs(), true, gpu::mma_available},
        {"mma_f32", Device::gpu, [](const NormLinearArgs& a) { gpu::norm_linear(a, gpu::LinearVariant::mma_f32); },
         f32_reference(2e-6), true, gpu::mma_available, true},
#endif
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int t : {1, 2, 3, 4, 5, 17, 37})
        for (int in : {1, 7, 64, 1025})
          for (int out : {7, 97}) op.cases.push_back(random_case(t, in, out, dt, (t + in + out) % 2 == 0));
    // llama3-8b's k/v on a 17-token verify pass (GPU devices only: the linear op has the other shapes)
    op.cases.push_back(random_case(17, 4096, 1024, DType::bf16, false));
    op.cases.back().host = op.cases.back().emulator = false;
    op.row_cases.push_back(random_case(37, 64, 97, DType::bf16, true));
    op.row_cases.push_back(random_case(68, 1024, 512, DType::f16, false));
    op.row_cases.back().emulator = false;
    for (auto [label, out] : {std::tuple{"q", 4096}, {"kv", 1024}, {"gate", 14336}})
      for (int t : {1, 4, 17, 68}) op.bench.push_back(bench_case(label, t, 4096, out));
    op.rows = rows;
    op.row_count = [](const NormLinearArgs& a) { return a.linear.tokens; };
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
