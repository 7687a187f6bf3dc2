// The GPU kernels whose checks do not fit an op case's rule (the op cases run in test_gpu_opcases.cpp):
// graphs replaying their work, the grouped and fused linears and the q/k norms in rope_kv_write
// bitwise against the kernels they replace, sampling (a different token only at the reference's
// knife edges), logit mixing with rejection sampling and its divergence, and the ZAYA1 router (a
// different expert only at a near tie), each with guard values around every output. Skipped when no
// GPU is visible.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <tuple>

#include "core/pass.h"
#include "kernels/gpu/gpu.h"
#include "ref/ref.h"
#include "tests/gpu/gpu_testing.h"
#include "tests/testing.h"

using namespace dllm;
using namespace dllm::gputest;

namespace {

// A stored weight in device memory.
struct DeviceWeights {
  testutil::StoredWeights host;
  Buffer<uint8_t> bytes;
  WeightView view;  // device view
  DeviceWeights(int64_t rows, int64_t cols, DType dt, uint32_t seed, float scale = 1.0f)
      : host(testutil::make_weights(rows, cols, dt, seed, scale)), bytes(to_device(host.bytes)), view(host.view) {
    view.data = bytes.data();
  }
};

}  // namespace

// A graph records launches and device copies without running them; each launch() replays them in
// order on what the buffers hold at that moment (a decode step's graph reads each step's uploads).
TEST(GpuKernels, GraphReplaysItsWorkOnTheCurrentData) {
  DLLM_REQUIRE_GPU();
  const int n = 1025;
  const std::vector<float> y0(size_t(n), 0.5f);
  Buffer<float> xd(device(), size_t(n));
  Guarded y(y0), z{static_cast<size_t>(n)};
  gpu::Graph graph([&] {
    gpu::add(AddArgs{n, xd.data(), y.data()});                 // y += x
    gpu::copy(z.data(), y.data(), size_t(n) * sizeof(float));  // z = y
  });
  expect_bitwise(y.read("y after recording"), y0, "recording ran the add");
  std::vector<float> want = y0;
  for (uint32_t launch = 0; launch < 3; ++launch) {
    const std::vector<float> x = testutil::random_floats(size_t(n), 10 + launch);
    xd.assign(x.data(), x.size());  // the recorded pointer, new data
    ref::add(AddArgs{n, x.data(), want.data()});
    graph.launch();
    const std::string what = "launch " + std::to_string(launch);
    expect_bitwise(y.read(what + " y"), want, what + " y");
    expect_bitwise(z.read(what + " z"), want, what + " z");
  }
}

// gpu::linears: a run of gemv parts, or of parts that take one mma variant, shares one grid (q/k/v,
// gate/up); each output equals, bitwise, the part run alone by gpu::linear, for every weight dtype,
// one and two rows per warp, vector and element loads, a bias, a run longer than one grid takes
// (parts 0-4), a part of another pass size between two runs, and 17-token passes: mma_f32 (bf16
// under fast), mma (fast_mma), tiled (f32 and f16 under fast), with split-K at Din 520.
TEST(GpuKernels, LinearsInOneGridEqualEachAlone) {
  DLLM_REQUIRE_GPU();
  const std::vector<int> outs = {97, 37, 37, 5, 1025, 7, 64};
  constexpr size_t kOtherSizePart = 5;  // tokens + 4
  for (gpu::Reduction r : {gpu::Reduction::fast, gpu::Reduction::fast_mma})
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (auto [in, tokens] : {std::pair{64, 1}, {37, 1}, {64, 3}, {37, 3}, {64, 17}, {37, 17}, {520, 17}}) {
        if (r == gpu::Reduction::fast_mma && tokens < 17) continue;  // the same kernels as fast
        const int other = tokens + 4;
        const Buffer<float> x = to_device(testutil::random_floats(size_t(other) * in, uint32_t(in + tokens)));
        const DeviceWeights bias(1, outs[1], DType::f32, 99);
        std::deque<DeviceWeights> weights;  // neither is movable: a deque keeps them in place
        std::deque<Guarded> grouped, alone;
        std::vector<LinearArgs> parts;
        for (size_t p = 0; p < outs.size(); ++p) {
          const int t = p == kOtherSizePart ? other : tokens;
          weights.emplace_back(outs[p], in, dt, uint32_t(7 * p + 1), 0.2f);
          grouped.emplace_back(size_t(t) * outs[p]);
          alone.emplace_back(size_t(t) * outs[p]);
        }
        for (size_t p = 0; p < outs.size(); ++p)
          parts.push_back(LinearArgs{p == kOtherSizePart ? other : tokens, in, outs[p], x.data(), weights[p].view,
                                     p == 1 ? bias.view : WeightView{}, grouped[p].data()});
        gpu::linears(parts.data(), int(parts.size()), r);
        for (size_t p = 0; p < outs.size(); ++p) {
          LinearArgs a = parts[p];
          a.y = alone[p].data();
          gpu::linear(a, gpu::pick_linear(a, r));
          const std::string what = std::string(dtype_name(dt)) + " in " + std::to_string(in) + " tokens " +
                                   std::to_string(a.tokens) + " part " + std::to_string(p) + " mode " +
                                   std::to_string(int(r));
          const std::vector<float> got = grouped[p].read(what + " grouped");
          expect_finite(got, what);
          expect_bitwise(got, alone[p].read(what + " alone"), what);
        }
      }
}

