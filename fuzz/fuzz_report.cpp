// libFuzzer target: reading records as `dllm-bench report` and `compare` do: JSON; for dllm-bench
// reports the schema validator first (the CLI refuses a report with violations); then the HTML
// renderer (reports, peer comparisons, which it validates itself, and Google Benchmark outputs
// alike) and, for reports, the comparison. Bad input
// must fail with a dllm::Error, never another exception or a crash.
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "reports/compare.h"
#include "reports/html.h"
#include "reports/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  const bool report = dllm::is_report(j);
  if (report && !dllm::schema_violations(j, dllm::report_schema()).empty()) return 0;
  try {
    (void)dllm::render_html({j});
    if (report) (void)dllm::compare_reports(j, j, dllm::CompareOptions{});
  } catch (const dllm::Error&) {
  }
  return 0;
}
