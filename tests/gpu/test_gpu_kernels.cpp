// Every GPU kernel and every variant against ref/ (DESIGN §4; mma where the device has it): odd shapes (1, 3, 7, 37, 97, 1025) and
// model shapes, every weight dtype, NaN/Inf checks, guard values around every output, and the
// invariant variants bitwise independent of the pass size. Skipped when no GPU is visible.
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
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
  // NVIDIA's mma rounds the inputs to tf32 (relative error <= 2^-11 each): |error| <= 2^-10 * sum |x| |w|
  // per output (twice the rounding bound, for the f32 accumulation beside it). AMD's MFMA takes f32
  // inputs and stays far inside it; a wrong lane layout is far outside.
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
    AttentionArgs a = c.args(q.data(), k.data(), v.data(), vis.data(), seq.data(), kc.data(), vc.data(), out.data());
    Guarded workspace(gpu::attention_workspace_floats(a));  // the split's partial states stay inside it
    a.workspace = workspace.data();
    gpu::attention(a, var);
    expect_close(out.read(name), r32, r64, 2e-6, name);
    workspace.read(name + " workspace");
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

// Rows with planted ties (the maximum again, before and after its first place), NaN and Inf: the
// index and the non-finite count equal the reference's exactly. Outputs are int32 bits in Guarded.
TEST(GpuKernels, Argmax) {
  DLLM_REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (int rows : {1, 3, 7, 37})
    for (int dim : {1, 7, 97, 1025, 128256}) {
      if (int64_t(rows) * dim > sized<int64_t>(5'000'000, 500'000)) continue;
      const std::string what = "argmax rows " + std::to_string(rows) + " dim " + std::to_string(dim);
      auto x = testutil::random_floats(size_t(rows) * dim, uint32_t(rows * 7 + dim), 8.0f);
      std::mt19937 gen(uint32_t(rows + dim));
      for (int r = 0; r < rows; ++r) {
        float* row = x.data() + size_t(r) * dim;
        const int top = int(std::max_element(row, row + dim) - row);
        switch (r % 4) {
          case 1: row[gen() % uint32_t(dim)] = row[top]; break;  // a tie anywhere
          case 2: row[gen() % uint32_t(dim)] = nan, row[gen() % uint32_t(dim)] = -inf; break;
          case 3: row[gen() % uint32_t(dim)] = inf; break;
          default: break;
        }
      }
      std::vector<int32_t> want_index(static_cast<size_t>(rows)), want_non_finite(static_cast<size_t>(rows));
      ref::argmax(ArgmaxArgs{rows, dim, x.data(), want_index.data(), want_non_finite.data()});
      auto xd = to_device(x);
      Guarded index(static_cast<size_t>(rows)), non_finite(static_cast<size_t>(rows));  // int32 results in float-sized slots
      gpu::argmax(ArgmaxArgs{rows, dim, xd.data(), reinterpret_cast<int32_t*>(index.data()),
                             reinterpret_cast<int32_t*>(non_finite.data())});
      const auto as_ints = [](const std::vector<float>& f) {
        std::vector<int32_t> v(f.size());
        std::memcpy(v.data(), f.data(), f.size() * sizeof(float));
        return v;
      };
      EXPECT_EQ(as_ints(index.read(what + " index")), want_index) << what;
      EXPECT_EQ(as_ints(non_finite.read(what + " non-finite")), want_non_finite) << what;
    }
}

// Every kind of draw (argmax, temperature, top-k, top-p, both) on rows with planted ties: the token
// equals the reference's. The kernel sums in another order than the reference, so a different token
// is accepted only where the reference itself is on a knife edge: its pick changes when u moves by
// 1e-9 or top_p by one float ulp.
TEST(GpuKernels, Sample) {
  DLLM_REQUIRE_GPU();
  const std::vector<RowDraw> kinds = {{0.0f, 0, 1.0f, 0}, {1.0f, 0, 1.0f, 0}, {0.7f, 0, 1.0f, 0},
                                      {1.3f, 1, 1.0f, 0}, {1.0f, 5, 1.0f, 0}, {1.0f, 0, 0.9f, 0},
                                      {0.8f, 0, 0.3f, 0}, {1.0f, 50, 0.95f, 0}};
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
        h.draft_token = ref::sample_from(ref::target_distribution(draft_row, dim, RowDraw{1.0f}), double(gen() % 1000) / 1000);
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
    AttentionArgs a = c.args(q.data(), k.data(), v.data(), vis.data(), seq.data(), kc.data(), vc.data(), o.data());
    Buffer<float> workspace(device(), gpu::attention_workspace_floats(a));
    a.workspace = workspace.data();
    gpu::attention(a, gpu::pick_attention(a, gpu::Reduction::invariant));
    const auto all = o.read("attention T " + std::to_string(t));
    att0.emplace_back(all.begin(), all.begin() + 8 * 64);
  }
  expect_bitwise(att0[1], att0[0], "attention token 0 in 17 tokens vs alone");
  expect_bitwise(att0[2], att0[0], "attention token 0 in " + std::to_string(big) + " tokens vs alone");
}

// ---- ZAYA1: every op on odd shapes, the tiny-zaya, tiny-tidar-zaya and zaya1-8b layer shapes.

namespace {

const std::vector<int> kZayaTokens = {1, 3, 7, 37};

// Random sources for a pass of t tokens in 2 sequences: zeros, earlier pass tokens and ring entries
// (slots that map to every entry of the ring).
std::vector<RecurrentSource> random_sources(int t, int ring, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<RecurrentSource> s(static_cast<size_t>(t));
  for (int i = 0; i < t; ++i) {
    const uint32_t kind = gen() % 3;
    if (kind == 1 && i > 0) s[size_t(i)] = {RecurrentSource::Kind::pass, int32_t(gen() % uint32_t(i))};
    else if (kind == 2) s[size_t(i)] = {RecurrentSource::Kind::cache, int32_t(gen() % uint32_t(3 * ring))};
    else s[size_t(i)] = {RecurrentSource::Kind::zero, 0};
  }
  return s;
}

}  // namespace

TEST(GpuKernels, CcaState) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int qw, kw, vh;
  };
  // odd; tiny-zaya (4 x 16, 2 x 16); zaya1-8b (8 x 128, 2 x 128)
  for (Shape s : {Shape{1, 1, 1}, Shape{7, 3, 97}, Shape{64, 32, 16}, Shape{1024, 256, 128}})
    for (int t : kZayaTokens) {
      const std::string what = "cca_state T " + std::to_string(t) + " C " + std::to_string(s.qw + s.kw) + " Vh " +
                               std::to_string(s.vh);
      const int c = s.qw + s.kw, w = c + s.vh, ring = 64;  // ring > 37: the stored slots below hit distinct entries
      const int64_t stride = int64_t(ring) * w;
      const auto q0 = testutil::random_floats(size_t(t) * s.qw, uint32_t(t + 1));
      const auto k0 = testutil::random_floats(size_t(t) * s.kw, uint32_t(t + 2));
      const auto v_cur = testutil::random_floats(size_t(t) * s.vh, uint32_t(t + 3));
      const auto vd = testutil::random_floats(size_t(t) * s.vh, uint32_t(t + 4));
      const auto ring0 = testutil::random_floats(size_t(2 * stride), uint32_t(t + 5));
      const auto prev1 = random_sources(t, ring, uint32_t(t + 6)), prev2 = random_sources(t, ring, uint32_t(t + 7));
      const auto seq = random_ints(size_t(t), 0, 2, uint32_t(t + 8));
      std::vector<int32_t> slot(static_cast<size_t>(t));
      for (int i = 0; i < t; ++i) slot[size_t(i)] = i % 4 == 3 ? kScratchSlot : 3 * ring + i;
      CcaStateArgs a;
      a.tokens = t, a.q_width = s.qw, a.k_width = s.kw, a.value_width = s.vh;
      a.seq_stride = stride, a.ring_size = ring;
      std::vector<float> qk0(size_t(t) * c), c0p(qk0.size()), c0pp(qk0.size()), v(size_t(t) * 2 * s.vh), ring_want = ring0;
      {
        CcaStateArgs r = a;
        r.q0 = q0.data(), r.k0 = k0.data(), r.v_cur = v_cur.data(), r.vd = vd.data(), r.prev1 = prev1.data();
        r.prev2 = prev2.data(), r.seq = seq.data(), r.slot = slot.data(), r.ring = ring_want.data();
        r.qk0 = qk0.data(), r.c0_prev = c0p.data(), r.c0_prev2 = c0pp.data(), r.v = v.data();
        ref::cca_state(r);
      }
      auto q0d = to_device(q0), k0d = to_device(k0), vcd = to_device(v_cur), vdd = to_device(vd);
      auto p1d = to_device(prev1), p2d = to_device(prev2);
      auto seqd = to_device(seq), slotd = to_device(slot);
      Guarded ring_d(ring0), qk0_d(qk0.size()), c0p_d(qk0.size()), c0pp_d(qk0.size()), v_d(v.size());
      a.q0 = q0d.data(), a.k0 = k0d.data(), a.v_cur = vcd.data(), a.vd = vdd.data(), a.prev1 = p1d.data();
      a.prev2 = p2d.data(), a.seq = seqd.data(), a.slot = slotd.data(), a.ring = ring_d.data();
      a.qk0 = qk0_d.data(), a.c0_prev = c0p_d.data(), a.c0_prev2 = c0pp_d.data(), a.v = v_d.data();
      gpu::cca_state(a);
      expect_bitwise(qk0_d.read(what + " qk0"), qk0, what + " qk0");
      expect_bitwise(c0p_d.read(what + " c0_prev"), c0p, what + " c0_prev");
      expect_bitwise(c0pp_d.read(what + " c0_prev2"), c0pp, what + " c0_prev2");
      expect_bitwise(v_d.read(what + " v"), v, what + " v");
      expect_bitwise(ring_d.read(what + " ring"), ring_want, what + " ring");
    }
}

