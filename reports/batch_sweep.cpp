#include "reports/batch_sweep.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "reports/sections.h"

namespace dllm {

using nlohmann::json;

json batch_sweep(const json& points) {
  std::map<std::string, std::vector<const json*>> groups;
  for (const json& p : points) {
    if (!p["config"].get<report::PointConfig>().is_tidar() || !p.contains("speedup_vs_ar")) continue;
    std::string key = p["id"];
    if (const size_t b = key.find("/b"); b != std::string::npos) key.erase(b, key.find('/', b + 1) - b);
    groups[key].push_back(&p);
  }
  json out = json::array();
  for (auto& [key, pts] : groups) {
    report::BatchSweep sweep{key, {}, std::nullopt};
    for (const json* p : pts) {
      const auto speedup = (*p)["speedup_vs_ar"].get<report::Speedup>();
      sweep.points.push_back({(*p)["config"].get<report::PointConfig>().batch, speedup.e2e.summary.mean,
                              speedup.e2e.summary.ci95, (*p)["e2e_tokens_per_s"].get<report::Samples>().summary.mean,
                              (*p)["per_sequence_tokens_per_s"].get<report::Samples>().summary.mean,
                              (*p)["valid"].get<bool>()});
    }
    std::sort(sweep.points.begin(), sweep.points.end(),
              [](const report::BatchSweepRow& a, const report::BatchSweepRow& b) { return a.batch < b.batch; });
    for (const report::BatchSweepRow& row : sweep.points)
      if (!sweep.crossover_batch && row.speedup <= 1.0) sweep.crossover_batch = row.batch;
    out.push_back(sweep);
  }
  return out;
}

}  // namespace dllm
