// Every GPU kernel and every variant against ref/ (DESIGN §4; mma where the device has it): odd shapes (1, 3, 7, 37, 97, 1025) and
// model shapes, every weight dtype, NaN/Inf checks, guard values around every output, and the
// invariant variants bitwise independent of the pass size. Skipped when no GPU is visible.
#include <random>

#include "engine/core/pass.h"
#include "kernels/gpu/gpu.h"
#include "ref/ref.h"
#include "tests/gpu/gpu_testing.h"
#include "tests/testing.h"

using namespace dllm;
using namespace dllm::gputest;

namespace {

const std::vector<int> kOdd = {1, 3, 7, 37, 97, 1025};

std::vector<int32_t> random_ints(size_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = lo + int32_t(gen() % uint32_t(hi - lo));
  return v;
}

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

TEST(GpuKernels, Embedding) {
  DLLM_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (int t : kOdd)
      for (int d : {1, 7, 97, 1025}) {
        const std::string what = "embedding T " + std::to_string(t) + " D " + std::to_string(d);
        DeviceWeights table(97, d, dt, uint32_t(t + d));
        const auto ids = random_ints(size_t(t), 0, 97, uint32_t(t));
        std::vector<float> want(size_t(t) * d);
        ref::embedding(EmbeddingArgs{t, d, ids.data(), table.host.view, want.data()});
        auto ids_d = to_device(ids);
        Guarded out(want.size());
        gpu::embedding(EmbeddingArgs{t, d, ids_d.data(), table.view, out.data()});
        expect_bitwise(out.read(what), want, what);
      }
}

TEST(GpuKernels, Rmsnorm) {
  DLLM_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16})
    for (int rows : kOdd)
      for (int dim : {1, 3, 64, 97, 1025, 4096}) {
        if (int64_t(rows) * dim > 4'000'000) continue;
        const std::string what = "rmsnorm rows " + std::to_string(rows) + " dim " + std::to_string(dim);
        const auto x = testutil::random_floats(size_t(rows) * dim, uint32_t(rows * 7 + dim), 3.0f);
        DeviceWeights w(1, dim, dt, uint32_t(dim));
        std::vector<float> r32(x.size()), r64(x.size());
        ref::rmsnorm<float>(RmsnormArgs{rows, dim, 1e-6f, x.data(), w.host.view, r32.data()});
        ref::rmsnorm<double>(RmsnormArgs{rows, dim, 1e-6f, x.data(), w.host.view, r64.data()});
        auto xd = to_device(x);
        Guarded out(x.size());
        gpu::rmsnorm(RmsnormArgs{rows, dim, 1e-6f, xd.data(), w.view, out.data()});
        expect_close(out.read(what), r32, r64, 4e-7, what);
        Guarded inplace(x);  // y aliases x (the q/k norm)
        gpu::rmsnorm(RmsnormArgs{rows, dim, 1e-6f, inplace.data(), w.view, inplace.data()});
        expect_close(inplace.read(what + " in place"), r32, r64, 4e-7, what + " in place");
      }
}