namespace {

// cca_conv inputs for t tokens of `heads` heads of dh channels, weights in dt.
struct CcaConvCase {
  int t, heads, dh;
  std::vector<float> x, prev, prev2;
  DeviceWeights w1, b1, w2, b2;
  CcaConvCase(int t_, int heads_, int dh_, DType dt, uint32_t seed)
      : t(t_), heads(heads_), dh(dh_),
        x(testutil::random_floats(size_t(t) * heads * dh, seed)),
        prev(testutil::random_floats(x.size(), seed + 1)),
        prev2(testutil::random_floats(x.size(), seed + 2)),
        w1(int64_t(heads) * dh, 2, dt, seed + 3), b1(1, int64_t(heads) * dh, dt, seed + 4),
        w2(int64_t(heads) * dh * dh, 2, dt, seed + 5, 1.0f / std::sqrt(float(dh))),
        b2(1, int64_t(heads) * dh, dt, seed + 6) {}
  CcaConvArgs args(const float* x_, const float* p_, const float* p2_, bool device, float* y) const {
    auto v = [&](const DeviceWeights& w) { return device ? w.view : w.host.view; };
    return CcaConvArgs{t, heads, dh, x_, p_, p2_, v(w1), v(b1), v(w2), v(b2), y};
  }
};

}  // namespace

