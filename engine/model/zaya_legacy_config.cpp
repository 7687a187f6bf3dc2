#include "engine/model/zaya_legacy_config.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/check.h"

namespace dllm {

namespace {

using nlohmann::json;

// Keys of the legacy layout, dropped once converted. Those not read below describe ZAYA1's fixed
// choices (activation, normalisation, linear biases) or how Megatron ran it (fusions, precisions)
// and are not checked, as transformers' converter does not check them; clamp_temp is ignored as it
// ignores it. intermediate_size, where a legacy config has it, is
// the fused gate + up width (read as ffn_hidden_size).
const char* const kLegacyOnlyKeys[] = {
    "ffn_hidden_size",        "intermediate_size", "zaya_mlp_expansion", "norm_epsilon",         "moe_router_topk",
    "num_query_groups",       "kv_channels",       "rope_theta",         "rope_scaling",         "swa_layers",
    "swa_rotary_base",        "clamp_temp",        "zaya_use_mod",       "zaya_use_eda",         "activation_func",
    "normalization",          "add_bias_linear",   "gated_linear_unit",  "fused_add_norm",       "apply_rope_fusion",
    "bias_activation_fusion", "mamba_cache_dtype", "residual_in_fp32",   "scale_residual_merge", "zaya_high_prec"};

// Current keys and the legacy key read where the current one is not set.
const std::pair<const char*, const char*> kRenamedKeys[] = {{"router_hidden_size", "zaya_mlp_expansion"},
                                                            {"rms_norm_eps", "norm_epsilon"},
                                                            {"num_experts_per_tok", "moe_router_topk"},
                                                            {"num_key_value_heads", "num_query_groups"},
                                                            {"head_dim", "kv_channels"}};

bool has(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

// The first of `keys` that is set in j, or nullptr.
const char* first_set(const json& j, std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (has(j, key)) return key;
  return nullptr;
}

double number_or(const json& j, const char* key, double fallback, const std::string& source) {
  if (!has(j, key)) return fallback;
  DLLM_CHECK(j.at(key).is_number(), source, ": ", key, " must be a number, got ", j.at(key).dump());
  return j.at(key).get<double>();
}

// Half of a count the legacy layout holds twice over (`why`): it must be a positive even integer.
int64_t halved(const json& j, const char* key, const std::string& source, const char* why) {
  const json& v = j.at(key);
  DLLM_CHECK(v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() % 2 == 0, source, ": ", key, " = ",
             v.dump(), " must be a positive even integer (", why,
             "): is this the legacy checkpoint's own config.json?");
  return v.get<int64_t>() / 2;
}

// A ZAYA1 feature the engine implements (`what`), switched off by `key` = false: another model.
void require_enabled(const json& j, const char* key, const char* what, const std::string& source) {
  if (!has(j, key)) return;
  DLLM_CHECK(j.at(key).is_boolean(), source, ": ", key, " must be true or false, got ", j.at(key).dump());
  DLLM_CHECK(j.at(key).get<bool>(), source, ": ", key, " = false is not supported: dllm-bench implements ZAYA1 ", what,
             "; use a checkpoint trained with ", key, " = true");
}

void require_no_rope_scaling(const json& j, const std::string& source) {
  if (!j.contains("rope_scaling")) return;
  const json& s = j.at("rope_scaling");
  DLLM_CHECK(s.is_null() || (s.is_boolean() && !s.get<bool>()), source, ": rope_scaling ", s.dump(),
             " is not supported in a legacy zaya config (ZAYA1 has none: false or null); convert the checkpoint "
             "with transformers, or give the scaling in a current-layout config's rope_parameters");
}

// A per-layer list: one entry per half layer (the attention halves', the even entries, are taken) or
// one per layer.
std::vector<json> per_layer(const json& j, const char* key, int64_t layers, const std::string& source) {
  const json& v = j.at(key);
  const int64_t n = v.is_array() ? int64_t(v.size()) : -1;
  DLLM_CHECK(n == 2 * layers || n == layers, source, ": ", key, " must be a list of ", 2 * layers,
             " entries (one per legacy half layer) or ", layers, " (one per layer), got ",
             n < 0 ? v.dump() : std::to_string(n) + " entries");
  const size_t step = size_t(n / layers);
  std::vector<json> out;
  for (size_t i = 0; i < size_t(n); i += step) out.push_back(v[i]);
  return out;
}

// A layer type as transformers 5's ZayaConfig names it.
std::string current_layer_type(const json& t, const std::string& source) {
  static const std::map<std::string, std::string> names = {{"full_attention", "hybrid"},
                                                           {"sliding_attention", "hybrid_sliding"},
                                                           {"hybrid", "hybrid"},
                                                           {"hybrid_sliding", "hybrid_sliding"}};
  const auto it = t.is_string() ? names.find(t.get<std::string>()) : names.end();
  DLLM_CHECK(it != names.end(), source, ": layer_types entry ", t.dump(),
             " is unknown: use \"full_attention\" or \"sliding_attention\" (or \"hybrid\" / \"hybrid_sliding\")");
  return it->second;
}

// swa_layers' windows per layer (0: full attention; else the tokens before the current one attended).
std::vector<int64_t> swa_windows(const json& j, int64_t layers, const std::string& source) {
  std::vector<int64_t> windows;
  for (const json& w : per_layer(j, "swa_layers", layers, source)) {
    DLLM_CHECK(w.is_number_integer() && w.get<int64_t>() >= 0, source,
               ": swa_layers entries must be integers >= 0 (0: full attention), got ", w.dump());
    windows.push_back(w.get<int64_t>());
  }
  return windows;
}

// Each layer's type: layer_types, else swa_layers' windows (> 0 slides), else all "hybrid".
std::vector<std::string> layer_types(const json& j, const std::vector<int64_t>& windows, int64_t layers,
                                     const std::string& source) {
  std::vector<std::string> types;
  if (has(j, "layer_types")) {
    for (const json& t : per_layer(j, "layer_types", layers, source)) types.push_back(current_layer_type(t, source));
  } else if (!windows.empty()) {
    for (int64_t w : windows) types.push_back(w > 0 ? "hybrid_sliding" : "hybrid");
  } else {
    types.assign(size_t(layers), "hybrid");
  }
  return types;
}

// The sliding layers' window as the current layout counts it (the current token included):
// sliding_window if set, else swa_layers' window + 1, which must be one for all sliding layers.
json sliding_window(const json& j, const std::vector<int64_t>& windows, const std::string& source) {
  if (has(j, "sliding_window")) return j.at("sliding_window");
  std::set<int64_t> sliding(windows.begin(), windows.end());
  sliding.erase(0);
  DLLM_CHECK(!sliding.empty(), source,
             ": layer_types has sliding layers but neither sliding_window nor swa_layers gives their window: set "
             "sliding_window (the tokens a sliding layer attends, the current one included)");
  DLLM_CHECK(sliding.size() == 1, source, ": swa_layers holds ", sliding.size(), " different windows (",
             *sliding.begin(), " to ", *sliding.rbegin(),
             "): dllm-bench reads one sliding_window for every sliding layer, so this model is not supported");
  return *sliding.begin() + 1;
}

json default_rope(double theta) {
  return {{"rope_type", "default"}, {"rope_theta", theta}, {"partial_rotary_factor", 0.5}};
}

// layer_types, sliding_window and rope_parameters (one RoPE per layer type used) into out.
void convert_attention(const json& j, int64_t layers, const std::string& source, json& out) {
  const std::vector<int64_t> windows = has(j, "swa_layers") ? swa_windows(j, layers, source) : std::vector<int64_t>{};
  const std::vector<std::string> types = layer_types(j, windows, layers, source);
  const bool sliding = std::count(types.begin(), types.end(), "hybrid_sliding") > 0;
  const bool full = std::count(types.begin(), types.end(), "hybrid") > 0;
  out["layer_types"] = types;
  out.erase("sliding_window");
  if (sliding) out["sliding_window"] = sliding_window(j, windows, source);
  json rope = json::object();
  if (full) rope["hybrid"] = default_rope(number_or(j, "rope_theta", 5e6, source));
  if (sliding) rope["hybrid_sliding"] = default_rope(number_or(j, "swa_rotary_base", 1e4, source));
  out["rope_parameters"] = rope;
}

}  // namespace

bool is_zaya_legacy_config(const json& j) {
  return j.is_object() && j.contains("model_type") && j.at("model_type") == "zaya" &&
         !has(j, "moe_intermediate_size") && (has(j, "ffn_hidden_size") || has(j, "zaya_mlp_expansion"));
}

json zaya_config_from_legacy(const json& legacy, const std::string& source) {
  DLLM_CHECK(has(legacy, "num_hidden_layers"), source, ": required field \"num_hidden_layers\" is missing");
  const char* ffn = first_set(legacy, {"intermediate_size", "ffn_hidden_size"});
  DLLM_CHECK(ffn, source,
             ": a legacy zaya config needs ffn_hidden_size (an expert's fused gate + up width, twice "
             "moe_intermediate_size)");
  require_enabled(legacy, "zaya_use_mod", "with the skip (MOD) route of its router", source);
  require_enabled(legacy, "zaya_use_eda", "with its router state carried across layers (EDA)", source);
  require_no_rope_scaling(legacy, source);

  json out = legacy;
  const int64_t layers = halved(legacy, "num_hidden_layers", source,
                                "the legacy layout counts each ZAYA1 layer as two half layers (attention, then MoE)");
  out["num_hidden_layers"] = layers;
  out["moe_intermediate_size"] =
      halved(legacy, ffn, source, "it is an expert's fused gate + up width, twice moe_intermediate_size");
  for (const auto& [current, legacy_key] : kRenamedKeys)
    if (const char* key = first_set(legacy, {current, legacy_key})) out[current] = legacy.at(key);
  convert_attention(legacy, layers, source, out);
  for (const char* key : kLegacyOnlyKeys) out.erase(key);
  return out;
}

}  // namespace dllm
