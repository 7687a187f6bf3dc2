// swiglu_linear: linear on swiglu's output, against ref::swiglu then ref::linear. Token counts around
// the gemv's sweep of 4 and the tiles' 16 and 32, widths on and off the 16-byte loads, every weight
// dtype, llama3-8b's down projection, and passes of 37 and 68 tokens row by row.
#include <cmath>
#include <string>

#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

// T rows of gate (values up to 6, silu's curved part and both tails) and up, then weights [Dout, Din]
// in dt scaled by 1/sqrt(Din); a bias where `bias`.
Case<SwigluLinearArgs> random_case(int t, int in, int out, DType dt, bool bias) {
  const uint32_t seed = uint32_t(in * 7 + out);
  const float scale = 1.0f / std::sqrt(float(in));
  const size_t n = size_t(t) * in;
  const auto gate = [=] { return random_floats(n, uint32_t(t * 17 + in), 6.0f); };
  const auto up = [=] { return random_floats(n, uint32_t(t + in)); };
  Case<SwigluLinearArgs> c;
  c.name = "swiglu_linear T=" + std::to_string(t) + " Din=" + std::to_string(in) + " Dout=" + std::to_string(out) +
           " " + dtype_name(dt) + (bias ? " bias" : "");
  c.build = [=](Arena& arena) {
    float* act = arena.scratch("act", n);
    const WeightView b = bias ? arena.in(make_weights(1, out, DType::f32, uint32_t(out))) : WeightView{};
    return SwigluLinearArgs{SwigluArgs{t, in, arena.in(gate()), arena.in(up()), act},
                            LinearArgs{t, in, out, act, arena.in(make_weights(out, in, dt, seed, scale)), b,
                                       arena.out("y", size_t(t) * out)}};
  };
  c.emulator = t * out <= 8'000 && int64_t(t) * in * out <= 1'000'000;
  c.weights = dt;
  c.magnitude = [=] {  // sum |x w| of each output, x = silu(gate) * up
    const std::vector<float> g = gate(), u = up();
    std::vector<float> act(n);
    ref::swiglu(SwigluArgs{t, in, g.data(), u.data(), act.data()});
    return linear_magnitudes(act, make_weights(out, in, dt, seed, scale).values, t, in, out);
  };
  return c;
}

// A timed call on zeros: llama3-8b's down projection, weights [Dout, Din] in bf16.
Case<SwigluLinearArgs> bench_case(int t, int in, int out) {
  Case<SwigluLinearArgs> c;
  c.name = "down " + std::to_string(out) + "x" + std::to_string(in) + " bf16";
  c.build = [=](Arena& arena) {
    const size_t n = size_t(t) * in;
    float* act = arena.zeros<float>(n);
    const WeightView w{DType::bf16, arena.zeros<uint16_t>(size_t(in) * out), out, in};
    return SwigluLinearArgs{SwigluArgs{t, in, arena.zeros<float>(n), arena.zeros<float>(n), act},
                            LinearArgs{t, in, out, act, w, {}, arena.zeros<float>(size_t(t) * out)}};
  };
  c.host = false;
  c.tokens = t, c.weights = DType::bf16;
  c.bytes = 2.0 * in * out + 4.0 * t * (2 * in + out);
  c.flops = 2.0 * t * in * double(out);
  return c;
}

SwigluLinearArgs rows(const SwigluLinearArgs& a, int first, int count) {
  SwigluLinearArgs r = a;
  const int64_t skip = int64_t(first) * a.act.dim;
  r.act.rows = r.linear.tokens = count;
  r.act.gate = a.act.gate + skip, r.act.up = a.act.up + skip, r.act.out = a.act.out + skip, r.linear.x = r.act.out;
  r.linear.y = a.linear.y + int64_t(first) * a.linear.out;
  return r;
}

}  // namespace

const Op<SwigluLinearArgs>& swiglu_linear_op() {
  static const Op<SwigluLinearArgs> op = [] {
    Op<SwigluLinearArgs> op;
    op.name = "swiglu_linear";
    op.ref32 = ref::swiglu_linear<float>, op.ref64 = ref::swiglu_linear<double>;
    op.variants = {
        // the CPU backend's: the two ops one after the other (Backend::swiglu_linear_residual)
        {"unfused", Device::host,
         [](const SwigluLinearArgs& a) {
           cpu::swiglu(a.act);
           cpu::linear(a.linear);
         },
         f32_reference(2e-6), true},
#ifdef DLLM_HAVE_GPU
        // the linear variants, computing silu(gate) * up while they stage their inputs
        {"gemv", Device::gpu, [](const SwigluLinearArgs& a) { gpu::swiglu_linear(a, gpu::LinearVariant::gemv); },
         f32_reference(2e-6)},
        {"tiled", Device::gpu, [](const SwigluLinearArgs& a) { gpu::swiglu_linear(a, gpu::LinearVariant::tiled); },
         f32_reference(2e-6), true},
        {"mma", Device::gpu, [](const SwigluLinearArgs& a) { gpu::swiglu_linear(a, gpu::LinearVariant::mma); },
         bf16_inputs(), true, gpu::mma_available},
        {"mma_f32", Device::gpu, [](const SwigluLinearArgs& a) { gpu::swiglu_linear(a, gpu::LinearVariant::mma_f32); },
         f32_reference(2e-6), true, gpu::mma_available, true},
#endif
    };
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int t : {1, 2, 3, 4, 5, 17, 37})
        for (int in : {1, 7, 64, 1025})
          for (int out : {7, 97}) op.cases.push_back(random_case(t, in, out, dt, (t + in + out) % 2 == 1));
    // llama3-8b's down projection on an AR step (GPU devices only: the linear op has the other shapes)
    op.cases.push_back(random_case(1, 14336, 4096, DType::bf16, false));
    op.cases.back().host = op.cases.back().emulator = false;
    op.row_cases.push_back(random_case(37, 64, 97, DType::bf16, true));
    op.row_cases.push_back(random_case(68, 1024, 512, DType::f16, false));
    op.row_cases.back().emulator = false;
    for (int t : {1, 4, 17, 68}) op.bench.push_back(bench_case(t, 14336, 4096));
    op.rows = rows;
    op.row_count = [](const SwigluLinearArgs& a) { return a.linear.tokens; };
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
