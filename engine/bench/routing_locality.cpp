#include "engine/bench/routing_locality.h"

#include <algorithm>

#include "core/check.h"
#include "engine/backend/kv_cache.h"
#include "engine/model/zaya.h"

namespace dllm {

namespace {

// Rows of at most `row_tokens` tokens, documents packed in order.
std::vector<std::vector<int32_t>> pack_rows(const std::vector<std::vector<int32_t>>& documents, int row_tokens) {
  std::vector<std::vector<int32_t>> rows(1);
  for (const std::vector<int32_t>& doc : documents) {
    if (!rows.back().empty() && rows.back().size() + doc.size() > size_t(row_tokens)) rows.emplace_back();
    const size_t take = std::min(doc.size(), size_t(row_tokens) - rows.back().size());
    rows.back().insert(rows.back().end(), doc.begin(), doc.begin() + int64_t(take));
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

}  // namespace

std::vector<report::ExpertsPerPass> measure_routing_locality(Transformer& model,
                                                             const std::vector<std::vector<int32_t>>& documents,
                                                             const std::vector<int>& sizes, int row_tokens) {
  const ModelConfig& cfg = model.config();
  DLLM_CHECK(cfg.arch == Arch::zaya,
             "routing locality needs a mixture-of-experts model (model_type zaya); this one is ", cfg.model_type);
  DLLM_CHECK(row_tokens >= 1 && row_tokens <= std::min(cfg.context_length(), KvCache::kRecurrentRing - 2),
             "routing locality: rows of ", row_tokens, " tokens do not fit the model's context and CCA state ring");
  const int layers = cfg.num_layers, experts = cfg.num_experts;
  struct RowRoutes {
    size_t tokens;
    std::vector<int32_t> routes;  // [Ly, tokens]: each token's route in each layer, E = the skip route
  };
  std::vector<RowRoutes> rows;
  for (const std::vector<int32_t>& row : pack_rows(documents, row_tokens)) {
    KvCache cache(cfg, 1, int(row.size()), model.backend().memory(), model.backend().kv_cache_dtype(cfg));
    Pass pass;
    pass.add_causal(0, row, 0, 0, true);
    model.forward(pass, cache, {int(row.size()) - 1});
    rows.push_back({row.size(), model.moe_traffic().routes});
  }
  double all_layers_expert_bytes = 0;  // one expert of every layer
  for (int l = 0; l < layers; ++l) all_layers_expert_bytes += double(model.expert_bytes(l));

  std::vector<report::ExpertsPerPass> out;
  for (int t : sizes) {
    DLLM_CHECK(t >= 1, "routing locality: pass sizes must be positive, got ", t);
    report::ExpertsPerPass m;
    m.tokens = t;
    int64_t distinct = 0;
    double bytes = 0;
    for (const RowRoutes& row : rows)
      for (size_t s = 0; s + size_t(t) <= row.tokens; s += size_t(t)) {
        ++m.windows;
        for (int l = 0; l < layers; ++l) {
          const int n = distinct_experts(row.routes.data() + size_t(l) * row.tokens + s, size_t(t), experts);
          distinct += n;
          bytes += double(n) * double(model.expert_bytes(l));
        }
      }
    if (m.windows == 0) continue;  // no row holds T tokens
    m.experts_per_layer = double(distinct) / double(m.windows * layers);
    m.expert_bytes = bytes / double(m.windows);
    m.uniform_experts_per_layer = uniform_experts_per_layer(cfg, t);
    m.uniform_expert_bytes = m.uniform_experts_per_layer * all_layers_expert_bytes;
    out.push_back(m);
  }
  DLLM_CHECK(!out.empty(), "routing locality: no pass size fits in the suite's rows of up to ", row_tokens,
             " tokens: pass smaller sizes or longer documents");
  return out;
}

}  // namespace dllm
