// libFuzzer target: reading a report as `dllm-bench report` and `compare` do: JSON, the schema
// validator, then, for records the schema accepts, the HTML renderer and the comparison. A record
// that passes the schema must never make them fail other than with a dllm::Error.
#include <nlohmann/json.hpp>

#include "engine/core/check.h"
#include "reports/compare.h"
#include "reports/html.h"
#include "reports/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  if (!dllm::schema_violations(j, dllm::report_schema()).empty()) return 0;
  try {
    dllm::validate_report(j);
    (void)dllm::render_html({j});
    (void)dllm::compare_reports(j, j, dllm::CompareOptions{});
  } catch (const dllm::Error&) {
  }
  return 0;
}
