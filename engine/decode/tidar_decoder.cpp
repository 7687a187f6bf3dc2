#include "engine/decode/tidar_decoder.h"

#include <sstream>

#include "engine/core/check.h"
#include "engine/decode/batch_decoder.h"

namespace dllm {

std::vector<int> parse_levels(const std::string& spec, int k) {
  std::vector<int> levels;
  if (spec == "dense") {
    for (int p = 0; p <= k; ++p) levels.push_back(p);
    return levels;
  }
  const std::string list = spec == "P3" ? "0,6,16" : spec == "P5" ? "0,2,5,10,16" : spec;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    DLLM_CHECK(!item.empty() && *end == '\0', "--levels ", spec,
               ": expected dense, P3, P5 or comma-separated levels like 0,6,16");
    DLLM_CHECK(v >= 0 && v <= k, "--levels ", spec, ": level ", v, " lies outside [0, K = ", k,
               "] (the presets P3/P5 need K >= 16)");
    DLLM_CHECK(levels.empty() || v > levels.back(), "--levels ", spec, ": levels must increase");
    levels.push_back(int(v));
  }
  DLLM_CHECK(!levels.empty() && levels.front() == 0, "--levels ", spec,
             ": the set must contain level 0 (the proposal used when no draft is accepted)");
  return levels;
}

TidarDecoder::TidarDecoder(Transformer& model, TidarOptions options) : model_(model), opt_(std::move(options)) {
  const ModelConfig& cfg = model_.config();
  DLLM_CHECK(opt_.block_size >= 1, "--block-size must be at least 1, got ", opt_.block_size);
  DLLM_CHECK(cfg.mask_token_id >= 0,
             "this model's config.json has no mask_token_id: TiDAR decoding needs the mask token");
  if (opt_.levels.empty()) opt_.levels = parse_levels("dense", opt_.block_size);
  DLLM_CHECK(opt_.levels.front() == 0 && opt_.levels.back() <= opt_.block_size, "levels must lie in [0, K] and start at 0");
  DLLM_CHECK(opt_.mix_weight >= 0.0f && opt_.mix_weight <= 1.0f, "--mix-weight must lie in [0, 1], got ", opt_.mix_weight);
  DLLM_CHECK(opt_.draft_temperature >= 0.0f, "--draft-temperature must be >= 0");
}

Generation TidarDecoder::generate(const GenerateRequest& r) {
  std::vector<std::unique_ptr<SequenceDecoder>> one;
  one.push_back(make_tidar_sequence(model_, r, opt_));
  return std::move(decode_batch(model_, std::move(one), BatchOptions{1, false}, nullptr).front());
}

}  // namespace dllm