TEST(GpuKernels, CcaConv) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int heads, dh;
  };
  // odd; tiny-zaya (4 + 2 heads of 16); tiny-tidar-zaya (4 + 2 of 32); zaya1-8b (8 + 2 of 128)
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (Shape s : {Shape{1, 1}, Shape{3, 7}, Shape{2, 97}, Shape{6, 16}, Shape{6, 32}, Shape{10, 128}})
      for (int t : kZayaTokens) {
        const std::string what = "cca_conv T " + std::to_string(t) + " heads " + std::to_string(s.heads) + " Dh " +
                                 std::to_string(s.dh) + " " + dtype_name(dt);
        const CcaConvCase c(t, s.heads, s.dh, dt, uint32_t(t * 13 + s.dh));
        std::vector<float> r32(c.x.size()), r64(c.x.size());
        ref::cca_conv<float>(c.args(c.x.data(), c.prev.data(), c.prev2.data(), false, r32.data()));
        ref::cca_conv<double>(c.args(c.x.data(), c.prev.data(), c.prev2.data(), false, r64.data()));
        auto xd = to_device(c.x), pd = to_device(c.prev), p2d = to_device(c.prev2);
        Guarded y(c.x.size());
        gpu::cca_conv(c.args(xd.data(), pd.data(), p2d.data(), true, y.data()));
        expect_close(y.read(what), r32, r64, 2e-6, what);
      }
}