// gpu::linear_residual adds x W^T + bias into the residual with the bits of linear then add: in the
// epilogue of gemv (up to 4 tokens) and of the mma variants (mma_f32: bf16 above 4 tokens under fast;
// mma: 17 tokens under fast_mma; split-K at Din 520), with the two kernels after tiled.
TEST(GpuKernels, LinearIntoTheResidualEqualsLinearThenAdd) {
  DLLM_REQUIRE_GPU();
  for (gpu::Reduction r : {gpu::Reduction::fast, gpu::Reduction::fast_mma})
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int in : {64, 37, 520})
        for (int tokens : {1, 4, 5, 17}) {
          if (r == gpu::Reduction::fast_mma && tokens < 17) continue;  // the same kernels as fast
          const int out = 97;
          const Buffer<float> x = to_device(testutil::random_floats(size_t(tokens) * in, uint32_t(in + tokens)));
          const DeviceWeights w(out, in, dt, 5, 0.2f), bias(1, out, DType::f32, 6);
          const std::vector<float> start = testutil::random_floats(size_t(tokens) * out, 8);
          Guarded fused(start), unfused(start), y(size_t(tokens) * out), scratch(size_t(tokens) * out);
          const LinearArgs a{tokens, in, out, x.data(), w.view, bias.view, scratch.data()};
          gpu::linear_residual(a, fused.data(), r);
          LinearArgs alone = a;
          alone.y = y.data();
          gpu::linear(alone, gpu::pick_linear(alone, r));
          gpu::add(AddArgs{int64_t(tokens) * out, y.data(), unfused.data()});
          const std::string what = std::string(dtype_name(dt)) + " in " + std::to_string(in) + " tokens " +
                                   std::to_string(tokens) + " mode " + std::to_string(int(r));
          const std::vector<float> got = fused.read(what + " fused");
          expect_finite(got, what);
          expect_bitwise(got, unfused.read(what + " unfused"), what);
          scratch.read(what + " scratch");  // its guards
        }
}

// A pass whose token tiles x split output tiles overflow the mma kernel's split-K counters runs as
// several launches over ranges of token tiles. The emulator's counters hold 64 (a GPU's 65,536), so
// there 1,064 tokens over 2 output tiles of 2 splits take two launches; each token's output equals,
// bitwise, the same token's in passes of 133 tokens (the mma variants are batch-invariant), with and
// without a residual, for both mma precisions.
TEST(GpuKernels, MmaPassesLongerThanOneLaunchEqualShortPasses) {
  DLLM_REQUIRE_GPU();
  if (!gpu::mma_available()) GTEST_SKIP() << "the mma linear variants need matrix units: " << gpu::kMmaNeeds;
  const int in = 512, out = 128, tokens = 1064, short_pass = 133;
  const Buffer<float> x = to_device(testutil::random_floats(size_t(tokens) * in, 3));
  const DeviceWeights w(out, in, DType::bf16, 4, 0.2f), bias(1, out, DType::f32, 5);
  const std::vector<float> start = testutil::random_floats(size_t(tokens) * out, 6);
  for (gpu::LinearVariant v : {gpu::LinearVariant::mma, gpu::LinearVariant::mma_f32}) {
    const std::string what = v == gpu::LinearVariant::mma ? "mma" : "mma_f32";
    const gpu::Reduction r = v == gpu::LinearVariant::mma ? gpu::Reduction::fast_mma : gpu::Reduction::invariant;
    ASSERT_EQ(gpu::pick_linear(LinearArgs{tokens, in, out, x.data(), w.view, bias.view, nullptr}, r), v) << what;
    Guarded whole(size_t(tokens) * out), in_parts(size_t(tokens) * out);
    Guarded whole_residual(start), parts_residual(start), scratch(size_t(tokens) * out);
    gpu::linear(LinearArgs{tokens, in, out, x.data(), w.view, bias.view, whole.data()}, v);
    gpu::linear_residual(LinearArgs{tokens, in, out, x.data(), w.view, bias.view, scratch.data()},
                         whole_residual.data(), r);
    for (int t0 = 0; t0 < tokens; t0 += short_pass) {
      const int n = std::min(short_pass, tokens - t0);
      const float* xs = x.data() + int64_t(t0) * in;
      gpu::linear(LinearArgs{n, in, out, xs, w.view, bias.view, in_parts.data() + int64_t(t0) * out}, v);
      gpu::linear_residual(LinearArgs{n, in, out, xs, w.view, bias.view, scratch.data()},
                           parts_residual.data() + int64_t(t0) * out, r);
    }
    const std::vector<float> got = whole.read(what + " whole");
    expect_finite(got, what);
    expect_bitwise(got, in_parts.read(what + " in parts"), what);
    expect_bitwise(whole_residual.read(what + " residual, whole"), parts_residual.read(what + " residual, in parts"),
                   what + " into the residual");
  }
}

