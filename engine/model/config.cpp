#include "engine/model/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "core/check.h"
#include "engine/model/zaya_legacy_config.h"

namespace dllm {

namespace {

using nlohmann::json;

class Fields {
 public:
  Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

  int positive_int(const char* key) const {
    DLLM_CHECK(j_.contains(key), source_, ": required field \"", key, "\" is missing");
    return positive_value(key, j_.at(key));
  }
  int positive_int_or(const char* key, int fallback) const {
    return has(key) ? positive_value(key, j_.at(key)) : fallback;
  }
  double number_or(const json& obj, const char* key, double fallback) const {
    if (!obj.contains(key) || obj.at(key).is_null()) return fallback;
    DLLM_CHECK(obj.at(key).is_number(), source_, ": field \"", key, "\" must be a number, got ", obj.at(key).dump());
    return obj.at(key).get<double>();
  }
  double number_or(const char* key, double fallback) const { return number_or(j_, key, fallback); }
  bool bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    DLLM_CHECK(j_.at(key).is_boolean(), source_, ": field \"", key, "\" must be true or false, got ",
               j_.at(key).dump());
    return j_.at(key).get<bool>();
  }
  // A token id field: absent/null -> -1; must lie in [0, vocab).
  int token_or_none(const char* key, int vocab) const {
    if (!has(key)) return -1;
    return token_value(key, j_.at(key), vocab);
  }
  std::vector<int> token_list(const char* key, int vocab) const {
    std::vector<int> ids;
    if (!has(key)) return ids;
    const json& v = j_.at(key);
    if (v.is_array()) {
      for (const json& e : v) ids.push_back(token_value(key, e, vocab));
    } else {
      ids.push_back(token_value(key, v, vocab));
    }
    return ids;
  }
  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    DLLM_CHECK(j_.at(key).is_string(), source_, ": field \"", key, "\" must be a string, got ", j_.at(key).dump());
    return j_.at(key).get<std::string>();
  }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& at(const char* key) const { return j_.at(key); }

 private:
  int positive_value(const char* key, const json& v) const {
    DLLM_CHECK(v.is_number_integer(), source_, ": field \"", key, "\" must be an integer, got ", v.dump());
    const int64_t n = v.get<int64_t>();
    DLLM_CHECK(n > 0 && n <= (int64_t(1) << 30), source_, ": field \"", key, "\" must be a positive integer, got ", n);
    return int(n);
  }
  int token_value(const char* key, const json& v, int vocab) const {
    DLLM_CHECK(v.is_number_integer(), source_, ": field \"", key, "\" must be a token id, got ", v.dump());
    const int64_t id = v.get<int64_t>();
    DLLM_CHECK(id >= 0 && id < vocab, source_, ": field \"", key, "\" = ", id, " is outside the vocabulary [0, ", vocab,
               ")");
    return int(id);
  }
  const json& j_;
  const std::string& source_;
};

// The shortest decimal that reads back as the same float: config.json says 1e-06, not the
// float's exact binary value 9.999999974752427e-07.
double shortest_decimal(float v) {
  for (int digits = 1; digits < 9; ++digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
    if (float(std::strtod(buf, nullptr)) == v) return std::strtod(buf, nullptr);
  }
  return double(v);
}

// YaRN's mscale: 0.1 * mscale * ln(scale) + 1, and 1 for scale <= 1 (the paper's eq. 21).
double yarn_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