TEST(GpuKernels, CcaQk) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int hq, hkv, dh;
  };
  // odd; tiny-zaya; tiny-tidar-zaya; zaya1-8b
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (Shape s : {Shape{1, 1, 1}, Shape{2, 1, 7}, Shape{3, 3, 97}, Shape{4, 2, 16}, Shape{4, 2, 32}, Shape{8, 2, 128}})
      for (int t : kZayaTokens) {
        const std::string what = "cca_qk T " + std::to_string(t) + " Hq " + std::to_string(s.hq) + " Hkv " +
                                 std::to_string(s.hkv) + " Dh " + std::to_string(s.dh) + " " + dtype_name(dt);
        const size_t c = size_t(s.hq + s.hkv) * s.dh;
        const auto qk0 = testutil::random_floats(size_t(t) * c, uint32_t(t + s.dh));
        const auto conv = testutil::random_floats(size_t(t) * c, uint32_t(t + s.dh + 1));
        DeviceWeights temp(1, s.hkv, dt, uint32_t(s.hkv), 3.0f);
        std::vector<float> q32(size_t(t) * s.hq * s.dh), q64(q32.size()), k32(size_t(t) * s.hkv * s.dh), k64(k32.size());
        ref::cca_qk<float>(CcaQkArgs{t, s.hq, s.hkv, s.dh, qk0.data(), conv.data(), temp.host.view, q32.data(), k32.data()});
        ref::cca_qk<double>(CcaQkArgs{t, s.hq, s.hkv, s.dh, qk0.data(), conv.data(), temp.host.view, q64.data(), k64.data()});
        auto qk0d = to_device(qk0), convd = to_device(conv);
        Guarded q(q32.size()), k(k32.size());
        gpu::cca_qk(CcaQkArgs{t, s.hq, s.hkv, s.dh, qk0d.data(), convd.data(), temp.view, q.data(), k.data()});
        expect_close(q.read(what + " q"), q32, q64, 2e-6, what + " q");
        expect_close(k.read(what + " k"), k32, k64, 2e-6, what + " k");
      }
}

namespace {

// The router's weights for dim D, router width R, E experts (plus the skip route) in dt.
struct RouterCase {
  int d, r, e;
  DeviceWeights down, down_bias, state_scale, norm, fc1, fc1_bias, fc2, fc2_bias, out, balancing;
  RouterCase(int d_, int r_, int e_, DType dt, uint32_t seed)
      : d(d_), r(r_), e(e_),
        down(r, d, dt, seed, 1.0f / std::sqrt(float(d))), down_bias(1, r, dt, seed + 1),
        state_scale(1, r, dt, seed + 2), norm(1, r, dt, seed + 3),
        fc1(r, r, dt, seed + 4, 2.0f / std::sqrt(float(r))), fc1_bias(1, r, dt, seed + 5),
        fc2(r, r, dt, seed + 6, 2.0f / std::sqrt(float(r))), fc2_bias(1, r, dt, seed + 7),
        out(e + 1, r, dt, seed + 8, 4.0f / std::sqrt(float(r))), balancing(1, e + 1, DType::f32, seed + 9, 0.1f) {}
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
            EXPECT_NEAR(score_gpu, score_ref, 1e-5) << what << " token " << i << ": expert " << eg[k] << " vs "
                                                    << e64[k] << " is not a near tie";
          }
        }
    }
}

namespace {

struct MoeCase {
  int d, f, e;
  DeviceWeights gate_up, down;
  MoeCase(int d_, int f_, int e_, DType dt, uint32_t seed)
      : d(d_), f(f_), e(e_), gate_up(int64_t(e) * 2 * f, d, dt, seed, 1.0f / std::sqrt(float(d))),
        down(int64_t(e) * d, f, dt, seed + 1, 1.0f / std::sqrt(float(f))) {}
  MoeArgs args(int t, SkipRoute skip, bool device, const float* x, const int32_t* expert, const float* weight,
               float* y, float* act) const {
    return MoeArgs{t, d, f, e, skip, x, expert, weight, device ? gate_up.view : gate_up.host.view,
                   device ? down.view : down.host.view, y, act};
  }
};

}  // namespace

