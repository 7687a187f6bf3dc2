// linear: y = x W^T + bias, against ref::linear. Odd shapes (1, 3, 7, 37, 97, 1025) in every weight
// dtype with and without bias, model shapes (llama3-8b's k, gate and down; the 306-token single
// forward), and passes of 68 to 306 tokens row by row.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

// The weights in the tiles layout (core/dtype.h), copied on the arena: the CPU paths and the
// reference read either layout; the GPU kernels read rows only.
WeightView tiles_on(Arena& arena, const WeightView& rows) {
  return cpu::tile_weights(rows, arena.zeros<uint8_t>(size_t(rows.rows * rows.cols) * dtype_size(rows.dtype)));
}

// Weights scaled by 1/sqrt(Din) (outputs of order 1); a bias where `bias`, in f32 or in dt; stored in
// `layout` (the tiles layout: host cases only).
Case<LinearArgs> random_case(int t, int in, int out, DType dt, bool bias, DType bias_dt = DType::f32,
                             WeightLayout layout = WeightLayout::rows) {
  const uint32_t seed = uint32_t(in * 3 + out);
  const float scale = 1.0f / std::sqrt(float(in));
  Case<LinearArgs> c;
  c.name = "linear T=" + std::to_string(t) + " Din=" + std::to_string(in) + " Dout=" + std::to_string(out) + " " +
           dtype_name(dt) + (bias ? std::string(" bias ") + dtype_name(bias_dt) : "") +
           (layout == WeightLayout::tiles ? " tiles" : "");
  c.build = [=](Arena& arena) {
    const StoredWeights w = make_weights(out, in, dt, seed, scale);
    const WeightView b = bias ? arena.in(make_weights(1, out, bias_dt, uint32_t(out))) : WeightView{};
    const float* x = arena.in(random_floats(size_t(t) * in, uint32_t(t * 11 + in)));
    const WeightView stored = layout == WeightLayout::tiles ? tiles_on(arena, arena.in(w)) : arena.in(w);
    return LinearArgs{t, in, out, x, stored, b, arena.out("y", size_t(t) * out)};
  };
  c.device = c.emulator = layout == WeightLayout::rows;
  c.weights = dt;
  c.magnitude = [=] {
    return linear_magnitudes(random_floats(size_t(t) * in, uint32_t(t * 11 + in)),
                             make_weights(out, in, dt, seed, scale).values, t, in, out);
  };
  return c;
}

std::vector<Case<LinearArgs>> parity_cases() {
  std::vector<Case<LinearArgs>> cases;
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    for (int t : {1, 3, 7, 37, 97})
      for (int in : {1, 3, 7, 37, 97, 1025})
        for (int out : {1, 7, 97, 1025}) {
          if (int64_t(t) * in * out > 40'000'000) continue;
          Case<LinearArgs> c = random_case(t, in, out, dt, (t + in + out) % 2 == 0);
          c.emulator = t * out <= 8'000 && int64_t(t) * in * out <= 1'000'000;
          cases.push_back(c);
        }
    // more odd shapes, with a bias in the weights' dtype: Din past a register tile, a wide Din with one
    // token, the single forward's T; Din whole 16-byte groups but not a 64-column tile, the matrix
    // ending where the emulator's allocation does (a multiple of 256 bytes), so a kernel that reads
    // past a row's end in the last row faults
    for (auto [t, in, out] : {std::tuple{17, 1025, 37}, {1, 2048, 97}, {306, 128, 264}, {5, 16, 5}, {20, 24, 16}}) {
      Case<LinearArgs> c = random_case(t, in, out, dt, true, dt);
      c.emulator = t * out <= 8'000 && int64_t(t) * in * out <= 1'000'000;
      cases.push_back(c);
    }
    // the tiles layout: one group of rows and one piece, several of each, AR and panel passes
    for (auto [t, in, out] : {std::tuple{1, 16, 4}, {1, 1024, 100}, {3, 48, 36}, {7, 1040, 20}, {37, 96, 64}})
      cases.push_back(random_case(t, in, out, dt, t % 2 == 1, DType::f32, WeightLayout::tiles));
  }
  // llama3-8b: k/v 1024x4096, gate/up 14336x4096, down 4096x14336; an AR step, a 17-token verify pass;
  // and a 306-token single forward. Model scale: GPU devices only.
  for (int t : {1, 17})
    for (auto [in, out] : {std::pair{4096, 1024}, {4096, 14336}, {14336, 4096}})
      cases.push_back(random_case(t, in, out, DType::bf16, false));
  cases.push_back(random_case(306, 1024, 512, DType::bf16, true));
  for (size_t i = cases.size() - 7; i < cases.size(); ++i) cases[i].host = cases[i].emulator = false;
  return cases;
}