// gpu::norm_linears normalises the rows while the linear kernels stage them: every part's output has
// the bits of gpu::rmsnorm then gpu::linears, and the normalised rows are never written. Every weight
// dtype (the norm's in the same), 16-byte and element loads on rows wider than the block (so every
// warp's sum counts and their order shows), a bias, AR steps (one gemv grid), 5 and 17 tokens (tiled,
// or mma under fast_mma), in every mode; and bf16 rows normalised in place (norm.y is norm.x).
TEST(GpuKernels, NormLinearsEqualRmsnormThenLinears) {
  DLLM_REQUIRE_GPU();
  const std::vector<int> outs = {97, 37, 37};
  for (gpu::Reduction r : {gpu::Reduction::fast, gpu::Reduction::invariant, gpu::Reduction::fast_mma})
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int in : {576, 301})
        for (int tokens : {1, 3, 5, 17})
          for (bool in_place : {false, true}) {
            if (in_place && (dt != DType::bf16 || in != 576)) continue;
            const std::string what = std::string(dtype_name(dt)) + " in " + std::to_string(in) + " tokens " +
                                     std::to_string(tokens) + " mode " + std::to_string(int(r)) +
                                     (in_place ? " in place" : "");
            const std::vector<float> rows = testutil::random_floats(size_t(tokens) * in, uint32_t(in + tokens), 3.0f);
            const Buffer<float> x = to_device(rows);
            Buffer<float> x_in_place = to_device(rows);  // norm.x and norm.y in place, scratch
            const DeviceWeights norm_weight(1, in, dt, 3), bias(1, outs[1], DType::f32, 99);
            const std::vector<float> untouched(size_t(tokens) * in, 0.25f);
            Guarded fused_normed(untouched), normed(size_t(tokens) * in);
            std::deque<DeviceWeights> weights;  // neither is movable: a deque keeps them in place
            std::deque<Guarded> fused, unfused;
            std::vector<LinearArgs> fused_parts, unfused_parts;
            for (size_t p = 0; p < outs.size(); ++p) {
              weights.emplace_back(outs[p], in, dt, uint32_t(7 * p + 1), 0.2f);
              fused.emplace_back(size_t(tokens) * outs[p]);
              unfused.emplace_back(size_t(tokens) * outs[p]);
              const WeightView b = p == 1 ? bias.view : WeightView{};
              fused_parts.push_back(LinearArgs{tokens, in, outs[p], in_place ? x_in_place.data() : fused_normed.data(),
                                               weights[p].view, b, fused[p].data()});
              unfused_parts.push_back(
                  LinearArgs{tokens, in, outs[p], normed.data(), weights[p].view, b, unfused[p].data()});
            }
            const RmsnormArgs fused_norm =
                in_place ? RmsnormArgs{tokens, in, 1e-5f, x_in_place.data(), norm_weight.view, x_in_place.data()}
                         : RmsnormArgs{tokens, in, 1e-5f, x.data(), norm_weight.view, fused_normed.data()};
            gpu::norm_linears(fused_norm, fused_parts.data(), int(fused_parts.size()), r);
            gpu::rmsnorm(RmsnormArgs{tokens, in, 1e-5f, x.data(), norm_weight.view, normed.data()});
            gpu::linears(unfused_parts.data(), int(unfused_parts.size()), r);
            for (size_t p = 0; p < outs.size(); ++p) {
              const std::string part = what + " part " + std::to_string(p);
              const std::vector<float> got = fused[p].read(part + " fused");
              expect_finite(got, part);
              expect_bitwise(got, unfused[p].read(part + " unfused"), part);
            }
            if (in_place) continue;
            // the normalised rows are never written (the first `tokens` floats may hold the rows' factors)
            std::vector<float> rest = fused_normed.read(what + " normalised rows");
            rest.erase(rest.begin(), rest.begin() + tokens);
            expect_bitwise(rest, std::vector<float>(untouched.begin() + tokens, untouched.end()),
                           what + ": the normalised rows");
          }
}