TEST(GpuKernels, Moe) {
  DLLM_REQUIRE_GPU();
  struct Shape {
    int d, f, e;
  };
  // odd; tiny-zaya (64, 64, 4); tiny-tidar-zaya (128, 128, 16); zaya1-8b's expert shape (2048, 2048) with 3
  // of its 16 experts (the per-token math does not depend on E)
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (Shape s : {Shape{1, 1, 1}, Shape{7, 97, 3}, Shape{97, 7, 2}, Shape{64, 64, 4}, Shape{128, 128, 16},
                    Shape{2048, 2048, 3}}) {
      const MoeCase c(s.d, s.f, s.e, dt, uint32_t(s.d * 3 + s.f + s.e));
      for (int t : kZayaTokens)
        for (SkipRoute skip : {SkipRoute::zero, SkipRoute::identity}) {
          if (s.d == 2048 && t > sized(7, 1)) continue;
          const std::string what = "moe T " + std::to_string(t) + " D " + std::to_string(s.d) + " F " +
                                   std::to_string(s.f) + " E " + std::to_string(s.e) + " " + dtype_name(dt) +
                                   (skip == SkipRoute::zero ? " skip zero" : " skip identity");
          const auto x = testutil::random_floats(size_t(t) * s.d, uint32_t(t));
          const auto expert = random_ints(size_t(t), 0, s.e + 1, uint32_t(t + 1));  // the skip route included
          const auto weight = testutil::random_floats(size_t(t), uint32_t(t + 2));
          std::vector<float> r32(x.size()), r64(x.size());
          ref::moe<float>(c.args(t, skip, false, x.data(), expert.data(), weight.data(), r32.data(), nullptr));
          ref::moe<double>(c.args(t, skip, false, x.data(), expert.data(), weight.data(), r64.data(), nullptr));
          auto xd = to_device(x), wd = to_device(weight);
          auto ed = to_device(expert);
          Buffer<float> act(device(), size_t(t) * s.f);
          Guarded y(x.size());
          gpu::moe(c.args(t, skip, true, xd.data(), ed.data(), wd.data(), y.data(), act.data()));
          expect_close(y.read(what), r32, r64, 4e-6, what);
        }
    }
}

TEST(GpuKernels, ResidualScale) {
  DLLM_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f16, DType::bf16})
    for (int t : kZayaTokens)
      for (int d : {1, 7, 97, 2048})
        for (bool merge : {false, true}) {  // the input scaling (no r_scale) and the residual merge
          const std::string what = "residual_scale T " + std::to_string(t) + " D " + std::to_string(d) + " " +
                                   dtype_name(dt) + (merge ? " merge" : " input");
          DeviceWeights hs(1, d, dt, 1), hb(1, d, dt, 2), rs(1, d, dt, 3), rb(1, d, dt, 4);
          const auto h = testutil::random_floats(size_t(t) * d, uint32_t(t + d));
          const auto r0 = testutil::random_floats(h.size(), uint32_t(t + d + 1));
          std::vector<float> want = r0;
          ref::residual_scale(ResidualScaleArgs{t, d, h.data(), hs.host.view, hb.host.view,
                                                merge ? rs.host.view : WeightView{}, rb.host.view, want.data()});
          auto hd = to_device(h);
          Guarded r(r0);
          gpu::residual_scale(
              ResidualScaleArgs{t, d, hd.data(), hs.view, hb.view, merge ? rs.view : WeightView{}, rb.view, r.data()});
          // Element-wise: a rounding of the products (FMA contraction on the device) at most.
          expect_close(r.read(what), want, want, 1e-6, what);
        }
}