// A timed call on zeros: weights [Dout, Din] in dt, stored in `layout`; `label` names the layer (or is empty).
Case<LinearArgs> bench_case(const std::string& label, int t, int in, int out, DType dt,
                            WeightLayout layout = WeightLayout::rows) {
  Case<LinearArgs> c;
  c.name = (label.empty() ? "" : label + " ") + std::to_string(out) + "x" + std::to_string(in) + " " + dtype_name(dt) +
           (layout == WeightLayout::tiles ? " tiles" : "");
  c.build = [=](Arena& arena) {
    const WeightView w{dt, arena.zeros<uint8_t>(size_t(in) * out * dtype_size(dt)), out, in, layout};
    return LinearArgs{t, in, out, arena.zeros<float>(size_t(t) * in), w, {}, arena.zeros<float>(size_t(t) * out)};
  };
  c.tokens = t, c.weights = dt;
  c.bytes = double(dtype_size(dt)) * in * out + 4.0 * t * (in + out);
  c.flops = 2.0 * t * in * double(out);
  return c;
}

LinearArgs rows(const LinearArgs& a, int first, int count) {
  LinearArgs r = a;
  r.tokens = count, r.x = a.x + int64_t(first) * a.in, r.y = a.y + int64_t(first) * a.out;
  return r;
}

}  // namespace

