#include "engine/decode/tidar_options.h"

#include <sstream>

#include "core/check.h"
#include "engine/backend/kv_cache.h"

namespace dllm {

namespace {

const char* const kP3 = "0,6,16";
const char* const kP5 = "0,2,5,10,16";
const char* const kZyphra = "0,4,7,11";  // the levels of Zyphra's TiDAR README

std::string comma_list(const std::vector<int>& levels) {
  std::string s;
  for (int v : levels) {
    if (!s.empty()) s += ',';
    s += std::to_string(v);
  }
  return s;
}

}  // namespace

Layout parse_layout(const std::string& name) {
  DLLM_CHECK(name == "single" || name == "two", "layout must be single or two, got '", name, "'");
  return name == "single" ? Layout::single_forward : Layout::two_forward;
}

const char* layout_name(Layout layout) { return layout == Layout::single_forward ? "single" : "two"; }

std::vector<int> parse_levels(const std::string& spec, int k) {
  std::vector<int> levels;
  if (spec == "dense") {
    for (int p = 0; p <= k; ++p) levels.push_back(p);
    return levels;
  }
  const std::string list = spec == "P3" ? kP3 : spec == "P5" ? kP5 : spec == "zyphra" ? kZyphra : spec;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    DLLM_CHECK(!item.empty() && *end == '\0', "--levels ", spec,
               ": expected dense, P3, P5, zyphra or comma-separated levels like 0,6,16");
    DLLM_CHECK(v >= 0 && v <= k, "--levels ", spec, ": level ", v, " lies outside [0, K = ", k,
               "] (the presets P3/P5 need K >= 16, zyphra K >= 11)");
    DLLM_CHECK(levels.empty() || v > levels.back(), "--levels ", spec, ": levels must increase");
    levels.push_back(int(v));
  }
  DLLM_CHECK(!levels.empty() && levels.front() == 0, "--levels ", spec,
             ": the set must contain level 0 (the proposal used when no draft is accepted)");
  return levels;
}

std::string levels_spec(const std::vector<int>& levels, int k) {
  const std::string list = comma_list(levels);
  if (levels == parse_levels("dense", k)) return "dense";
  if (list == kP3) return "P3";
  if (list == kP5) return "P5";
  if (list == kZyphra) return "zyphra";
  return list;
}

std::vector<int> TidarOptions::level_set() const { return levels.empty() ? parse_levels("dense", block_size) : levels; }

int TidarOptions::lookahead() const { return layout == Layout::single_forward ? 2 * block_size + 1 : block_size; }

int TidarOptions::pass_tokens() const {
  if (layout == Layout::two_forward) return block_size + 1;
  return (block_size + 1) * (1 + int(level_set().size()));
}

void TidarOptions::validate(const ModelConfig& cfg) const {
  DLLM_CHECK(cfg.mask_token_id >= 0,
             "this model's config.json has no mask_token_id (nor tidar_mask_token_id or another of Zyphra's mask "
             "keys): TiDAR decoding needs the mask token "
             "(use the ar strategy, or a checkpoint trained for TiDAR)");
  DLLM_CHECK(cfg.rope_scaling.type != RopeScalingType::dynamic,
             "this model's RoPE is \"dynamic\" (NTK): past max_position_embeddings a pass turns its tokens by its "
             "longest position, and a TiDAR pass reaches K positions beyond the AR step it stands for, so its verify "
             "rows would not be AR's and the lossless sampler would not be lossless: decode it with --strategy ar");
  DLLM_CHECK(block_size >= 1, "the block size K must be at least 1, got ", block_size);
  // The shortest request (one prompt token, one new token) must fit with the passes' reach.
  DLLM_CHECK(2 + lookahead() <= cfg.context_length(), "block size K = ", block_size, ": the ", layout_name(layout),
             "-forward layout's lookahead (how far its passes reach past the last token) is ", lookahead(),
             " positions, beyond the model's context of ", cfg.context_length(),
             " (max_position_embeddings): use a smaller block size");
  // zaya keeps the recurrent CCA inputs of slots L-2, L-1 in a ring of kRecurrentRing slots; the
  // verify segment writes slots L..L+K, which must not wrap onto them.
  const int zaya_max_k = KvCache::kRecurrentRing - 3;
  DLLM_CHECK(cfg.arch != Arch::zaya || block_size <= zaya_max_k, "block size K = ", block_size,
             ": a zaya pass may reach at most ", KvCache::kRecurrentRing - 2,
             " positions past the committed length (CCA's recurrent state ring): use a block size of at most ",
             zaya_max_k);
  if (!levels.empty()) {
    DLLM_CHECK(levels.front() == 0, "the proposal levels must contain level 0, got ", comma_list(levels));
    for (size_t i = 0; i < levels.size(); ++i)
      DLLM_CHECK(levels[i] <= block_size && (i == 0 || levels[i] > levels[i - 1]), "the proposal levels ",
                 comma_list(levels), " must increase and lie in [0, K = ", block_size, "]");
  }
  DLLM_CHECK(mix_weight >= 0.0f && mix_weight <= 1.0f, "the mixing weight must lie in [0, 1], got ", mix_weight);
  DLLM_CHECK(draft_temperature >= 0.0f, "the draft temperature must be >= 0, got ", draft_temperature);
}

}  // namespace dllm
