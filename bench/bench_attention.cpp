// Attention of a pass of T tokens over a cache of L committed tokens (GQA 4:1, head dim 64), causal
// inside the pass: the reference and the fast kernel. Reports K/V bytes read per second and FLOP/s
// (QK^T and PV: 4 * Hq * Dh per key per token), with their fractions of the probe limits.
#include <benchmark/benchmark.h>

#include <cmath>

#include "bench/limits.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#include "tests/testing.h"

namespace {

template <void (*Attention)(const dllm::AttentionArgs&)>
void BM_Attention(benchmark::State& state) {
  const int tokens = int(state.range(0)), cache_len = int(state.range(1));
  const int hq = 8, hkv = 2, dh = 64;
  const auto q = dllm::testutil::random_floats(size_t(tokens) * hq * dh, 1);
  const auto kp = dllm::testutil::random_floats(size_t(tokens) * hkv * dh, 2), vp = kp;
  const auto kc = dllm::testutil::random_floats(size_t(cache_len) * hkv * dh, 3), vc = kc;
  std::vector<dllm::Visibility> vis(static_cast<size_t>(tokens));
  for (int t = 0; t < tokens; ++t) vis[size_t(t)] = {cache_len, {0, t + 1}, {}};
  std::vector<int32_t> seq(size_t(tokens), 0);
  std::vector<float> out(q.size());
  dllm::AttentionArgs a;
  a.tokens = tokens, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh, a.scale = 0.125f;
  a.q = q.data(), a.k_pass = kp.data(), a.v_pass = vp.data(), a.vis = vis.data(), a.seq = seq.data();
  a.k_cache = kc.data(), a.v_cache = vc.data(), a.seq_stride = 0, a.out = out.data();
  for (auto _ : state) {
    Attention(a);
    benchmark::DoNotOptimize(out.data());
  }
  const double kv_bytes = 2.0 * cache_len * hkv * dh * 4;
  const double flops = 4.0 * hq * dh * (double(tokens) * cache_len + double(tokens) * (tokens + 1) / 2);
  state.counters["kv_GB/s"] = benchmark::Counter(kv_bytes * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  dllm::bench::limit_fractions(state, kv_bytes, flops);
}

BENCHMARK(BM_Attention<dllm::ref::attention<float>>)->Name("BM_RefAttention")->Args({1, 1024})->Args({17, 1024})->Args({1, 4096});
BENCHMARK(BM_Attention<dllm::cpu::attention>)
    ->Name("BM_CpuAttention")
    ->Args({1, 1024})
    ->Args({17, 1024})
    ->Args({1, 4096})
    ->Args({17, 4096})
    ->Args({306, 1024})
    ->UseRealTime();  // the kernel threads do the work: CPU time of the main thread would undercount

}  // namespace