const Op<LinearArgs>& linear_op() {
  static const Op<LinearArgs> op = [] {
    Op<LinearArgs> op;
    op.name = "linear";
    op.ref32 = ref::linear<float>, op.ref64 = ref::linear<double>;
    op.variants = {
        {"portable", Device::host, [](const LinearArgs& a) { cpu::linear(a, cpu::Isa::portable); }, f32_reference(1e-6),
         true},
        {"avx2", Device::host, [](const LinearArgs& a) { cpu::linear(a, cpu::Isa::avx2); }, f32_reference(1e-6), true,
         [] { return cpu::runs(cpu::Isa::avx2); }},
        {"avx512", Device::host, [](const LinearArgs& a) { cpu::linear(a, cpu::Isa::avx512); }, f32_reference(1e-6),
         true, [] { return cpu::runs(cpu::Isa::avx512); }},
        // the inputs rounded to bf16 (bf16 weights; other dtypes take the exact path)
        {"avx512bf16", Device::host, [](const LinearArgs& a) { cpu::linear_bf16_dot(a); }, bf16_inputs(), true,
         cpu::has_bf16_dot},
#ifdef DLLM_HAVE_GPU
        {"gemv", Device::gpu, [](const LinearArgs& a) { gpu::linear(a, gpu::LinearVariant::gemv); },
         f32_reference(2e-6)},
        // the invariant mode's one shape (gpu::pick_linear)
        {"tiled", Device::gpu, [](const LinearArgs& a) { gpu::linear(a, gpu::LinearVariant::tiled); },
         f32_reference(2e-6), true},
        // the matrix units (mma.sync, MFMA) take the weights and inputs rounded to bf16 (bf16 weights stay
        // exact). One column order whatever the pass size: invariant.
        {"mma", Device::gpu, [](const LinearArgs& a) { gpu::linear(a, gpu::LinearVariant::mma); }, bf16_inputs(), true,
         gpu::mma_available},
        // the matrix units on bf16 weights with the inputs as three exact bf16 terms: f32 precision
        {"mma_f32", Device::gpu, [](const LinearArgs& a) { gpu::linear(a, gpu::LinearVariant::mma_f32); },
         f32_reference(2e-6), true, gpu::mma_available, true},
        // the baseline (cuBLASLt): 16-bit weights take inputs rounded to their dtype
        {"vendor", Device::gpu, gpu::vendor_linear, bf16_inputs(), false, gpu::vendor_linear_available},
#endif
    };
    op.cases = parity_cases();
    for (auto [t, in, out, dt] :
         {std::tuple{306, 300, 61, DType::bf16}, {68, 1024, 512, DType::bf16}, {306, 1024, 512, DType::bf16}})
      op.row_cases.push_back(random_case(t, in, out, dt, false));
    op.row_cases[0].emulator = op.row_cases[2].emulator = false;  // the emulator: the 68-token pass
    op.row_cases.push_back(random_case(68, 1024, 512, DType::f16, false, DType::f32, WeightLayout::tiles));
    // CPU: weights (8192 x 4096, 64 MiB in bf16) larger than the last-level cache, as a model's layers
    // are; the reference on 1024 x 1024. GPU: llama3-8b's q/o, k/v, gate/up, down and LM head.
    for (int t : {1, 2, 4, 8, 16, 17, 32, 68, 128, 306}) op.bench.push_back(bench_case("", t, 4096, 8192, DType::bf16));
    for (DType dt : {DType::f32, DType::f16})
      for (int t : {1, 16, 64}) op.bench.push_back(bench_case("", t, 4096, 8192, dt));
    // the CPU backend's layout (engine/backend/cpu_backend.h): the AR pass and the 16- and 64-token ones
    for (DType dt : {DType::bf16, DType::f16})
      for (int t : {1, 16, 64}) op.bench.push_back(bench_case("", t, 4096, 8192, dt, WeightLayout::tiles));
    for (Case<LinearArgs>& c : op.bench) c.device = false;
    for (auto [name, in, out] : {std::tuple{"q", 4096, 4096},
                                 {"kv", 4096, 1024},
                                 {"gate", 4096, 14336},
                                 {"down", 14336, 4096},
                                 {"lm_head", 4096, 128256}})
      for (int t : {1, 4, 17, 68, 306}) {
        op.bench.push_back(bench_case(name, t, in, out, DType::bf16));
        op.bench.back().host = false;
      }
    for (int t : {1, 4, 16, 17}) op.ref_bench.push_back(bench_case("", t, 1024, 1024, DType::bf16));
    op.rows = rows;
    op.row_count = [](const LinearArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

std::vector<double> linear_magnitudes(const std::vector<float>& x, const std::vector<float>& w, int tokens, int in,
                                      int out) {
  std::vector<double> m(size_t(tokens) * out);
  for (int t = 0; t < tokens; ++t)
    for (int o = 0; o < out; ++o)
      for (int i = 0; i < in; ++i)
        m[size_t(t) * out + o] += std::fabs(double(x[size_t(t) * in + i]) * w[size_t(o) * in + i]);
  return m;
}

Case<LinearArgs> linear_case(int tokens, const WeightView& w, const std::string& name) {
  Case<LinearArgs> c;
  c.name = name;
  c.build = [=](Arena& arena) {
    const float* x = arena.in(random_floats(size_t(tokens) * w.cols, 1));
    return LinearArgs{tokens, int(w.cols), int(w.rows), x, arena.in(w), {}, arena.out("y", size_t(tokens) * w.rows)};
  };
  c.magnitude = [=] {  // sum |x w| of each output (w read on the host)
    const std::vector<float> x = random_floats(size_t(tokens) * w.cols, 1);
    std::vector<double> m(size_t(tokens) * w.rows);
    for (int t = 0; t < tokens; ++t)
      for (int64_t o = 0; o < w.rows; ++o)
        for (int64_t i = 0; i < w.cols; ++i)
          m[size_t(t * w.rows + o)] += std::fabs(double(x[size_t(t * w.cols + i)]) * w.at(o, i));
    return m;
  };
  return c;
}

}  // namespace dllm::opcases