// The yarn fields of a RoPE object (read through `f`) into s, whose factor and original context
// are set: beta_fast / beta_slow (default 32 / 1; transformers also takes null or 0 for the default),
// truncate (default true), and the attention factor as transformers forms it: attention_factor if
// given, else mscale(factor, mscale) / mscale(factor, mscale_all_dim) where both are given and
// non-zero, else mscale(factor, 1).
RopeScaling parse_yarn(const Fields& f, const std::string& source, const std::string& name, RopeScaling s) {
  s.type = RopeScalingType::yarn;
  DLLM_CHECK(s.factor >= 1.0f, source, ": ", name, ".factor of type \"yarn\" must be at least 1, got ", s.factor);
  const auto beta = [&](const char* key, double fallback) {
    const double v = f.number_or(key, 0.0);
    DLLM_CHECK(v >= 0.0, source, ": ", name, ".", key, " must be positive, got ", v);
    return float(v == 0.0 ? fallback : v);
  };
  s.beta_fast = beta("beta_fast", 32.0), s.beta_slow = beta("beta_slow", 1.0);
  DLLM_CHECK(s.beta_fast > s.beta_slow, source, ": ", name, ".beta_fast (", s.beta_fast, ") must exceed beta_slow (",
             s.beta_slow, ")");
  s.truncate = f.bool_or("truncate", true);
  const double mscale = f.number_or("mscale", 0.0), mscale_all_dim = f.number_or("mscale_all_dim", 0.0);
  double attention = mscale != 0.0 && mscale_all_dim != 0.0
                         ? yarn_mscale(s.factor, mscale) / yarn_mscale(s.factor, mscale_all_dim)
                         : yarn_mscale(s.factor, 1.0);
  if (f.has("attention_factor")) {
    attention = f.number_or("attention_factor", 0.0);
    DLLM_CHECK(attention > 0.0, source, ": ", name, ".attention_factor must be positive, got ", attention);
  }
  s.attention_factor = float(attention);
  return s;
}

// The scaling part of a RoPE object (`name` as the file spells it). The type is "rope_type", or "type"
// in older files; absent or "default" is plain RoPE.
RopeScaling parse_rope_scaling(const Fields& f, const std::string& source, const json& rope, const std::string& name,
                               int max_positions) {
  const char* type_key = rope.contains("rope_type") ? "rope_type" : "type";
  std::string type = "default";
  if (rope.contains(type_key)) {
    DLLM_CHECK(rope.at(type_key).is_string(), source, ": ", name, ".", type_key, " must be a string, got ",
               rope.at(type_key).dump());
    type = rope.at(type_key).get<std::string>();
  }
  RopeScaling s;
  if (type == "default") return s;
  DLLM_CHECK(type == "linear" || type == "llama3" || type == "yarn" || type == "dynamic", source, ": ", name, ".",
             type_key, " \"", type,
             "\" is not supported yet (dllm-bench implements \"default\", \"linear\", \"llama3\", \"yarn\" and "
             "\"dynamic\")");
  const auto positive = [&](const char* key) {
    DLLM_CHECK(rope.contains(key) && !rope.at(key).is_null(), source, ": ", name, " of type \"", type,
               "\" needs the field \"", key, "\"");
    const double v = f.number_or(rope, key, 0.0);
    DLLM_CHECK(v > 0.0, source, ": ", name, ".", key, " must be positive, got ", v);
    return float(v);
  };
  s.factor = positive("factor");
  if (type == "linear") {
    s.type = RopeScalingType::linear;
    return s;
  }
  if (type == "dynamic") {  // transformers grows theta past max_position_embeddings
    DLLM_CHECK(s.factor >= 1.0f, source, ": ", name, ".factor of type \"dynamic\" must be at least 1, got ", s.factor);
    s.type = RopeScalingType::dynamic;
    s.original_max_positions = max_positions;
    return s;
  }
  // transformers takes original_max_position_embeddings from the RoPE object, else from the top level,
  // else max_position_embeddings; it lets the top level win where both are given, so they must agree.
  const char* original_key = "original_max_position_embeddings";
  const bool inner = rope.contains(original_key) && !rope.at(original_key).is_null();
  const Fields inner_fields(rope, source);
  s.original_max_positions =
      inner ? inner_fields.positive_int(original_key) : f.positive_int_or(original_key, max_positions);
  DLLM_CHECK(!inner || !f.has(original_key) || f.positive_int(original_key) == s.original_max_positions, source, ": ",
             name, ".", original_key, " (", s.original_max_positions, ") and the top-level ", original_key, " (",
             f.positive_int(original_key), ") disagree: keep one");
  if (type == "yarn") return parse_yarn(inner_fields, source, name, s);
  s.type = RopeScalingType::llama3;
  s.low_freq_factor = positive("low_freq_factor");
  s.high_freq_factor = positive("high_freq_factor");
  DLLM_CHECK(s.high_freq_factor > s.low_freq_factor, source, ": ", name, ".high_freq_factor (", s.high_freq_factor,
             ") must exceed low_freq_factor (", s.low_freq_factor, ")");
  return s;
}