// The zaya ops gpu-invariant uses (all of them: one kernel shape in every mode): token 0 and token 16
// alone give the same bits as inside a 17-token call (zaya1-8b layer shapes).
TEST(GpuKernels, ZayaOpsAreBitwiseShapeInvariant) {
  DLLM_REQUIRE_GPU();
  const int n = 17, hq = 8, hkv = 2, dh = 128, heads = hq + hkv, c = heads * dh, d = 2048;
  // Row `row` of a [n, width] call against the same op on that row alone; `run(tokens, first_row)` runs
  // the op on `tokens` rows starting at `first_row` and returns its outputs, each [tokens, width_i].
  auto check = [&](const std::string& op, const std::vector<int>& widths,
                   const std::function<std::vector<std::vector<float>>(int, int)>& run) {
    const auto all = run(n, 0);
    for (int row : {0, n - 1}) {
      const auto alone = run(1, row);
      for (size_t o = 0; o < widths.size(); ++o) {
        const size_t w = size_t(widths[o]);
        expect_bitwise(alone[o], std::vector<float>(all[o].begin() + long(row * w), all[o].begin() + long((row + 1) * w)),
                       op + " output " + std::to_string(o) + " token " + std::to_string(row) + " alone vs in 17");
      }
    }
  };
  const CcaConvCase conv(n, heads, dh, DType::bf16, 11);
  auto xd = to_device(conv.x), pd = to_device(conv.prev), p2d = to_device(conv.prev2);
  check("cca_conv", {c}, [&](int t, int row) {
    Guarded y(size_t(t) * c);
    const int64_t off = int64_t(row) * c;
    gpu::cca_conv(CcaConvArgs{t, heads, dh, xd.data() + off, pd.data() + off, p2d.data() + off, conv.w1.view,
                              conv.b1.view, conv.w2.view, conv.b2.view, y.data()});
    return std::vector<std::vector<float>>{y.read("cca_conv")};
  });
  DeviceWeights temp(1, hkv, DType::bf16, 12, 3.0f);
  check("cca_qk", {hq * dh, hkv * dh}, [&](int t, int row) {
    Guarded q(size_t(t) * hq * dh), k(size_t(t) * hkv * dh);
    const int64_t off = int64_t(row) * c;
    gpu::cca_qk(CcaQkArgs{t, hq, hkv, dh, xd.data() + off, pd.data() + off, temp.view, q.data(), k.data()});
    return std::vector<std::vector<float>>{q.read("cca_qk q"), k.read("cca_qk k")};
  });
  const RouterCase router(d, 256, 16, DType::bf16, 13);
  const auto x = testutil::random_floats(size_t(n) * d, 14, 2.0f);
  const auto state = testutil::random_floats(size_t(n) * 256, 15);
  auto x_d = to_device(x);
  check("zaya_router", {256, 1, 1}, [&](int t, int row) {
    Guarded st(std::vector<float>(state.begin() + long(row) * 256, state.begin() + long(row + t) * 256));
    Guarded weight(static_cast<size_t>(t));
    Buffer<int32_t> expert(device(), size_t(t));
    gpu::zaya_router(router.args(t, true, x_d.data() + int64_t(row) * d, st.data(), st.data(), expert.data(),
                                 weight.data()));
    std::vector<int32_t> e(static_cast<size_t>(t));
    expert.download(e.data(), e.size());
    return std::vector<std::vector<float>>{st.read("router state"), std::vector<float>(e.begin(), e.end()),
                                           weight.read("router weight")};
  });
  const MoeCase moe(d, 2048, 3, DType::bf16, 16);
  const auto expert = random_ints(size_t(n), 0, 4, 17);
  const auto weight = testutil::random_floats(size_t(n), 18);
  auto ed = to_device(expert);
  auto wd = to_device(weight);
  check("moe", {d}, [&](int t, int row) {
    Buffer<float> act(device(), size_t(t) * 2048);
    Guarded y(size_t(t) * d);
    gpu::moe(moe.args(t, SkipRoute::identity, true, x_d.data() + int64_t(row) * d, ed.data() + row, wd.data() + row,
                      y.data(), act.data()));
    return std::vector<std::vector<float>>{y.read("moe")};
  });
  DeviceWeights hs(1, d, DType::bf16, 19), hb(1, d, DType::bf16, 20), rs(1, d, DType::bf16, 21), rb(1, d, DType::bf16, 22);
  const auto r0 = testutil::random_floats(size_t(n) * d, 23);
  check("residual_scale", {d}, [&](int t, int row) {
    Guarded r(std::vector<float>(r0.begin() + long(row) * d, r0.begin() + long(row + t) * d));
    gpu::residual_scale(ResidualScaleArgs{t, d, x_d.data() + int64_t(row) * d, hs.view, hb.view, rs.view, rb.view, r.data()});
    return std::vector<std::vector<float>>{r.read("residual_scale")};
  });
}
