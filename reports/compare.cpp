#include "reports/compare.h"

#include <cstdio>
#include <map>

#include "core/check.h"
#include "reports/schema.h"
#include "reports/sections.h"
#include "reports/stats.h"

namespace dllm {

namespace {

using nlohmann::json;

std::vector<double> samples_of(const json& p, const std::string& pointer) {
  const json::json_pointer ptr(pointer);
  if (!p.contains(ptr)) return {};
  return p.at(ptr).get<report::Samples>().samples;
}

Comparison compare_checked(const json& a, const json& b, const CompareOptions& opt) {
  DLLM_CHECK(is_report(a), "A is not a dllm-bench report");
  DLLM_CHECK(is_report(b), "B is not a dllm-bench report");
  std::map<std::string, const json*> in_a;
  for (const json& p : a["points"]) in_a[p["id"]] = &p;
  Comparison c;
  c.json = json::array();
  char line[256];
  std::snprintf(line, sizeof line, "%-44s %-18s %12s %12s %9s %8s  %s\n", "configuration", "metric", "A", "B", "change",
                "p", "verdict");
  c.table = line;
  for (const json& pb : b["points"]) {
    const std::string id = pb["id"];
    auto it = in_a.find(id);
    if (it == in_a.end()) {
      c.table += id + ": only in B\n";
      continue;
    }
    const json& pa = *it->second;
    for (const std::string metric : {"/decode_tokens_per_s", "/speedup_vs_ar/decode"}) {
      const std::vector<double> xa = samples_of(pa, metric), xb = samples_of(pb, metric);
      if (xa.empty() || xb.empty()) continue;
      const double ma = stats::summarize(xa).mean, mb = stats::summarize(xb).mean;
      const double change = ma != 0 ? (mb - ma) / ma : 0.0, p = stats::welch_p_value(xa, xb);
      const bool valid = pa["valid"].get<bool>() && pb["valid"].get<bool>();
      std::string verdict = p < opt.alpha ? (change < 0 ? "slower" : "faster") : "no significant change";
      if (!valid) verdict = "not compared (invalid run)";
      const bool regression = valid && p < opt.alpha && change < -opt.threshold;
      if (regression) verdict = "REGRESSION", ++c.regressions;
      std::snprintf(line, sizeof line, "%-44s %-18s %12.3f %12.3f %+8.1f%% %8.3g  %s\n", id.c_str(), metric.c_str() + 1,
                    ma, mb, 100 * change, p, verdict.c_str());
      c.table += line;
      c.json.push_back({{"id", id},
                        {"metric", metric.substr(1)},
                        {"a_mean", ma},
                        {"b_mean", mb},
                        {"relative_change", change},
                        {"p_value", p},
                        {"regression", regression},
                        {"verdict", verdict}});
    }
    // Deterministic quantities: any change is reported (no test needed, no noise).
    const double ta = pa.contains("accounting") ? pa["accounting"].get<report::Accounting>().tokens_per_forward : 0;
    const double tb = pb.contains("accounting") ? pb["accounting"].get<report::Accounting>().tokens_per_forward : 0;
    if (ta != tb) {
      std::snprintf(line, sizeof line, "%-44s %-18s %12.3f %12.3f %+8.1f%% %8s  %s\n", id.c_str(), "tokens_per_forward",
                    ta, tb, ta ? 100 * (tb - ta) / ta : 0.0, "-", "changed (deterministic)");
      c.table += line;
    }
  }
  for (const auto& [id, p] : in_a) {
    bool in_b = false;
    for (const json& pb : b["points"]) in_b = in_b || pb["id"] == id;
    if (!in_b) c.table += id + ": only in A\n";
  }
  return c;
}

}  // namespace

Comparison compare_reports(const json& a, const json& b, const CompareOptions& opt) {
  try {
    return compare_checked(a, b, opt);
  } catch (const json::exception& e) {  // a field the schema leaves open has an unexpected type
    fail("cannot compare the reports: a field is missing or has the wrong type (", e.what(), ")");
  }
}

}  // namespace dllm