// RoPE: rope_theta and partial_rotary_factor at the top level (transformers 4.x) or in
// "rope_parameters" (transformers 5); the scaling in "rope_scaling" (4.x, which transformers prefers
// when both are given) or in "rope_parameters". Needs head_dim and max_position_embeddings.
void parse_rope(const Fields& f, const std::string& source, ModelConfig& c) {
  const json none = json::object();
  const json& params_all = f.has("rope_parameters") ? f.at("rope_parameters") : none;
  DLLM_CHECK(params_all.is_object(), source, ": rope_parameters must be an object");
  // zaya keys its RoPE by layer type ({"hybrid": {...}, "hybrid_sliding": {...}}); this is the
  // "hybrid" one (parse_sliding_layers reads the other).
  const bool by_layer = c.arch == Arch::zaya && params_all.contains("hybrid");
  const json& params = by_layer ? params_all.at("hybrid") : params_all;
  const std::string params_name = by_layer ? "rope_parameters.hybrid" : "rope_parameters";
  DLLM_CHECK(params.is_object(), source, ": ", params_name, " must be an object");
  const bool legacy = f.has("rope_scaling");
  DLLM_CHECK(!legacy || f.at("rope_scaling").is_object(), source, ": rope_scaling must be an object, got ",
             f.at("rope_scaling").dump());
  const json& rope = legacy ? f.at("rope_scaling") : params;
  const std::string rope_name = legacy ? "rope_scaling" : params_name;

  c.rope_theta = float(
      f.number_or(rope, "rope_theta",
                  f.number_or(params, "rope_theta", f.number_or("rope_theta", c.arch == Arch::zaya ? 5e6 : 10000.0))));
  DLLM_CHECK(c.rope_theta > 0.0f, source, ": rope_theta must be positive");
  const double partial =
      f.number_or(rope, "partial_rotary_factor",
                  f.number_or(params, "partial_rotary_factor",
                              f.number_or("partial_rotary_factor", c.arch == Arch::zaya ? 0.5 : 1.0)));
  DLLM_CHECK(partial > 0.0 && partial <= 1.0, source, ": partial_rotary_factor must lie in (0, 1], got ", partial);
  c.rotary_dim = int(std::lround(partial * c.head_dim));
  DLLM_CHECK(c.rotary_dim >= 2 && c.rotary_dim % 2 == 0 && c.rotary_dim <= c.head_dim, source,
             ": partial_rotary_factor * head_dim = ", c.rotary_dim,
             " must be an even number of dimensions within the head (head_dim ", c.head_dim, ")");
  c.rope_scaling = parse_rope_scaling(f, source, rope, rope_name, c.max_position_embeddings);
  DLLM_CHECK(c.rope_scaling.type != RopeScalingType::dynamic || c.rotary_dim > 2, source,
             ": \"dynamic\" RoPE scaling needs more than 2 rotary dimensions (its exponent is R / (R - 2))");
}

// The mask token: the first of Zyphra's TiDAR keys that is set, in the order its code reads them
// (mask_token_id last). Without any, a ZAYA1 config falls back to 4 (<mask> in ZAYA1's Gemma-3
// vocabulary) with a warning, as Zyphra's code does; a dense config has no mask token (an id 4 means
// nothing in another vocabulary), and TiDAR decoding then refuses it.
void parse_mask_token(const Fields& f, const std::string& source, ModelConfig& c) {
  static const char* const keys[] = {"tidar_mask_token_id", "parallel_drafting_mask_token_id", "draft_mask_token_id",
                                     "bidirectional_mask_token_id", "mask_token_id"};
  for (const char* key : keys)
    if (f.has(key)) {
      c.mask_token_id = f.token_or_none(key, c.vocab_size);
      c.mask_token_key = key;
      return;
    }
  if (c.arch != Arch::zaya) return;
  DLLM_CHECK(c.vocab_size > 4, source, ": no mask token key is set and ZAYA1's default id 4 lies outside the ",
             "vocabulary (", c.vocab_size, "): set mask_token_id");
  c.mask_token_id = 4;
  c.mask_token_key = "fallback";
  std::string looked_for;
  for (const char* key : keys) looked_for += std::string(looked_for.empty() ? "" : ", ") + key;
  std::fprintf(stderr, "dllm-bench: warning: %s sets none of %s: using mask token id 4 (ZAYA1's <mask>)\n",
               source.c_str(), looked_for.c_str());
}