// gpu::swiglu_linear_residual computes silu(gate) * up while the down projection's kernel stages it:
// the residual gets the bits of gpu::swiglu then gpu::linear_residual (the gemv's epilogue up to 4
// tokens, a tiled or mma linear then the add above), and swiglu's output is never written.
TEST(GpuKernels, SwigluLinearIntoTheResidualEqualsSwigluThenLinearIntoTheResidual) {
  DLLM_REQUIRE_GPU();
  const int out = 97;
  for (gpu::Reduction r : {gpu::Reduction::fast, gpu::Reduction::invariant, gpu::Reduction::fast_mma})
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (int in : {64, 37})
        for (int tokens : {1, 4, 5, 17}) {
          const std::string what = std::string(dtype_name(dt)) + " in " + std::to_string(in) + " tokens " +
                                   std::to_string(tokens) + " mode " + std::to_string(int(r));
          const size_t n = size_t(tokens) * in;
          const Buffer<float> gate = to_device(testutil::random_floats(n, uint32_t(in + tokens), 6.0f));
          const Buffer<float> up = to_device(testutil::random_floats(n, 4));
          const DeviceWeights w(out, in, dt, 5, 0.2f), bias(1, out, DType::f32, 6);
          const std::vector<float> start = testutil::random_floats(size_t(tokens) * out, 8), untouched(n, 0.25f);
          Guarded fused(start), unfused(start), fused_act(untouched), act(n);
          Guarded fused_y(size_t(tokens) * out), y(size_t(tokens) * out);
          gpu::swiglu_linear_residual(SwigluArgs{tokens, in, gate.data(), up.data(), fused_act.data()},
                                      LinearArgs{tokens, in, out, fused_act.data(), w.view, bias.view, fused_y.data()},
                                      fused.data(), r);
          gpu::swiglu(SwigluArgs{tokens, in, gate.data(), up.data(), act.data()});
          gpu::linear_residual(LinearArgs{tokens, in, out, act.data(), w.view, bias.view, y.data()}, unfused.data(), r);
          const std::vector<float> got = fused.read(what + " fused");
          expect_finite(got, what);
          expect_bitwise(got, unfused.read(what + " unfused"), what);
          expect_bitwise(fused_act.read(what + " swiglu's output"), untouched, what + ": swiglu's output");
          fused_y.read(what + " scratch");  // its guards
        }
}

// The tiles attention variant rounds q, k, v and the softmax weights to bf16. On inputs that are
// already bf16 only the weights' rounding is left: every output is within 2^-7 sum_j w_j |v_j| (twice
// that rounding's bound) of the f64 reference, a bound 100 times tighter than the op cases' rule for
// rounded inputs. Two sequences share the pass (runs of a tile), one with a cache window that slides
// from token to token and pass intervals away from 0; keys span several 64-key tiles, and in the 17-token pass several
// chunks.
TEST(GpuKernels, AttentionTilesRoundOnlyTheSoftmaxWeights) {
  DLLM_REQUIRE_GPU();
  if (!gpu::attention_tiles_available())
    GTEST_SKIP() << "the tiles attention variant needs matrix units: " << gpu::kMmaNeeds;
  const auto bf16_floats = [](size_t n, uint32_t seed, float scale) {
    std::vector<float> v = opcases::random_floats(n, seed, scale);
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
    return v;
  };
  for (auto [t, hq, hkv, dh, cache] :
       {std::tuple{1, 32, 8, 128, 700}, {17, 8, 2, 64, 300}, {9, 6, 3, 40, 70}, {5, 1, 1, 16, 300}}) {
    const std::string what = "T=" + std::to_string(t) + " Dh=" + std::to_string(dh);
    std::vector<Visibility> vis;
    std::vector<int32_t> seq;
    const int split = (t + 1) / 2;  // tokens [0, split): sequence 0; the rest: sequence 1, a window
    for (int i = 0; i < t; ++i) {
      if (i < split)
        vis.push_back(Visibility{cache, {0, i + 1}, {}}), seq.push_back(0);
      else
        vis.push_back(Visibility{cache / 2, {split, i + 1}, {}, cache / 5 + i}), seq.push_back(1);
    }
    const int64_t stride = int64_t(cache) * hkv * dh;
    const std::vector<float> q = bf16_floats(size_t(t) * hq * dh, 1, 2.0f);
    const std::vector<float> kp = bf16_floats(size_t(t) * hkv * dh, 2, 2.0f), vp = bf16_floats(kp.size(), 3, 1.0f);
    const std::vector<float> kc = bf16_floats(size_t(2 * stride), 4, 2.0f), vc = bf16_floats(kc.size(), 5, 1.0f);
    AttentionArgs a;
    a.tokens = t, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh, a.scale = float(1.0 / std::sqrt(double(dh)));
    a.seq_stride = stride, a.max_keys = cache + t;
    // the reference, and with |v| the sum of w |v| of every output
    std::vector<float> ref(q.size()), size(q.size());
    a.q = q.data(), a.k_pass = kp.data(), a.v_pass = vp.data(), a.k_cache = kc.data(), a.v_cache = vc.data();
    a.vis = vis.data(), a.seq = seq.data(), a.out = ref.data();
    ref::attention<double>(a);
    std::vector<float> vp_abs = vp, vc_abs = vc;
    for (float& x : vp_abs) x = std::fabs(x);
    for (float& x : vc_abs) x = std::fabs(x);
    a.v_pass = vp_abs.data(), a.v_cache = vc_abs.data(), a.out = size.data();
    ref::attention<double>(a);

    Buffer<float> dq = to_device(q), dkp = to_device(kp), dvp = to_device(vp), dkc = to_device(kc), dvc = to_device(vc);
    Buffer<Visibility> dvis = to_device(vis);
    Buffer<int32_t> dseq = to_device(seq);
    Buffer<float> work(device(), gpu::attention_workspace_floats(a));
    Guarded out(q.size());
    a.q = dq.data(), a.k_pass = dkp.data(), a.v_pass = dvp.data(), a.k_cache = dkc.data(), a.v_cache = dvc.data();
    a.vis = dvis.data(), a.seq = dseq.data(), a.out = out.data(), a.workspace = work.data();
    gpu::attention(a, gpu::AttentionVariant::tiles);
    const std::vector<float> got = out.read(what);
    for (size_t i = 0; i < got.size(); ++i) {
      const double bound = std::ldexp(double(size[i]), -7) + 1e-6 * size[i];
      if (!(std::fabs(double(got[i]) - ref[i]) <= bound)) {
        ADD_FAILURE() << what << ": output " << i << " = " << got[i] << ", the reference " << ref[i] << ", bound "
                      << bound;
        break;
      }
    }
  }
}

