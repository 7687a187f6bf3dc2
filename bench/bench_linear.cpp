// Linear (the weight GEMMs) over pass sizes T: the step-cost shape that decides TiDAR's speedup.
// Reports weight bytes read per second and FLOP/s, and their fractions of the `dllm-bench probe`
// limits (bench/limits.h). The fast kernel's weight (8192 x 4096 bf16, 64 MiB) is larger than the
// last-level cache, as a model's layers are.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "bench/limits.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#include "tests/testing.h"

namespace {

void rate_counters(benchmark::State& state, double weight_bytes, double flops) {
  const double it = double(state.iterations());
  state.counters["weight_GB/s"] = benchmark::Counter(weight_bytes * it / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * it / 1e9, benchmark::Counter::kIsRate);
  dllm::bench::limit_fractions(state, weight_bytes, flops);
}

void BM_RefLinear(benchmark::State& state) {
  const int tokens = int(state.range(0)), in = 1024, out = 1024;
  auto w = dllm::testutil::make_weights(out, in, dllm::DType::bf16, 1);
  const auto x = dllm::testutil::random_floats(size_t(tokens) * in, 2);
  std::vector<float> y(size_t(tokens) * out);
  for (auto _ : state) {
    dllm::ref::linear<float>(dllm::LinearArgs{tokens, in, out, x.data(), w.view, {}, y.data()});
    benchmark::DoNotOptimize(y.data());
  }
  rate_counters(state, double(w.bytes.size()), 2.0 * tokens * in * out);
}
BENCHMARK(BM_RefLinear)->Arg(1)->Arg(4)->Arg(16)->Arg(17);

// Args: T, weight dtype (0 = f32, 1 = f16, 2 = bf16), ISA path (0 = portable, 1 = avx2, 2 = avx512).
void BM_CpuLinear(benchmark::State& state) {
  const int tokens = int(state.range(0)), in = 4096, out = 8192;
  const auto dtype = dllm::DType(state.range(1));
  const auto isa = dllm::cpu::Isa(state.range(2));
  const auto isas = dllm::cpu::runnable_isas();
  if (std::find(isas.begin(), isas.end(), isa) == isas.end())
    return state.SkipWithError((std::string("no ") + dllm::cpu::isa_name(isa) + " on this CPU").c_str());
  auto w = dllm::testutil::make_weights(out, in, dtype, 1);
  const auto x = dllm::testutil::random_floats(size_t(tokens) * in, 2);
  std::vector<float> y(size_t(tokens) * out);
  for (auto _ : state) {
    dllm::cpu::linear(dllm::LinearArgs{tokens, in, out, x.data(), w.view, {}, y.data()}, isa);
    benchmark::DoNotOptimize(y.data());
  }
  rate_counters(state, double(w.bytes.size()), 2.0 * tokens * in * out);
}
constexpr int kF32 = int(dllm::DType::f32), kF16 = int(dllm::DType::f16), kBf16 = int(dllm::DType::bf16);
BENCHMARK(BM_CpuLinear)
    ->ArgNames({"T", "dtype", "isa"})
    ->ArgsProduct({{1, 2, 4, 8, 16, 17, 32, 64, 68, 128, 306}, {kBf16}, {2}})
    ->ArgsProduct({{1, 4, 16, 64}, {kF32, kF16}, {2}})
    ->ArgsProduct({{1, 4, 16, 64}, {kF32, kF16, kBf16}, {1}})
    ->ArgsProduct({{1, 16}, {kBf16}, {0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();  // the kernel threads do the work: CPU time of the main thread would undercount

}  // namespace
