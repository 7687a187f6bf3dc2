// The HTML report from the checked-in fixture: self-contained, every chart and table present,
// text escaped. (tests/reports/chromium_test.sh renders it in a real browser.)
#include "reports/html.h"
#include "reports/schema.h"
#include "core/check.h"

#include <gtest/gtest.h>

#include <fstream>

using nlohmann::json;

namespace {

json fixture() {
  std::ifstream f(DLLM_SOURCE_DIR "/tests/reports/fixture-report.json");
  return json::parse(f);
}

}  // namespace

TEST(ReportHtml, FixtureRendersEverySection) {
  const std::string html = dllm::render_html({fixture()});
  for (const char* chart : {"throughput", "speedup_vs_w", "quality_vs_w", "accepted_histogram", "slot_acceptance",
                            "step_cost_cpu", "speed_vs_quality", "speedup_vs_batch", "tokens_vs_batch"})
    EXPECT_NE(html.find(std::string("data-chart=\"") + chart + "\""), std::string::npos) << chart;
  for (const char* section : {"Summary", "Equivalence with AR", "block by block", "Kernel parity", "Kernel roofline",
                              "Provenance", "Per category", "linear q_proj"})
    EXPECT_NE(html.find(section), std::string::npos) << section;
  // Self-contained: no script, no external resource.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg"), html.find("http://"));  // the only URL is the SVG namespace
}

TEST(ReportHtml, TextIsEscaped) {
  json r = fixture();
  r["examples"][0]["prompt_text"] = "<script>alert(1)</script>&";
  const std::string html = dllm::render_html({r});
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;"), std::string::npos);
}

TEST(ReportHtml, GoogleBenchmarkOutputBecomesTheKernelTable) {
  const json gb = json::parse(R"({"context": {"host_name": "x"}, "benchmarks": [
    {"name": "BM_Linear/4096/1", "real_time": 12.5, "time_unit": "us", "weight_GB/s": 25.0, "GFLOP/s": 3.5}]})");
  const std::string html = dllm::render_html({fixture(), gb});
  EXPECT_NE(html.find("BM_Linear/4096/1"), std::string::npos);
  EXPECT_NE(html.find("25.00"), std::string::npos);  // GB/s
  EXPECT_THROW(dllm::render_html({json::parse(R"({"foo": 1})")}), std::exception);
}

// Fields of the wrong type (found by fuzz_report): the schema refuses what it pins down, and
// anything left open still ends in a dllm::Error naming the problem, never a crash or a raw
// JSON-library exception.
TEST(ReportHtml, WrongFieldTypesAreClearErrors) {
  json r = fixture();
  json& category = r["points"][0]["per_category"].begin().value();
  category["answers_correct"] = json::object();
  EXPECT_FALSE(dllm::schema_violations(r, dllm::report_schema()).empty());
  EXPECT_THROW(dllm::render_html({r}), dllm::Error);
  r = fixture();
  r["suite"]["prompts"] = 6.3e90;  // a count no integer type holds
  EXPECT_THROW(dllm::render_html({r}), dllm::Error);
  // A measured point without its accounting (the schema leaves it optional): an error, not a read
  // through a missing key of a const object (found by fuzz_report).
  r = fixture();
  r["points"][0].erase("accounting");
  EXPECT_TRUE(dllm::schema_violations(r, dllm::report_schema()).empty());
  EXPECT_THROW(dllm::render_html({r}), dllm::Error);
}

// The summary says what bounds each TiDAR configuration's speedup: with the fixture's curve
// (t(68)/t(1) = 38) a fast machine's roofline allows 6.8 AR steps per step (our kernels are the
// bound), a slow one's 34 (the hardware is); without a probe it says so.
TEST(ReportHtml, SummaryNamesWhatBoundsTheSpeedup) {
  json r = fixture();
  EXPECT_NE(dllm::render_html({r}).find("no verdict on what bounds the speedup"), std::string::npos);
  r["provenance"]["machine_limits"] = {{"read_bandwidth_bytes_per_s", 20e9}, {"peak_flops_per_s", 100e9}};
  std::string html = dllm::render_html({r});
  EXPECT_NE(html.find("What bounds the speedup"), std::string::npos);
  EXPECT_NE(html.find("Bound by our kernels</span>: the step costs 5.59x its roofline"), std::string::npos);
  EXPECT_EQ(html.find("Bound by the hardware"), std::string::npos);
  r["provenance"]["machine_limits"] = {{"read_bandwidth_bytes_per_s", 1e9}, {"peak_flops_per_s", 1e9}};
  html = dllm::render_html({r});
  EXPECT_NE(html.find("Bound by the hardware"), std::string::npos);
  EXPECT_EQ(html.find("Bound by our kernels"), std::string::npos);
}