// zaya's layer_types: "hybrid" (full attention) or "hybrid_sliding" (a window of sliding_window
// positions, RoPE from rope_parameters.hybrid_sliding, where transformers reads it). The sliding RoPE
// must be plain and turn as many dimensions as the full one (the engine's one rotary_dim).
void parse_sliding_layers(const Fields& f, const std::string& source, ModelConfig& c) {
  if (!f.has("layer_types")) return;
  const json& types = f.at("layer_types");
  DLLM_CHECK(types.is_array() && types.size() == size_t(c.num_layers), source,
             ": layer_types must be a list of num_hidden_layers (", c.num_layers, ") entries");
  std::vector<bool> sliding;
  for (const json& t : types) {
    DLLM_CHECK(t == "hybrid" || t == "hybrid_sliding", source, ": layer type ", t.dump(),
               " is unknown: zaya layers are \"hybrid\" or \"hybrid_sliding\"");
    sliding.push_back(t == "hybrid_sliding");
  }
  if (std::find(sliding.begin(), sliding.end(), true) == sliding.end()) return;
  DLLM_CHECK(f.has("sliding_window"), source,
             ": layer_types has \"hybrid_sliding\" layers but sliding_window is not set");
  c.sliding_window = f.positive_int("sliding_window");
  c.sliding_layers = std::move(sliding);
  if (!f.has("rope_parameters")) return;  // transformers' default: theta 1e4, partial_rotary_factor 0.5
  const json& all = f.at("rope_parameters");
  DLLM_CHECK(all.contains("hybrid_sliding") && all.at("hybrid_sliding").is_object(), source,
             ": rope_parameters has no \"hybrid_sliding\" object for the hybrid_sliding layers: add one "
             "(transformers reads rope_parameters[layer type])");
  const json& rope = all.at("hybrid_sliding");
  const json type = rope.value("rope_type", json("default"));
  DLLM_CHECK(type == "default", source, ": rope_parameters.hybrid_sliding.rope_type ", type.dump(),
             " is not supported: sliding-window layers take plain RoPE (\"default\")");
  c.sliding_rope_theta = float(f.number_or(rope, "rope_theta", 0.0));
  DLLM_CHECK(c.sliding_rope_theta > 0.0f, source,
             ": rope_parameters.hybrid_sliding.rope_theta must be set and positive");
  const double partial = f.number_or(rope, "partial_rotary_factor", 1.0);
  DLLM_CHECK(std::lround(partial * c.head_dim) == c.rotary_dim, source,
             ": rope_parameters.hybrid_sliding.partial_rotary_factor (", partial,
             ") must turn as many dimensions as rope_parameters.hybrid's (", c.rotary_dim, " of ", c.head_dim, ")");
}

// The ZAYA1 fields of a transformers ZayaConfig (engine/model/zaya.md).
void parse_zaya(const Fields& f, const std::string& source, ModelConfig& c) {
  c.num_experts = f.positive_int_or("num_experts", 16);
  c.router_hidden_size = f.positive_int_or("router_hidden_size", 256);
  DLLM_CHECK(f.positive_int_or("num_experts_per_tok", 1) == 1, source,
             ": num_experts_per_tok must be 1 (ZAYA1 routes each token to one expert)");
  DLLM_CHECK(f.positive_int_or("cca_time0", 2) == 2 && f.positive_int_or("cca_time1", 2) == 2, source,
             ": cca_time0 and cca_time1 must be 2 (the CCA convolutions of ZAYA1 have kernel 2)");
  DLLM_CHECK(c.head_dim % 2 == 0 && c.num_kv_heads * c.head_dim % 2 == 0, source,
             ": the value shift needs an even num_key_value_heads * head_dim");
  DLLM_CHECK(!f.bool_or("lm_head_bias", false), source, ": lm_head_bias = true is not supported");
  DLLM_CHECK(!f.bool_or("attention_bias", false), source, ": attention_bias = true is not supported for zaya");
  parse_sliding_layers(f, source, c);
  const std::string skip = f.string_or("zaya_skip_route", "zero");
  DLLM_CHECK(skip == "zero" || skip == "identity", source, ": zaya_skip_route \"", skip,
             "\" is unknown: use \"zero\" (transformers, vLLM) or \"identity\" (Zyphra's legacy code)");
  c.skip_route = skip == "zero" ? SkipRoute::zero : SkipRoute::identity;
}

