// Attention of a pass of T tokens over a cache of S committed tokens (GQA 4:1, head dim 64).
#include <benchmark/benchmark.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

namespace {

void BM_RefAttention(benchmark::State& state) {
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
    dllm::ref::attention<float>(a);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["kv_GB/s"] = benchmark::Counter(2.0 * cache_len * hkv * dh * 4 * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RefAttention)->Args({1, 1024})->Args({17, 1024})->Args({1, 4096});

}  // namespace