namespace {

void check_linear(int t, int in, int out, DType dt, bool bias, const std::string& tag) {
  const std::string what = tag + " linear T " + std::to_string(t) + " Din " + std::to_string(in) + " Dout " +
                           std::to_string(out) + " " + dtype_name(dt) + (bias ? " bias" : "");
  DeviceWeights w(out, in, dt, uint32_t(in * 3 + out), 1.0f / std::sqrt(float(in)));
  DeviceWeights b(1, out, DType::f32, uint32_t(out));
  const auto x = testutil::random_floats(size_t(t) * in, uint32_t(t * 11 + in));
  LinearArgs a{t, in, out, x.data(), w.host.view, bias ? b.host.view : WeightView{}, nullptr};
  std::vector<float> r32(size_t(t) * out), r64(r32.size());
  a.y = r32.data(), ref::linear<float>(a);
  a.y = r64.data(), ref::linear<double>(a);
  auto xd = to_device(x);
  for (gpu::LinearVariant v : {gpu::LinearVariant::gemv, gpu::LinearVariant::tiled}) {
    const std::string name = what + (v == gpu::LinearVariant::gemv ? " gemv" : " tiled");
    Guarded y(r32.size());
    gpu::linear(LinearArgs{t, in, out, xd.data(), w.view, bias ? b.view : WeightView{}, y.data()}, v);
    expect_close(y.read(name), r32, r64, 2e-6, name);
  }
  if (!gpu::mma_available()) return;
  // mma rounds the inputs to tf32 (relative error <= 2^-11 each): |error| <= 2^-10 * sum |x| |w| per
  // output (twice the rounding bound, for the f32 accumulation beside it).
  const std::string name = what + " mma";
  Guarded y(r32.size());
  gpu::linear(LinearArgs{t, in, out, xd.data(), w.view, bias ? b.view : WeightView{}, y.data()}, gpu::LinearVariant::mma);
  const std::vector<float> got = y.read(name);
  expect_finite(got, name);
  int bad = 0;
  for (int ti = 0; ti < t; ++ti)
    for (int o = 0; o < out; ++o) {
      double l1 = 0;
      for (int i = 0; i < in; ++i) l1 += std::fabs(double(x[size_t(ti) * in + i]) * w.host.values[size_t(o) * in + i]);
      const size_t k = size_t(ti) * out + o;
      if (std::fabs(double(got[k]) - r64[k]) > std::ldexp(l1, -10) + 1e-30 && bad++ < 3)
        ADD_FAILURE() << name << ": token " << ti << " output " << o << " gpu " << got[k] << " ref " << r64[k];
    }
}

}  // namespace

TEST(GpuKernels, LinearOddShapes) {
  DLLM_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (int t : {1, 3, 7, 37, 97})
      for (int in : kOdd)
        for (int out : {1, 7, 97, 1025}) {
          if (int64_t(t) * in * out > 40'000'000) continue;
          if (gpu::emulated() && (t * out > 8'000 || int64_t(t) * in * out > 1'000'000)) continue;  // fewer rows
          check_linear(t, in, out, dt, (t + in + out) % 2 == 0, "odd");
        }
}

TEST(GpuKernels, LinearModelShapes) {
  DLLM_REQUIRE_GPU();
  if (gpu::emulated()) GTEST_SKIP() << "model-scale shapes take hours on the CPU emulator: device only";
  // llama3-8b: q/o 4096x4096, k/v 1024x4096, gate/up 14336x4096, down 4096x14336; AR step, a 17-token
  // verify pass.
  for (int t : {1, 17}) {
    check_linear(t, 4096, 1024, DType::bf16, false, "llama3-8b k");
    check_linear(t, 4096, 14336, DType::bf16, false, "llama3-8b gate");
    check_linear(t, 14336, 4096, DType::bf16, false, "llama3-8b down");
  }
  check_linear(306, 1024, 512, DType::bf16, true, "single forward");
}

TEST(GpuKernels, Rope) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int heads, head_dim, rotary;
  };
  for (int t : kOdd)
    for (Shape s : {Shape{1, 2, 2}, Shape{3, 64, 64}, Shape{8, 128, 128}, Shape{2, 96, 48}}) {
      const std::string what = "rope T " + std::to_string(t) + " H " + std::to_string(s.heads) + " Dh " +
                               std::to_string(s.head_dim) + " R " + std::to_string(s.rotary);
      const auto pos = random_ints(size_t(t), 0, 100000, uint32_t(t));
      const auto x = testutil::random_floats(size_t(t) * s.heads * s.head_dim, uint32_t(t + s.head_dim));
      std::vector<float> want = x;
      ref::rope(RopeArgs{t, s.heads, s.head_dim, s.rotary, 500000.0f, pos.data(), want.data()});
      auto pd = to_device(pos);
      Guarded y(x);
      gpu::rope(RopeArgs{t, s.heads, s.head_dim, s.rotary, 500000.0f, pd.data(), y.data()});
      // Element-wise: a rounding of the two products (FMA contraction on the device) at most.
      expect_close(y.read(what), want, want, 1e-6, what);
    }
}