// gpu::rope_kv_write with q/k norms normalises each head row in its own kernel with the RMSNorm
// kernel's reduction: q, k and the cache get the bits of gpu::rmsnorm on the head rows of q and k, then
// gpu::rope_kv_write without norms. Norm weights in f32 and bf16; Qwen3-8B's heads, an odd head_dim
// with a partial rotary, head counts off the kernel's groups of 8; an AR step and a pass with a
// scratch token.
TEST(GpuKernels, RopeKvWriteWithNormsEqualsRmsnormThenRopeKvWrite) {
  DLLM_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16})
    for (auto [hq, hkv, dh, rotary] : {std::tuple{32, 8, 128, 128}, {6, 3, 97, 96}, {20, 4, 64, 64}})
      for (int tokens : {1, 5}) {
        const std::string what = std::string(dtype_name(dt)) + " Hq " + std::to_string(hq) + " Hkv " +
                                 std::to_string(hkv) + " Dh " + std::to_string(dh) + " tokens " +
                                 std::to_string(tokens);
        std::vector<int32_t> slots(static_cast<size_t>(tokens));
        for (int t = 0; t < tokens; ++t) slots[size_t(t)] = t == 2 ? kScratchSlot : t;
        const Buffer<int32_t> pos = to_device(testutil::random_ints(size_t(tokens), 0, 100000, 1));
        const Buffer<int32_t> seq = to_device(std::vector<int32_t>(size_t(tokens), 0)), slot = to_device(slots);
        const size_t n_q = size_t(tokens) * hq * dh, n_k = size_t(tokens) * hkv * dh;
        const Buffer<float> v = to_device(testutil::random_floats(n_k, 2));
        const DeviceWeights q_norm(1, dh, dt, 3), k_norm(1, dh, dt, 4);
        const std::vector<float> q0 = testutil::random_floats(n_q, 5, 3.0f), k0 = testutil::random_floats(n_k, 6, 3.0f);
        const std::vector<float> cache0(n_k, 0.25f);
        Guarded fused_q(q0), fused_k(k0), fused_k_cache(cache0), fused_v_cache(cache0);
        Guarded q(q0), k(k0), k_cache(cache0), v_cache(cache0);
        const auto args = [&](Guarded& qx, Guarded& kx, Guarded& kc, Guarded& vc) {
          return RopeKvWriteArgs{RopeArgs{tokens, hq, dh, rotary, 1e6f, pos.data(), qx.data(), RopeScaling{}},
                                 RopeArgs{tokens, hkv, dh, rotary, 1e6f, pos.data(), kx.data(), RopeScaling{}},
                                 KvWriteArgs{tokens, hkv, dh, kx.data(), v.data(), seq.data(), slot.data(), kc.data(),
                                             vc.data(), int64_t(n_k)}};
        };
        const float eps = 1e-6f;
        RopeKvWriteArgs fused = args(fused_q, fused_k, fused_k_cache, fused_v_cache);
        fused.q_norm = q_norm.view, fused.k_norm = k_norm.view, fused.norm_eps = eps;
        gpu::rope_kv_write(fused);
        gpu::rmsnorm(RmsnormArgs{tokens * hq, dh, eps, q.data(), q_norm.view, q.data()});
        gpu::rmsnorm(RmsnormArgs{tokens * hkv, dh, eps, k.data(), k_norm.view, k.data()});
        gpu::rope_kv_write(args(q, k, k_cache, v_cache));
        for (auto [name, got, want] : {std::tuple{"q", &fused_q, &q},
                                       {"k", &fused_k, &k},
                                       {"k cache", &fused_k_cache, &k_cache},
                                       {"v cache", &fused_v_cache, &v_cache}}) {
          const std::vector<float> out = got->read(what + " fused " + name);
          expect_finite(out, what + " " + name);
          expect_bitwise(out, want->read(what + " unfused " + name), what + " " + name);
        }
      }
}

