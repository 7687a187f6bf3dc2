// TidarOptions: the reach and size of each layout's passes, the level spellings, and the checks a
// model must pass before TiDAR decodes on it.
#include "engine/decode/tidar_options.h"

#include <gtest/gtest.h>

#include "core/check.h"
#include "engine/backend/kv_cache.h"
#include "engine/model/model.h"

using namespace dllm;

namespace {

TidarOptions options(int k, Layout layout, const std::string& levels) {
  TidarOptions o;
  o.block_size = k;
  o.layout = layout;
  if (layout == Layout::single_forward) o.levels = parse_levels(levels, k);
  return o;
}

// The error `o.validate(cfg)` throws, or "" when it accepts.
std::string error_of(const TidarOptions& o, const ModelConfig& cfg) {
  try {
    o.validate(cfg);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TidarOptions, ReachAndPassSizeOfEachLayout) {
  // Single forward: verify [a, d1..dK] plus one block of K + 1 per level; level K's block ends at L + 2K + 1.
  EXPECT_EQ(options(16, Layout::single_forward, "P3").pass_tokens(), 17 * (1 + 3));
  EXPECT_EQ(options(16, Layout::single_forward, "P3").lookahead(), 33);
  EXPECT_EQ(options(4, Layout::single_forward, "dense").pass_tokens(), 5 * (1 + 5));
  EXPECT_EQ(options(16, Layout::single_forward, "P3").forwards_per_step(), 1);
  // Two forwards: a verify pass [a, d1..dK] and a draft pass [c, mask x K], each K + 1.
  EXPECT_EQ(options(16, Layout::two_forward, "").pass_tokens(), 17);
  EXPECT_EQ(options(16, Layout::two_forward, "").lookahead(), 16);
  EXPECT_EQ(options(16, Layout::two_forward, "").forwards_per_step(), 2);
  // No levels: every level 0..K.
  TidarOptions o;
  o.block_size = 3;
  EXPECT_EQ(o.level_set(), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(o.pass_tokens(), 4 * 5);
}

TEST(TidarOptions, LevelSpellings) {
  EXPECT_EQ(levels_spec(parse_levels("P3", 16), 16), "P3");
  EXPECT_EQ(levels_spec(parse_levels("P5", 16), 16), "P5");
  EXPECT_EQ(parse_levels("zyphra", 16), (std::vector<int>{0, 4, 7, 11}));
  EXPECT_EQ(levels_spec(parse_levels("zyphra", 11), 11), "zyphra");
  EXPECT_EQ(levels_spec(parse_levels("0,4,7,11", 16), 16), "zyphra");
  EXPECT_THROW(parse_levels("zyphra", 10), Error);  // level 11 > K
  EXPECT_EQ(levels_spec(parse_levels("dense", 4), 4), "dense");
  EXPECT_EQ(levels_spec(parse_levels("0,2,4", 4), 4), "0,2,4");
  EXPECT_EQ(parse_layout("two"), Layout::two_forward);
  EXPECT_STREQ(layout_name(Layout::single_forward), "single");
  EXPECT_THROW(parse_layout("three"), Error);
}

TEST(TidarOptions, ValidateNamesWhatTheModelCannotRun) {
  const ModelConfig cfg = Model::load("preset:tiny")->config();
  EXPECT_EQ(error_of(options(4, Layout::single_forward, "dense"), cfg), "");
  ModelConfig no_mask = cfg;
  no_mask.mask_token_id = -1;
  EXPECT_NE(error_of(TidarOptions{}, no_mask).find("no mask_token_id"), std::string::npos);
  EXPECT_NE(error_of(options(0, Layout::two_forward, ""), cfg).find("at least 1"), std::string::npos);
  // K against the context: the single-forward layout reaches 2K + 1, the two-forward layout K.
  ModelConfig short_ctx = cfg;
  short_ctx.max_position_embeddings = 12;
  EXPECT_EQ(error_of(options(10, Layout::two_forward, ""), short_ctx), "");
  EXPECT_NE(error_of(options(10, Layout::single_forward, "0"), short_ctx).find("max_position_embeddings"),
            std::string::npos);
  TidarOptions bad = options(4, Layout::single_forward, "dense");
  bad.levels = {0, 6};
  EXPECT_NE(error_of(bad, cfg).find("[0, K = 4]"), std::string::npos);
  bad = options(4, Layout::single_forward, "dense");
  bad.mix_weight = 1.5f;
  EXPECT_NE(error_of(bad, cfg).find("mixing weight"), std::string::npos);
}

TEST(TidarOptions, ZayaBlockSizeStaysInsideTheRecurrentRing) {
  const ModelConfig cfg = Model::load("preset:tiny-zaya")->config();
  const int max_k = KvCache::kRecurrentRing - 3;  // verify writes slots L..L+K; L-2 and L-1 stay in the ring
  EXPECT_EQ(error_of(options(max_k, Layout::two_forward, ""), cfg), "");
  EXPECT_NE(error_of(options(max_k + 1, Layout::two_forward, ""), cfg).find("block size of at most"),
            std::string::npos);
}
