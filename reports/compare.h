// `dllm-bench compare A.json B.json`: what changed from report A to report B, configuration by
// configuration, with Welch's t-test on the repetition samples; regressions beyond a threshold fail.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace dllm {

struct CompareOptions {
  double threshold = 0.05;  // a relative slowdown (or a speedup loss) larger than this ...
  double alpha = 0.05;      // ... that is also significant at this level is a regression
};

struct Comparison {
  std::string table;  // human-readable, one line per configuration and metric
  nlohmann::json json;
  int regressions = 0;
};

// Throws naming the argument when a or b is not a report.
Comparison compare_reports(const nlohmann::json& a, const nlohmann::json& b, const CompareOptions& opt);

}  // namespace dllm