namespace {

// A random pass against a cache of `cache_len` slots in sequence 1 of 2: every token sees a random
// prefix of the cache and two random intervals of the pass (some see nothing at all).
struct AttentionCase {
  int t, hq, hkv, dh, cache_len;
  std::vector<float> q, k, v, kc, vc;
  std::vector<Visibility> vis;
  std::vector<int32_t> seq;
  int64_t seq_stride = 0;
  int max_keys = 0;

  AttentionCase(int t_, int hq_, int hkv_, int dh_, int cache_len_, uint32_t seed, bool causal)
      : t(t_), hq(hq_), hkv(hkv_), dh(dh_), cache_len(cache_len_) {
    q = testutil::random_floats(size_t(t) * hq * dh, seed, 2.0f);
    k = testutil::random_floats(size_t(t) * hkv * dh, seed + 1, 2.0f);
    v = testutil::random_floats(size_t(t) * hkv * dh, seed + 2);
    seq_stride = int64_t(std::max(cache_len, 1)) * hkv * dh;
    kc = testutil::random_floats(size_t(2 * seq_stride), seed + 3, 2.0f);
    vc = testutil::random_floats(size_t(2 * seq_stride), seed + 4);
    std::mt19937 gen(seed);
    for (int i = 0; i < t; ++i) {
      Visibility vi;
      if (causal) {
        vi = Visibility{cache_len, {0, i + 1}, {}};
      } else {
        vi.cache_len = int(gen() % uint32_t(cache_len + 1));
        const int a = int(gen() % uint32_t(t + 1)), b = int(gen() % uint32_t(t + 1));
        vi.first = {0, a};
        vi.second = {std::min(a, b), std::max(a, b)};
        if (i == t / 2) vi = Visibility{};  // sees nothing: zeros
      }
      vis.push_back(vi);
      seq.push_back(1);
      max_keys = std::max(max_keys, vi.cache_len + (vi.first.end - vi.first.begin) + (vi.second.end - vi.second.begin));
    }
  }
  AttentionArgs args(const float* q_, const float* k_, const float* v_, const Visibility* vis_, const int32_t* seq_,
                     const float* kc_, const float* vc_, float* out) const {
    AttentionArgs a;
    a.tokens = t, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh;
    a.scale = float(1.0 / std::sqrt(double(dh)));
    a.q = q_, a.k_pass = k_, a.v_pass = v_, a.vis = vis_, a.seq = seq_, a.k_cache = kc_, a.v_cache = vc_;
    a.seq_stride = seq_stride, a.out = out, a.max_keys = max_keys;
    return a;
  }
};

void check_attention(const AttentionCase& c, const std::string& what) {
  std::vector<float> r32(size_t(c.t) * c.hq * c.dh), r64(r32.size());
  ref::attention<float>(c.args(c.q.data(), c.k.data(), c.v.data(), c.vis.data(), c.seq.data(), c.kc.data(),
                               c.vc.data(), r32.data()));
  ref::attention<double>(c.args(c.q.data(), c.k.data(), c.v.data(), c.vis.data(), c.seq.data(), c.kc.data(),
                                c.vc.data(), r64.data()));
  auto q = to_device(c.q), k = to_device(c.k), v = to_device(c.v), kc = to_device(c.kc), vc = to_device(c.vc);
  auto vis = to_device(c.vis);
  auto seq = to_device(c.seq);
  for (gpu::AttentionVariant var : {gpu::AttentionVariant::single_pass, gpu::AttentionVariant::split_keys}) {
    const std::string name = what + (var == gpu::AttentionVariant::single_pass ? " single-pass" : " split-keys");
    Guarded out(r32.size());
    gpu::attention(c.args(q.data(), k.data(), v.data(), vis.data(), seq.data(), kc.data(), vc.data(), out.data()), var);
    expect_close(out.read(name), r32, r64, 2e-6, name);
  }
}

}  // namespace

