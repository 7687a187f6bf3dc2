// Linear (the weight GEMMs) over pass sizes T: the step-cost shape that decides TiDAR's speedup.
// Reports weight bytes read per second and FLOP/s.
#include <benchmark/benchmark.h>

#include "ref/ref.h"
#include "tests/testing.h"

namespace {

void BM_RefLinear(benchmark::State& state) {
  const int tokens = int(state.range(0)), in = 1024, out = 1024;
  auto w = dllm::testutil::make_weights(out, in, dllm::DType::bf16, 1);
  const auto x = dllm::testutil::random_floats(size_t(tokens) * in, 2);
  std::vector<float> y(size_t(tokens) * out);
  for (auto _ : state) {
    dllm::ref::linear<float>(dllm::LinearArgs{tokens, in, out, x.data(), w.view, {}, y.data()});
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(double(w.bytes.size()) * double(state.iterations()) / 1e9,
                                                     benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * tokens * in * out * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RefLinear)->Arg(1)->Arg(4)->Arg(16)->Arg(17);

}  // namespace
