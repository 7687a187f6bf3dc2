// What CCA buys a diffusion step (docs/zaya.md): one attention layer of ZAYA1-8B's width
// (D = 2048) for a pass of T = 1, 17, 68, 306 tokens over a committed context of 1k to 32k tokens,
// CCGQA (8 query heads x 128 in the compressed space, 2 kv heads, the two convolutions, q/k norm)
// against plain GQA of the same width (16 query heads x 128, 2 kv heads), on the CPU backend.
// Counters: attention FLOPs (projections + QK^T + AV) and KV bytes read, per pass. Large contexts
// run one iteration so that the whole sweep stays within a few minutes.
#include <benchmark/benchmark.h>

#include <cmath>

#include "engine/backend/cpu_backend.h"
#include "opcases/random.h"

namespace {

using namespace dllm;

constexpr int kD = 2048, kDh = 128, kHkv = 2;

enum class Attn { ccgqa, gqa };

struct Layer {
  Attn kind;
  int hq;
  opcases::StoredWeights wq, wk, wv, wv2, wo, c1, c1b, c2, c2b, temp;
  explicit Layer(Attn k)
      : kind(k),
        hq(k == Attn::ccgqa ? 8 : 16),
        wq(opcases::make_weights(int64_t(hq) * kDh, kD, DType::bf16, 1, 0.02f)),
        wk(opcases::make_weights(kHkv * kDh, kD, DType::bf16, 2, 0.02f)),
        wv(opcases::make_weights(k == Attn::ccgqa ? kHkv * kDh / 2 : kHkv * kDh, kD, DType::bf16, 3, 0.02f)),
        wv2(opcases::make_weights(kHkv * kDh / 2, kD, DType::bf16, 4, 0.02f)),
        wo(opcases::make_weights(kD, int64_t(hq) * kDh, DType::bf16, 5, 0.02f)),
        c1(opcases::make_weights((hq + kHkv) * kDh, 2, DType::bf16, 6)),
        c1b(opcases::make_weights(1, (hq + kHkv) * kDh, DType::bf16, 7)),
        c2(opcases::make_weights(int64_t(hq + kHkv) * kDh * kDh, 2, DType::bf16, 8, 0.1f)),
        c2b(opcases::make_weights(1, (hq + kHkv) * kDh, DType::bf16, 9)),
        temp(opcases::make_weights(1, kHkv, DType::f32, 10)) {}

  // Multiply-adds x 2 of the projections and of QK^T + AV for T tokens over S + T keys.
  double flops(int t, int s) const {
    const double proj = 2.0 * t * kD * (double(hq) * kDh * 2 + kHkv * kDh * 2);  // q, o, k, v (v1 + v2 for CCA)
    const double conv = kind == Attn::ccgqa ? 2.0 * t * (hq + kHkv) * kDh * (2 * kDh + 2) : 0.0;
    const double core = 4.0 * t * (s + t) * hq * kDh;
    return proj + conv + core;
  }
};

void run(benchmark::State& state, Attn kind) {
  const int t = int(state.range(0)), s = int(state.range(1));
  Layer l(kind);
  CpuBackend be;
  const int hq = l.hq, ch = (hq + kHkv) * kDh;
  const auto x = opcases::random_floats(size_t(t) * kD, 11);
  const auto kc = opcases::random_floats(size_t(s) * kHkv * kDh, 12), vc = kc;
  std::vector<float> q(size_t(t) * hq * kDh), k(size_t(t) * kHkv * kDh), v(k.size()), qk0(size_t(t) * ch),
      prev(qk0.size(), 0.5f), conv(qk0.size()), attn(q.size()), out(size_t(t) * kD);
  std::vector<Visibility> vis(static_cast<size_t>(t));
  for (int i = 0; i < t; ++i) vis[size_t(i)] = {s, {0, i + 1}, {}};
  std::vector<int32_t> seq(size_t(t), 0), pos(seq.size());
  for (int i = 0; i < t; ++i) pos[size_t(i)] = s + i;
  for (auto _ : state) {
    if (kind == Attn::ccgqa) {
      be.linear(LinearArgs{t, kD, hq * kDh, x.data(), l.wq.view, {}, qk0.data()});  // stand-in layout: q0 then k0
      be.linear(LinearArgs{t, kD, kHkv * kDh, x.data(), l.wk.view, {}, k.data()});
      be.linear(LinearArgs{t, kD, kHkv * kDh / 2, x.data(), l.wv.view, {}, v.data()});
      be.linear(LinearArgs{t, kD, kHkv * kDh / 2, x.data(), l.wv2.view, {}, v.data() + size_t(t) * kHkv * kDh / 2});
      be.cca_conv(CcaConvArgs{t, hq + kHkv, kDh, qk0.data(), prev.data(), prev.data(), l.c1.view, l.c1b.view, l.c2.view,
                              l.c2b.view, conv.data()});
      be.cca_qk(CcaQkArgs{t, hq, kHkv, kDh, qk0.data(), conv.data(), l.temp.view, q.data(), k.data()});
    } else {
      be.linear(LinearArgs{t, kD, hq * kDh, x.data(), l.wq.view, {}, q.data()});
      be.linear(LinearArgs{t, kD, kHkv * kDh, x.data(), l.wk.view, {}, k.data()});
      be.linear(LinearArgs{t, kD, kHkv * kDh, x.data(), l.wv.view, {}, v.data()});
    }
    be.rope(RopeArgs{t, hq, kDh, kDh / 2, 5e6f, pos.data(), q.data(), RopeScaling{}});
    be.rope(RopeArgs{t, kHkv, kDh, kDh / 2, 5e6f, pos.data(), k.data(), RopeScaling{}});
    AttentionArgs a;
    a.tokens = t, a.q_heads = hq, a.kv_heads = kHkv, a.head_dim = kDh, a.scale = float(1.0 / std::sqrt(kDh));
    a.q = q.data(), a.k_pass = k.data(), a.v_pass = v.data(), a.vis = vis.data(), a.seq = seq.data();
    a.k_cache = kc.data(), a.v_cache = vc.data(), a.seq_stride = 0, a.out = attn.data();
    be.attention(a);
    be.linear(LinearArgs{t, hq * kDh, kD, attn.data(), l.wo.view, {}, out.data()});
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["T"] = t;
  state.counters["context"] = s;
  state.counters["GFLOP_per_pass"] = l.flops(t, s) / 1e9;
  state.counters["KV_MB_per_pass"] = 2.0 * (s + t) * kHkv * kDh * 2 / 1e6;  // bf16 K and V of every key
  state.counters["GFLOP/s"] =
      benchmark::Counter(l.flops(t, s) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void BM_Ccgqa(benchmark::State& state) { run(state, Attn::ccgqa); }
void BM_Gqa(benchmark::State& state) { run(state, Attn::gqa); }

void sweep(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->UseRealTime();
  for (int s : {1024, 4096, 32768})
    for (int t : {1, 17, 68, 306}) b->Args({t, s});
  b->Iterations(1);
}
BENCHMARK(BM_Ccgqa)->Apply(sweep);
BENCHMARK(BM_Gqa)->Apply(sweep);

}  // namespace