// The rope_scaling object of a scaled RoPE: rope_type plus its fields (yarn's attention factor resolved).
json rope_scaling_json(const RopeScaling& s) {
  if (s.type == RopeScalingType::linear || s.type == RopeScalingType::dynamic)
    return {{"rope_type", s.type == RopeScalingType::linear ? "linear" : "dynamic"},
            {"factor", shortest_decimal(s.factor)}};
  if (s.type == RopeScalingType::yarn)
    return {{"rope_type", "yarn"},
            {"factor", shortest_decimal(s.factor)},
            {"original_max_position_embeddings", s.original_max_positions},
            {"beta_fast", shortest_decimal(s.beta_fast)},
            {"beta_slow", shortest_decimal(s.beta_slow)},
            {"truncate", s.truncate},
            {"attention_factor", shortest_decimal(s.attention_factor)}};
  return {{"rope_type", "llama3"},
          {"factor", shortest_decimal(s.factor)},
          {"low_freq_factor", shortest_decimal(s.low_freq_factor)},
          {"high_freq_factor", shortest_decimal(s.high_freq_factor)},
          {"original_max_position_embeddings", s.original_max_positions}};
}

}  // namespace

ModelConfig parse_config(const json& j, const std::string& source) {
  DLLM_CHECK(j.is_object(), source, ": a config.json must be a JSON object");
  if (is_zaya_legacy_config(j))
    return parse_config(zaya_config_from_legacy(j, source), source + " (legacy zaya, converted)");
  const Fields f(j, source);
  ModelConfig c;
  c.model_type = f.string_or("model_type", "");
  DLLM_CHECK(c.model_type == "llama" || c.model_type == "qwen2" || c.model_type == "qwen3" || c.model_type == "zaya",
             source, ": unknown model_type \"", c.model_type,
             "\": dllm-bench supports llama, qwen2 and qwen3 (dense) and zaya (ZAYA1)");
  c.arch = c.model_type == "zaya" ? Arch::zaya : Arch::dense;
  c.hidden_size = f.positive_int("hidden_size");
  c.num_layers = f.positive_int("num_hidden_layers");
  c.num_heads = f.positive_int("num_attention_heads");
  c.num_kv_heads = f.positive_int_or("num_key_value_heads", c.num_heads);
  DLLM_CHECK(c.num_heads % c.num_kv_heads == 0, source, ": num_attention_heads (", c.num_heads,
             ") must be a multiple of num_key_value_heads (", c.num_kv_heads, ")");
  if (c.arch == Arch::zaya && !f.has("head_dim")) {
    c.head_dim = 128;  // the transformers default
  } else if (f.has("head_dim")) {
    c.head_dim = f.positive_int("head_dim");
  } else {
    DLLM_CHECK(c.hidden_size % c.num_heads == 0, source, ": hidden_size (", c.hidden_size,
               ") is not a multiple of num_attention_heads (", c.num_heads, "): give head_dim explicitly");
    c.head_dim = c.hidden_size / c.num_heads;
  }
  c.intermediate_size = f.positive_int(c.arch == Arch::zaya ? "moe_intermediate_size" : "intermediate_size");
  c.vocab_size = f.positive_int("vocab_size");
  c.max_position_embeddings = f.positive_int_or("max_position_embeddings", 4096);
  c.rms_norm_eps = float(f.number_or("rms_norm_eps", c.arch == Arch::zaya ? 1e-5 : 1e-6));
  DLLM_CHECK(c.rms_norm_eps > 0.0f, source, ": rms_norm_eps must be positive");

  parse_rope(f, source, c);
  if (c.arch == Arch::zaya) parse_zaya(f, source, c);

  c.qk_norm = c.model_type == "qwen3";
  c.attention_bias = c.model_type == "qwen2" ? true : f.bool_or("attention_bias", false);
  c.tie_word_embeddings = f.bool_or("tie_word_embeddings", c.arch == Arch::zaya);
  DLLM_CHECK(!f.bool_or("mlp_bias", false), source, ": mlp_bias = true is not supported");
  DLLM_CHECK(!f.bool_or("use_sliding_window", false), source, ": use_sliding_window = true is not supported");
  const std::string act = f.string_or("hidden_act", "silu");
  DLLM_CHECK(act == "silu", source, ": hidden_act \"", act, "\" is not supported (only silu)");

  c.bos_token_id = f.token_or_none("bos_token_id", c.vocab_size);
  c.pad_token_id = f.token_or_none("pad_token_id", c.vocab_size);
  c.eos_token_ids = f.token_list("eos_token_id", c.vocab_size);
  parse_mask_token(f, source, c);
  c.block_size = f.positive_int_or("block_size", 16);

  const std::string tok = f.string_or("dllm_tokenizer", "");
  DLLM_CHECK(tok.empty() || tok == "bytes", source, ": dllm_tokenizer \"", tok,
             "\" is unknown (the engine knows \"bytes\")");
  c.byte_tokenizer = tok == "bytes";
  if (c.byte_tokenizer) DLLM_CHECK(c.vocab_size >= 256, source, ": the byte tokenizer needs vocab_size >= 256");
  return c;
}