// Every kind of draw (argmax, temperature, top-k, top-p, both) on rows with planted ties: the token
// equals the reference's. The kernel sums in another order than the reference, so a different token
// is accepted only where the reference itself is on a knife edge: its pick changes when u moves by
// 1e-9 or top_p by one float ulp.
TEST(GpuKernels, Sample) {
  DLLM_REQUIRE_GPU();
  const std::vector<RowDraw> kinds = {{0.0f, 0, 1.0f, 0}, {1.0f, 0, 1.0f, 0}, {0.7f, 0, 1.0f, 0}, {1.3f, 1, 1.0f, 0},
                                      {1.0f, 5, 1.0f, 0}, {1.0f, 0, 0.9f, 0}, {0.8f, 0, 0.3f, 0}, {1.0f, 50, 0.95f, 0}};
  int checked = 0, knife_edges = 0;
  for (int dim : sized<std::vector<int>>({1, 7, 97, 1025, 128256}, {1, 7, 97, 1025}))
    for (int rows : {1, 3, 37}) {
      const std::string what = "sample rows " + std::to_string(rows) + " dim " + std::to_string(dim);
      auto x = testutil::random_floats(size_t(rows) * dim, uint32_t(rows * 13 + dim), 4.0f);
      std::mt19937 gen(uint32_t(rows * dim));
      std::vector<RowDraw> draws(static_cast<size_t>(rows));
      for (int r = 0; r < rows; ++r) {
        float* row = x.data() + size_t(r) * dim;
        if (r % 3 == 1) {  // ties at the top: the maximum again in a few places
          const float top = *std::max_element(row, row + dim);
          for (int j = 0; j < 3; ++j) row[gen() % uint32_t(dim)] = top;
        }
        draws[size_t(r)] = kinds[size_t(r) % kinds.size()];
        draws[size_t(r)].u = double(gen() >> 5) / double(1u << 27);
      }
      std::vector<int32_t> want(static_cast<size_t>(rows));
      ref::sample(SampleArgs{rows, dim, x.data(), draws.data(), want.data()});
      auto xd = to_device(x);
      auto dd = to_device(draws);
      Guarded out(static_cast<size_t>(rows));
      gpu::sample(SampleArgs{rows, dim, xd.data(), dd.data(), reinterpret_cast<int32_t*>(out.data())});
      const auto got_f = out.read(what);
      for (int r = 0; r < rows; ++r) {
        int32_t got;
        std::memcpy(&got, &got_f[size_t(r)], sizeof got);
        ++checked;
        if (got == want[size_t(r)]) continue;
        const float* row = x.data() + size_t(r) * dim;
        const auto pick = [&](double du, float top_p) {
          RowDraw d = draws[size_t(r)];
          d.u = std::clamp(d.u + du, 0.0, std::nextafter(1.0, 0.0)), d.top_p = top_p;
          int32_t t;
          ref::sample(SampleArgs{1, dim, row, &d, &t});
          return t;
        };
        const float p = draws[size_t(r)].top_p;
        const bool knife_edge = pick(-1e-9, p) != pick(1e-9, p) ||
                                (p < 1.0f && pick(0, std::nextafter(p, 0.0f)) != pick(0, std::nextafter(p, 1.0f)));
        knife_edges += knife_edge;
        EXPECT_TRUE(knife_edge) << what << " row " << r << ": token " << got << ", the reference draws "
                                << want[size_t(r)] << " (T " << draws[size_t(r)].temperature << " top_k "
                                << draws[size_t(r)].top_k << " top_p " << p << " u " << draws[size_t(r)].u << ")";
      }
    }
  EXPECT_LE(knife_edges, 1) << "of " << checked << " draws";
}

