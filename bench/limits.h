// The `dllm-bench probe` record as benchmark counters: what fraction of the measured read bandwidth
// and peak FLOP/s a kernel reached (absent when no probe record exists).
#pragma once
#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/bench/provenance.h"

namespace dllm::bench {

inline const nlohmann::json& probe_record() {
  static const nlohmann::json record = [] {
    std::ifstream f(default_probe_path());
    nlohmann::json j = f ? nlohmann::json::parse(f, nullptr, false) : nlohmann::json();
    return j.is_object() ? j : nlohmann::json();
  }();
  return record;
}

// bytes and flops are per iteration.
inline void limit_fractions(benchmark::State& state, double bytes, double flops) {
  const nlohmann::json& p = probe_record();
  if (!p.is_object()) return;
  const double bw = p.value("read_bandwidth_bytes_per_s", 0.0), peak = p.value("peak_flops_per_s", 0.0);
  if (bw > 0)
    state.counters["of_read_bw"] =
        benchmark::Counter(bytes * double(state.iterations()) / bw, benchmark::Counter::kIsRate);
  if (peak > 0)
    state.counters["of_peak_flops"] =
        benchmark::Counter(flops * double(state.iterations()) / peak, benchmark::Counter::kIsRate);
}

}  // namespace dllm::bench
