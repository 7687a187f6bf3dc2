// The self-contained HTML report (reports/README.md): inline CSS and SVG, no script, no network.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dllm {

// Renders benchmark reports (schema "dllm-bench/report"), peer comparisons (schema "dllm-bench/peer";
// the "peer" section, after the reports) and Google Benchmark JSON outputs (objects with "context"
// and "benchmarks"; shown in the kernel tables) into one HTML page. Throws naming the input when a
// record is none of them or breaks its schema.
std::string render_html(const std::vector<nlohmann::json>& records);

}  // namespace dllm