// Logit mixing and rejection sampling on the device: the sample op draws from rows mixed with a
// partner (bitwise the reference's mix, so the tokens are the reference's but at knife edges), or
// tests a sampling drafter's token against its row (accept, else the residual sample); the
// divergence op measures the mix like the reference (KL and TV within summation-order rounding; the
// argmax flag exactly).
TEST(GpuKernels, SampleMixedRejectionAndDivergence) {
  DLLM_REQUIRE_GPU();
  for (int dim : sized<std::vector<int>>({7, 1025, 128256}, {7, 1025})) {
    const int rows = 9;
    const std::string what = "mixed rows, dim " + std::to_string(dim);
    const auto x = testutil::random_floats(size_t(rows) * dim, uint32_t(dim), 4.0f);
    const auto partner = testutil::random_floats(size_t(rows) * dim, uint32_t(dim + 1), 4.0f);
    auto xd = to_device(x), pd = to_device(partner);
    std::vector<RowDraw> host(static_cast<size_t>(rows)), device(static_cast<size_t>(rows));
    const RowDraw kinds[3] = {{0.0f, 0, 1.0f, 0.3}, {0.9f, 0, 1.0f, 0.6}, {1.0f, 20, 0.8f, 0.1}};
    const float weights[3] = {1.0f, 0.5f, 0.0f};
    std::mt19937 gen{uint32_t(dim)};
    for (int r = 0; r < rows; ++r) {
      RowDraw& h = host[size_t(r)];
      h = kinds[r % 3];
      h.mix_weight = weights[r / 3];
      h.mix = partner.data() + size_t(r) * dim;
      if (r % 3 != 0) {  // a sampling drafter: its row is the next row's partner, its token a draw of it
        const float* draft_row = partner.data() + size_t((r + 1) % rows) * dim;
        h.draft_row = draft_row, h.draft_temperature = 1.0f;
        h.draft_token =
            ref::sample_from(ref::target_distribution(draft_row, dim, RowDraw{1.0f}), double(gen() % 1000) / 1000);
        h.u_accept = double(gen() % 1000) / 1000;
      }
      device[size_t(r)] = h;
      device[size_t(r)].mix = pd.data() + size_t(r) * dim;
      if (h.draft_row) device[size_t(r)].draft_row = pd.data() + size_t((r + 1) % rows) * dim;
    }
    std::vector<int32_t> want(static_cast<size_t>(rows));
    std::vector<MixDivergence> want_div(static_cast<size_t>(rows));
    ref::sample(SampleArgs{rows, dim, x.data(), host.data(), want.data()});
    ref::sample_divergence(SampleDivergenceArgs{rows, dim, x.data(), host.data(), want_div.data()});
    auto dd = to_device(device);
    Guarded tokens(static_cast<size_t>(rows));
    gpu::sample(SampleArgs{rows, dim, xd.data(), dd.data(), reinterpret_cast<int32_t*>(tokens.data())});
    Buffer<MixDivergence> div(gputest::device(), size_t(rows));
    gpu::sample_divergence(SampleDivergenceArgs{rows, dim, xd.data(), dd.data(), div.data()});
    const auto got_f = tokens.read(what);
    std::vector<MixDivergence> got_div(static_cast<size_t>(rows));
    div.download(got_div.data(), got_div.size());
    for (int r = 0; r < rows; ++r) {
      int32_t got;
      std::memcpy(&got, &got_f[size_t(r)], sizeof got);
      EXPECT_EQ(got, want[size_t(r)]) << what << " row " << r;
      const MixDivergence &g = got_div[size_t(r)], &w = want_div[size_t(r)];
      EXPECT_NEAR(g.kl, w.kl, 1e-9 * std::max(1.0, w.kl)) << what << " row " << r;
      EXPECT_NEAR(g.tv, w.tv, 1e-9) << what << " row " << r;
      EXPECT_EQ(g.same_top1, w.same_top1) << what << " row " << r;
      if (weights[r / 3] == 1.0f) {
        EXPECT_EQ(g.kl, 0.0) << what << ": w = 1 leaves the row as it is";
      }
    }
  }
}

// ---- ZAYA1's router (its other ops run in test_gpu_opcases.cpp): odd shapes, the tiny-zaya,
// tiny-tidar-zaya and zaya1-8b layer shapes.

namespace {

const std::vector<int> kZayaTokens = {1, 3, 7, 37};

// The router's weights for dim D, router width R, E experts (plus the skip route) in dt.
struct RouterCase {
  int d, r, e;
  DeviceWeights down, down_bias, state_scale, norm, fc1, fc1_bias, fc2, fc2_bias, out, balancing;
  RouterCase(int d_, int r_, int e_, DType dt, uint32_t seed)
      : d(d_),
        r(r_),
        e(e_),
        down(r, d, dt, seed, 1.0f / std::sqrt(float(d))),
        down_bias(1, r, dt, seed + 1),
        state_scale(1, r, dt, seed + 2),
        norm(1, r, dt, seed + 3),
        fc1(r, r, dt, seed + 4, 2.0f / std::sqrt(float(r))),
        fc1_bias(1, r, dt, seed + 5),
        fc2(r, r, dt, seed + 6, 2.0f / std::sqrt(float(r))),
        fc2_bias(1, r, dt, seed + 7),
        out(e + 1, r, dt, seed + 8, 4.0f / std::sqrt(float(r))),
        balancing(1, e + 1, DType::f32, seed + 9, 0.1f) {}
  ZayaRouterArgs args(int t, bool device, const float* x, const float* state_in, float* state_out, int32_t* expert,
                      float* weight) const {
    auto v = [&](const DeviceWeights& w) { return device ? w.view : w.host.view; };
    ZayaRouterArgs a;
    a.tokens = t, a.dim = d, a.router_dim = r, a.experts = e, a.eps = 1e-5f;
    a.x = x, a.state_in = state_in, a.down = v(down), a.down_bias = v(down_bias), a.state_scale = v(state_scale);
    a.norm = v(norm), a.fc1 = v(fc1), a.fc1_bias = v(fc1_bias), a.fc2 = v(fc2), a.fc2_bias = v(fc2_bias);
    a.out = v(out), a.balancing_bias = v(balancing), a.state_out = state_out, a.expert = expert, a.weight = weight;
    return a;
  }
};

}  // namespace