TEST(GpuKernels, AttentionOddShapes) {
  DLLM_REQUIRE_GPU();
  struct Heads {
    int hq, hkv, dh;
  };
  uint32_t seed = 1;
  for (Heads h : {Heads{1, 1, 1}, Heads{4, 2, 7}, Heads{8, 2, 64}, Heads{2, 1, 256}})
    for (int t : {1, 3, 7, 37, 97})
      for (int cache : {0, 1, 37, 1025}) {
        if (gpu::emulated() && t * h.hq * (cache + t) > 40'000) continue;  // the emulator: fewer keys x blocks
        const std::string what = "attention T " + std::to_string(t) + " Hq " + std::to_string(h.hq) + " Hkv " +
                                 std::to_string(h.hkv) + " Dh " + std::to_string(h.dh) + " cache " + std::to_string(cache);
        check_attention(AttentionCase(t, h.hq, h.hkv, h.dh, cache, seed++, true), what + " causal");
        check_attention(AttentionCase(t, h.hq, h.hkv, h.dh, cache, seed++, false), what + " random visibility");
      }
}

TEST(GpuKernels, AttentionModelShapes) {
  DLLM_REQUIRE_GPU();
  if (gpu::emulated()) GTEST_SKIP() << "model-scale shapes take hours on the CPU emulator: device only";
  // llama3-8b heads (32 q, 8 kv, 128): an AR step and a 68-token single forward after 3000 tokens,
  // a 1025-token prefill.
  check_attention(AttentionCase(1, 32, 8, 128, 3000, 7, true), "llama3-8b AR step");
  check_attention(AttentionCase(68, 32, 8, 128, 3000, 8, false), "llama3-8b single forward");
  check_attention(AttentionCase(1025, 32, 8, 128, 0, 9, true), "llama3-8b prefill");
}

TEST(GpuKernels, KvWrite) {
  DLLM_REQUIRE_GPU();
  for (int t : kOdd) {
    const int hkv = 2, dh = 7, slots = 2 * t + 3;
    const std::string what = "kv_write T " + std::to_string(t);
    const auto k = testutil::random_floats(size_t(t) * hkv * dh, uint32_t(t));
    const auto v = testutil::random_floats(k.size(), uint32_t(t + 1));
    const auto seq = random_ints(size_t(t), 0, 2, uint32_t(t + 2));
    std::vector<int32_t> slot(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) slot[size_t(i)] = i % 3 == 2 ? kScratchSlot : 2 * i;  // distinct slots
    const int64_t stride = int64_t(slots) * hkv * dh;
    const auto kc0 = testutil::random_floats(size_t(2 * stride), 5), vc0 = testutil::random_floats(size_t(2 * stride), 6);
    std::vector<float> kw = kc0, vw = vc0;
    ref::kv_write(KvWriteArgs{t, hkv, dh, k.data(), v.data(), seq.data(), slot.data(), kw.data(), vw.data(), stride});
    auto kd = to_device(k), vd = to_device(v);
    auto sd = to_device(seq), sl = to_device(slot);
    Guarded kc(kc0), vc(vc0);
    gpu::kv_write(KvWriteArgs{t, hkv, dh, kd.data(), vd.data(), sd.data(), sl.data(), kc.data(), vc.data(), stride});
    expect_bitwise(kc.read(what + " k"), kw, what + " k");
    expect_bitwise(vc.read(what + " v"), vw, what + " v");
  }
}

TEST(GpuKernels, SwigluAndAdd) {
  DLLM_REQUIRE_GPU();
  for (int rows : kOdd)
    for (int dim : {1, 37, 1025}) {
      const std::string what = "rows " + std::to_string(rows) + " dim " + std::to_string(dim);
      const size_t n = size_t(rows) * dim;
      const auto g = testutil::random_floats(n, uint32_t(rows + dim), 6.0f), u = testutil::random_floats(n, 3);
      std::vector<float> want(n);
      ref::swiglu(SwigluArgs{rows, dim, g.data(), u.data(), want.data()});
      auto gd = to_device(g), ud = to_device(u);
      Guarded out(n);
      gpu::swiglu(SwigluArgs{rows, dim, gd.data(), ud.data(), out.data()});
      expect_close(out.read("swiglu " + what), want, want, 1e-6, "swiglu " + what);  // expf vs libm: ulps

      std::vector<float> sum = u;
      ref::add(AddArgs{int64_t(n), g.data(), sum.data()});
      Guarded y(u);
      gpu::add(AddArgs{int64_t(n), gd.data(), y.data()});
      expect_bitwise(y.read("add " + what), sum, "add " + what);
    }
}

TEST(GpuKernels, Softmax) {
  DLLM_REQUIRE_GPU();
  for (int rows : {1, 3, 7, 37})
    for (int dim : {1, 7, 97, 1025, 128256})
      for (float temperature : {1.0f, 0.7f}) {
        if (int64_t(rows) * dim > 5'000'000) continue;
        const std::string what = "softmax rows " + std::to_string(rows) + " dim " + std::to_string(dim);
        const auto x = testutil::random_floats(size_t(rows) * dim, uint32_t(rows + dim), 8.0f);
        std::vector<float> r32(x.size()), r64(x.size());
        ref::softmax<float>(SoftmaxArgs{rows, dim, temperature, x.data(), r32.data()});
        ref::softmax<double>(SoftmaxArgs{rows, dim, temperature, x.data(), r64.data()});
        auto xd = to_device(x);
        Guarded out(x.size());
        gpu::softmax(SoftmaxArgs{rows, dim, temperature, xd.data(), out.data()});
        expect_close(out.read(what), r32, r64, 1e-6, what);
      }
}

// The invariant picks: a token's result alone, inside 17 and inside 306 tokens, bitwise.
TEST(GpuKernels, InvariantPicksAreBitwiseShapeInvariant) {
  DLLM_REQUIRE_GPU();
  const int in = 1024, out = 512;
  DeviceWeights w(out, in, DType::bf16, 1, 1.0f / 32.0f);
  const auto x = testutil::random_floats(size_t(306) * in, 2);
  auto xd = to_device(x);
  const int big = sized(306, 68);  // a single-forward pass (K=16 with P3 is 65 tokens)
  std::vector<std::vector<float>> row0;
  for (int t : {1, 17, big}) {
    LinearArgs a{t, in, out, xd.data(), w.view, WeightView{}, nullptr};
    Guarded y(size_t(t) * out);
    a.y = y.data();
    gpu::linear(a, gpu::pick_linear(a, gpu::Reduction::invariant));
    const auto all = y.read("linear T " + std::to_string(t));
    row0.emplace_back(all.begin(), all.begin() + out);
  }
  expect_bitwise(row0[1], row0[0], "linear row 0 in 17 tokens vs alone");
  expect_bitwise(row0[2], row0[0], "linear row 0 in " + std::to_string(big) + " tokens vs alone");

  // Token 0 sees the cache and itself in every pass; the rest of the pass changes around it.
  std::vector<std::vector<float>> att0;
  for (int t : {1, 17, big}) {
    AttentionCase c(t, 8, 2, 64, sized(700, 300), 3, true);
    auto q = to_device(c.q), k = to_device(c.k), v = to_device(c.v), kc = to_device(c.kc), vc = to_device(c.vc);
    auto vis = to_device(c.vis);
    auto seq = to_device(c.seq);
    Guarded o(size_t(t) * 8 * 64);
    const AttentionArgs a = c.args(q.data(), k.data(), v.data(), vis.data(), seq.data(), kc.data(), vc.data(), o.data());
    gpu::attention(a, gpu::pick_attention(a, gpu::Reduction::invariant));
    const auto all = o.read("attention T " + std::to_string(t));
    att0.emplace_back(all.begin(), all.begin() + 8 * 64);
  }
  expect_bitwise(att0[1], att0[0], "attention token 0 in 17 tokens vs alone");
  expect_bitwise(att0[2], att0[0], "attention token 0 in " + std::to_string(big) + " tokens vs alone");
}