ModelConfig load_config(const std::string& path) {
  std::ifstream in(path);
  DLLM_CHECK(in.good(), path, ": cannot open the config file (does it exist?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  return parse_config(j, path);
}

json config_to_json(const ModelConfig& c) {
  static const std::map<std::string, std::string> arch_names = {{"llama", "LlamaForCausalLM"},
                                                                {"qwen2", "Qwen2ForCausalLM"},
                                                                {"qwen3", "Qwen3ForCausalLM"},
                                                                {"zaya", "ZayaForCausalLM"}};
  json j = {{"architectures", {arch_names.at(c.model_type)}},
            {"model_type", c.model_type},
            {"hidden_size", c.hidden_size},
            {"num_hidden_layers", c.num_layers},
            {"num_attention_heads", c.num_heads},
            {"num_key_value_heads", c.num_kv_heads},
            {"head_dim", c.head_dim},
            {"intermediate_size", c.intermediate_size},
            {"vocab_size", c.vocab_size},
            {"max_position_embeddings", c.max_position_embeddings},
            {"rms_norm_eps", shortest_decimal(c.rms_norm_eps)},
            {"rope_theta", shortest_decimal(c.rope_theta)},
            {"tie_word_embeddings", c.tie_word_embeddings},
            {"hidden_act", "silu"},
            {"block_size", c.block_size}};
  if (c.rotary_dim != c.head_dim) j["partial_rotary_factor"] = double(c.rotary_dim) / c.head_dim;
  if (c.rope_scaling.type != RopeScalingType::none) j["rope_scaling"] = rope_scaling_json(c.rope_scaling);
  if (c.arch == Arch::zaya) {
    j.erase("intermediate_size");
    j.erase("rope_theta");
    j.erase("partial_rotary_factor");
    j.erase("rope_scaling");
    j["moe_intermediate_size"] = c.intermediate_size;
    j["num_experts"] = c.num_experts;
    j["num_experts_per_tok"] = 1;
    j["router_hidden_size"] = c.router_hidden_size;
    std::vector<std::string> types;
    for (int l = 0; l < c.num_layers; ++l) types.push_back(c.is_sliding(l) ? "hybrid_sliding" : "hybrid");
    j["layer_types"] = types;
    json rope = {{"rope_type", "default"}};
    if (c.rope_scaling.type != RopeScalingType::none) rope = rope_scaling_json(c.rope_scaling);
    rope["rope_theta"] = shortest_decimal(c.rope_theta);
    rope["partial_rotary_factor"] = double(c.rotary_dim) / c.head_dim;
    j["rope_parameters"] = {{"hybrid", rope}};
    if (c.has_sliding_layers()) {
      j["sliding_window"] = c.sliding_window;
      j["rope_parameters"]["hybrid_sliding"] = {{"rope_type", "default"},
                                                {"rope_theta", shortest_decimal(c.sliding_rope_theta)},
                                                {"partial_rotary_factor", double(c.rotary_dim) / c.head_dim}};
    }
    j["zaya_skip_route"] = c.skip_route == SkipRoute::zero ? "zero" : "identity";
  }
  if (c.model_type != "qwen2") j["attention_bias"] = c.attention_bias;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.pad_token_id >= 0) j["pad_token_id"] = c.pad_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  if (c.mask_token_id >= 0) j["mask_token_id"] = c.mask_token_id;
  if (c.byte_tokenizer) j["dllm_tokenizer"] = "bytes";
  return j;
}

}  // namespace dllm
