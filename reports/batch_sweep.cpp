#include "reports/batch_sweep.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace dllm {

using nlohmann::json;

json batch_sweep(const json& points) {
  std::map<std::string, std::vector<const json*>> groups;
  for (const json& p : points) {
    if (p["config"]["strategy"] != "tidar" || !p.contains("speedup_vs_ar")) continue;
    std::string key = p["id"];
    if (const size_t b = key.find("/b"); b != std::string::npos) key.erase(b, key.find('/', b + 1) - b);
    groups[key].push_back(&p);
  }
  json out = json::array();
  for (auto& [key, pts] : groups) {
    std::sort(pts.begin(), pts.end(), [](const json* a, const json* b) { return (*a)["config"]["batch"] < (*b)["config"]["batch"]; });
    json rows = json::array();
    json crossover = nullptr;
    for (const json* p : pts) {
      const double speedup = (*p)["speedup_vs_ar"]["e2e"]["mean"].get<double>();
      rows.push_back({{"batch", (*p)["config"]["batch"]}, {"speedup", speedup},
                      {"speedup_ci95", (*p)["speedup_vs_ar"]["e2e"]["ci95"]},
                      {"tokens_per_s", (*p)["e2e_tokens_per_s"]["mean"]},
                      {"per_sequence_tokens_per_s", (*p)["per_sequence_tokens_per_s"]["mean"]}, {"valid", (*p)["valid"]}});
      if (crossover.is_null() && speedup <= 1.0) crossover = (*p)["config"]["batch"];
    }
    out.push_back({{"configuration", key}, {"points", rows}, {"crossover_batch", crossover}});
  }
  return out;
}

}  // namespace dllm
