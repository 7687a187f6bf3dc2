// `compare`: a significant slowdown beyond the threshold is a regression; noise and a report
// compared with itself are not.
#include "reports/compare.h"

#include <gtest/gtest.h>

#include <fstream>

using nlohmann::json;

namespace {

json fixture() {
  std::ifstream f(DLLM_SOURCE_DIR "/tests/reports/fixture-report.json");
  return json::parse(f);
}

void set_samples(json& point, const std::vector<double>& x) {
  point["decode_tokens_per_s"]["samples"] = x;
  point["valid"] = true;
}

}  // namespace

TEST(ReportCompare, SameReportHasNoRegression) {
  const json a = fixture();
  const dllm::Comparison c = dllm::compare_reports(a, a, {});
  EXPECT_EQ(c.regressions, 0);
  EXPECT_NE(c.table.find("no significant change"), std::string::npos);
}

TEST(ReportCompare, SignificantSlowdownIsARegression) {
  json a = fixture(), b = fixture();
  set_samples(a["points"][0], {100, 101, 99, 100, 100});
  set_samples(b["points"][0], {80, 81, 79, 80, 80});  // 20 % slower, tight samples
  dllm::Comparison c = dllm::compare_reports(a, b, {});
  EXPECT_EQ(c.regressions, 1);
  EXPECT_NE(c.table.find("REGRESSION"), std::string::npos);
  // Within the threshold: reported as slower, not a regression.
  set_samples(b["points"][0], {98, 98.5, 97.5, 98, 98});
  c = dllm::compare_reports(a, b, {});
  EXPECT_EQ(c.regressions, 0);
  // Large but noisy: not significant.
  set_samples(b["points"][0], {40, 160, 60, 140, 70});
  c = dllm::compare_reports(a, b, {});
  EXPECT_EQ(c.regressions, 0);
  EXPECT_THROW(dllm::compare_reports(a, json::object(), {}), std::exception);
}
