// The report's section types: every typed section of the checked-in fixture reads into its type and
// writes back to the same JSON, and a count no integer holds is a clear error.
#include "reports/sections.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/check.h"

using nlohmann::json;
using namespace dllm::report;

namespace {

json fixture() {
  std::ifstream f(DLLM_SOURCE_DIR "/tests/reports/fixture-report.json");
  return json::parse(f);
}

// The keys of `written` hold what `original` holds there (floats written back from a float field
// compare as floats).
void expect_same(const json& original, const json& written) {
  for (const auto& [k, v] : written.items()) {
    ASSERT_TRUE(original.contains(k)) << k;
    if (v.is_number_float())
      EXPECT_FLOAT_EQ(v.get<float>(), original[k].get<float>()) << k;
    else
      EXPECT_EQ(v, original[k]) << k;
  }
}

}  // namespace

TEST(ReportSections, FixtureRoundTrips) {
  const json r = fixture();
  expect_same(r["settings"], json(r["settings"].get<Settings>()));
  EXPECT_EQ(json(r["settings"].get<Settings>()).size(), r["settings"].size());
  expect_same(r["suite"], json(r["suite"].get<Suite>()));
  int tidar = 0, predicted = 0, with_vs_ar = 0;
  for (const json& p : r["points"]) {
    const auto c = p["config"].get<PointConfig>();
    tidar += c.is_tidar();
    expect_same(p["config"], json(c));
    EXPECT_EQ(json(c).size(), p["config"].size()) << p["id"];
    if (p.contains("speedup_vs_ar")) {
      const auto sp = p["speedup_vs_ar"].get<Speedup>();
      EXPECT_EQ(json(sp), p["speedup_vs_ar"]) << p["id"];
      predicted += sp.predicted.has_value();
    }
    if (p.contains("accounting")) {
      EXPECT_EQ(json(p["accounting"].get<Accounting>()), p["accounting"]) << p["id"];
    }
    if (p.contains("quality")) {
      const auto q = p["quality"].get<Quality>();
      EXPECT_EQ(json(q), p["quality"]) << p["id"];
      with_vs_ar += q.vs_ar.has_value();
    }
    if (!p.contains("decode_tokens_per_s")) continue;
    const auto s = p["decode_tokens_per_s"].get<Samples>();
    EXPECT_EQ(json(s), p["decode_tokens_per_s"]);
    EXPECT_EQ(json(samples_of(s.samples))["mean"], json(s)["mean"]);
  }
  EXPECT_GT(tidar, 0);
  EXPECT_GT(predicted, 0);
  EXPECT_GT(with_vs_ar, 0);
  EXPECT_EQ(json(r["examples"].get<std::vector<Example>>()), r["examples"]);
  for (const auto& [category, c] : r["points"][0]["per_category"].items())
    EXPECT_EQ(json(c.get<CategoryStats>()), c) << category;
  ASSERT_FALSE(r["batch_sweep"].empty());
  EXPECT_EQ(json(r["batch_sweep"].get<std::vector<BatchSweep>>()), r["batch_sweep"]);
  for (const auto& [backend, sc] : r["step_cost"].items())
    EXPECT_EQ(json(sc["curve"].get<std::vector<CurvePoint>>()), sc["curve"]) << backend;
  EXPECT_EQ(json(Shard{2, 5}).get<Shard>().index, 2);
}

TEST(ReportSections, CountsOutsideInt64AreErrors) {
  json suite = fixture()["suite"];
  suite["prompts"] = 6.3e90;
  EXPECT_THROW(suite.get<Suite>(), dllm::Error);
  suite["prompts"] = 3.0;
  EXPECT_EQ(suite.get<Suite>().prompts, 3);
  suite["prompts"] = "three";
  EXPECT_THROW(suite.get<Suite>(), json::exception);
  // Values the field's type cannot hold are refused, not converted.
  json settings = fixture()["settings"];
  settings["warmup"] = int64_t(1) << 40;
  EXPECT_THROW(settings.get<Settings>(), dllm::Error);
  settings = fixture()["settings"];
  settings["seed"] = -1;
  EXPECT_THROW(settings.get<Settings>(), dllm::Error);
  settings = fixture()["settings"];
  settings["temperature"] = 1e300;
  EXPECT_THROW(settings.get<Settings>(), dllm::Error);
  json example = fixture()["examples"][0];
  example["outputs"][0]["committed_per_step"][0] = 1e18;
  EXPECT_THROW(example.get<Example>(), dllm::Error);
}