TEST(GpuKernels, ZayaRouter) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int d, r, e;
  };
  // odd; tiny-zaya (64, 32, 4); tiny-tidar-zaya (128, 64, 16); zaya1-8b (2048, 256, 16)
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (Shape s : {Shape{1, 1, 1}, Shape{7, 7, 3}, Shape{97, 37, 2}, Shape{64, 32, 4}, Shape{128, 64, 16},
                    Shape{2048, 256, 16}}) {
      const RouterCase c(s.d, s.r, s.e, dt, uint32_t(s.d + s.r));
      for (int t : kZayaTokens)
        for (bool with_state : {false, true}) {
          const std::string what = "zaya_router T " + std::to_string(t) + " D " + std::to_string(s.d) + " R " +
                                   std::to_string(s.r) + " E " + std::to_string(s.e) + " " + dtype_name(dt) +
                                   (with_state ? " state" : "");
          const auto x = testutil::random_floats(size_t(t) * s.d, uint32_t(t), 2.0f);
          const auto state = testutil::random_floats(size_t(t) * s.r, uint32_t(t + 1));
          std::vector<float> s32(state.size()), s64(state.size());
          std::vector<float> w32(static_cast<size_t>(t)), w64(static_cast<size_t>(t));
          std::vector<int32_t> e32(static_cast<size_t>(t)), e64(static_cast<size_t>(t));
          const float* st = with_state ? state.data() : nullptr;
          ref::zaya_router<float>(c.args(t, false, x.data(), st, s32.data(), e32.data(), w32.data()));
          ref::zaya_router<double>(c.args(t, false, x.data(), st, s64.data(), e64.data(), w64.data()));
          auto xd = to_device(x);
          Guarded state_d(state);  // state_out aliases state_in, as in the engine
          Guarded weight(static_cast<size_t>(t));
          Buffer<int32_t> expert(device(), size_t(t));
          gpu::zaya_router(c.args(t, true, xd.data(), with_state ? state_d.data() : nullptr, state_d.data(),
                                  expert.data(), weight.data()));
          expect_close(state_d.read(what + " state"), s32, s64, 2e-6, what + " state");
          std::vector<int32_t> eg(static_cast<size_t>(t));
          expert.download(eg.data(), eg.size());
          const std::vector<float> wg = weight.read(what + " weight");
          expect_finite(wg, what + " weight");
          for (int i = 0; i < t; ++i) {
            const size_t k = size_t(i);
            if (eg[k] == e64[k]) {
              EXPECT_NEAR(wg[k], w64[k], 2.0 * std::fabs(w32[k] - w64[k]) + 1e-5) << what << " token " << i;
              continue;
            }
            // A different choice is only a near tie: both choices' biased scores agree closely.
            ASSERT_TRUE(eg[k] >= 0 && eg[k] <= s.e) << what << " token " << i << " expert " << eg[k];
            const double score_gpu = wg[k] + c.balancing.host.values[size_t(eg[k])];
            const double score_ref = w64[k] + c.balancing.host.values[size_t(e64[k])];
            EXPECT_NEAR(score_gpu, score_ref, 1e-5)
                << what << " token " << i << ": expert " << eg[k] << " vs " << e64[k] << " is not a near tie";
          }
        }
    }
}

// The router in gpu-invariant (one kernel shape in every mode; the other zaya ops' rows are checked in
// test_gpu_opcases.cpp): token 0 and token 16 alone give the same bits as inside a 17-token call
// (zaya1-8b's shape).
TEST(GpuKernels, ZayaRouterIsBitwiseShapeInvariant) {
  DLLM_REQUIRE_GPU();
  const int n = 17, d = 2048, r = 256;
  const RouterCase router(d, r, 16, DType::bf16, 13);
  const auto x = testutil::random_floats(size_t(n) * d, 14, 2.0f);
  const auto state = testutil::random_floats(size_t(n) * r, 15);
  auto x_d = to_device(x);
  // The router on `t` tokens from `row`: state [t, R], expert [t] (as floats), weight [t].
  auto run = [&](int t, int row) {
    Guarded st(std::vector<float>(state.begin() + long(row) * r, state.begin() + long(row + t) * r));
    Guarded weight(static_cast<size_t>(t));
    Buffer<int32_t> expert(device(), size_t(t));
    gpu::zaya_router(
        router.args(t, true, x_d.data() + int64_t(row) * d, st.data(), st.data(), expert.data(), weight.data()));
    std::vector<int32_t> e(static_cast<size_t>(t));
    expert.download(e.data(), e.size());
    return std::vector<std::vector<float>>{st.read("router state"), std::vector<float>(e.begin(), e.end()),
                                           weight.read("router weight")};
  };
  const auto all = run(n, 0);
  const int widths[] = {r, 1, 1};
  for (int row : {0, n - 1}) {
    const auto alone = run(1, row);
    for (size_t o = 0; o < 3; ++o) {
      const long w = widths[o];
      expect_bitwise(alone[o], std::vector<float>(all[o].begin() + row * w, all[o].begin() + (row + 1) * w),
                     "output " + std::to_string(o) + " token " + std::to_string(row) + " alone vs in 17");
    }
  }
}
