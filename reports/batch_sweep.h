// The report's "batch_sweep" (reports/README.md): speedup over AR against batch size for each TiDAR
// configuration, from the report's points. The runner writes it, and merge recomputes it over the
// points of every shard.
#pragma once
#include <nlohmann/json.hpp>

namespace dllm {

// Groups the TiDAR points with a speedup by their id without the batch part, sorted by batch size,
// with the crossover: the smallest batch size at which TiDAR is no faster than AR in throughput.
nlohmann::json batch_sweep(const nlohmann::json& points);

}  // namespace dllm
