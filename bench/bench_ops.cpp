// The CPU kernel micro-benchmarks: every host variant of the op tables (opcases/) on its op's
// benchmark shapes, and the f32 reference on its own (smaller) ones, as BM_Cpu<Op>/<variant>/<shape>/T:<T>
// and BM_Ref<Op>/<shape>/T:<T>. Counters: bytes moved and FLOP per second, and their fractions of the
// `dllm-bench probe` limits (bench/limits.h).
#include <benchmark/benchmark.h>

#include <cctype>

#include "bench/limits.h"
#include "opcases/registry.h"

namespace {

using namespace dllm;

// "kv_write" -> "KvWrite"
std::string camel(const std::string& op) {
  std::string s;
  bool up = true;
  for (char c : op) {
    if (c == '_')
      up = true;
    else
      s += up ? char(std::toupper(static_cast<unsigned char>(c))) : c, up = false;
  }
  return s;
}

const bool registered = [] {
  for (const opcases::Entry& e : opcases::entries()) {
    if (e.device != opcases::Device::host || !e.available()) continue;
    const bool ref = e.variant == "ref";
    const std::string variant = ref ? "" : e.variant + "/";
    for (const opcases::Timed& t : e.bench) {
      std::string name =
          (ref ? "BM_Ref" : "BM_Cpu") + camel(e.op) + "/" + variant + t.shape + "/T:" + std::to_string(t.tokens);
      for (char& c : name)
        if (c == ' ') c = '_';
      benchmark::RegisterBenchmark(name.c_str(), [t](benchmark::State& state) {
        const std::function<void()> call = t.prepare(opcases::host_place());
        for (auto _ : state) {
          call();
          benchmark::ClobberMemory();
        }
        const double it = double(state.iterations());
        state.counters["GB/s"] = benchmark::Counter(t.bytes * it / 1e9, benchmark::Counter::kIsRate);
        state.counters["GFLOP/s"] = benchmark::Counter(t.flops * it / 1e9, benchmark::Counter::kIsRate);
        bench::limit_fractions(state, t.bytes, t.flops);
      })->UseRealTime();  // the kernel threads do the work: CPU time of the main thread would undercount
    }
  }
  return true;
}();

}  // namespace
