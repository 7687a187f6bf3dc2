// The peer comparison record (tools/peer-llamacpp) from the checked-in fixture, cut from a real run:
// it matches its schema, reads into report::Peer and writes back to the same JSON, bad records are
// clear errors, and the HTML report renders it as the "peer" section, alone or beside a report.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/check.h"
#include "reports/html.h"
#include "reports/schema.h"
#include "reports/sections.h"

using dllm::report::Peer;
using nlohmann::json;

namespace {

json read(const char* name) {
  std::ifstream f(std::string(DLLM_SOURCE_DIR "/tests/reports/") + name);
  return json::parse(f);
}

json fixture() { return read("fixture-peer.json"); }

// The message of the dllm::Error that fn throws ("" when it throws none).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const dllm::Error& e) {
    return e.what();
  }
  return "";
}

std::string render_error(const json& record) {
  return error_of([&] { (void)dllm::render_html({record}); });
}

}  // namespace

TEST(PeerRecord, FixtureMatchesItsSchemaAndRoundTrips) {
  const json j = fixture();
  ASSERT_TRUE(dllm::is_peer_record(j));
  EXPECT_FALSE(dllm::is_report(j));
  EXPECT_TRUE(dllm::schema_violations(j, dllm::peer_schema()).empty());
  const Peer p = j.get<Peer>();
  EXPECT_EQ(json(p), j);
  EXPECT_EQ(p.peer.name, "llama.cpp");
  EXPECT_EQ(p.model_shape, "qwen3-0.6b");
  ASSERT_FALSE(p.results.empty());
  for (const auto& r : p.results) {
    EXPECT_EQ(r.decode.peer.size(), size_t(p.rounds)) << r.dtype;
    ASSERT_EQ(r.passes.size(), 2u) << r.dtype;
    EXPECT_EQ(r.passes[0].tokens, 16);
    EXPECT_EQ(r.passes[1].tokens, 64);
  }
}

TEST(PeerRecord, MediansAndRatios) {
  dllm::report::PeerRates r{{3, 1, 2}, {4, 8}};
  EXPECT_DOUBLE_EQ(r.peer_median(), 2);
  EXPECT_DOUBLE_EQ(r.ours_median(), 6);  // an even count: the mean of the middle two
  EXPECT_DOUBLE_EQ(r.ratio(), 3);
  Peer p;
  p.layer_parameters = 100, p.lm_head_parameters = 10;
  EXPECT_DOUBLE_EQ(p.pass_flops(4), 2.0 * 100 * 4 + 2.0 * 10);
}

TEST(PeerRecord, BadRecordsAreClearErrors) {
  const auto violations = [](const json& j) {
    std::string all;
    for (const std::string& v : dllm::schema_violations(j, dllm::peer_schema())) all += v + "\n";
    return all;
  };
  json j = fixture();
  j["results"][0]["decode"].erase("ours_tokens_per_s");
  EXPECT_NE(violations(j).find("/results/0/decode: missing required 'ours_tokens_per_s'"), std::string::npos)
      << violations(j);
  EXPECT_NE(render_error(j).find("input 1: not a peer comparison of schema version 1"), std::string::npos);

  j = fixture();
  j["schema_version"] = 2;
  EXPECT_NE(violations(j).find("/schema_version: must equal 1"), std::string::npos) << violations(j);
  j = fixture();
  j["settings"]["thread"] = 2;  // a typo is not ignored
  EXPECT_NE(violations(j).find("/settings/thread: not allowed here"), std::string::npos) << violations(j);
  j = fixture();
  j["results"][0]["dtype"] = "q4_0";
  EXPECT_NE(violations(j).find("/results/0/dtype"), std::string::npos) << violations(j);

  // What the schema cannot say: one value per round, rates above 0, each dtype and pass size once.
  j = fixture();
  j["results"][0]["passes"][1]["peer_tokens_per_s"].push_back(1.0);
  EXPECT_TRUE(violations(j).empty());
  EXPECT_NE(render_error(j).find("passes[64].peer_tokens_per_s: expected"), std::string::npos) << render_error(j);
  j = fixture();
  j["results"][0]["decode"]["ours_tokens_per_s"][0] = 0;
  EXPECT_NE(render_error(j).find("finite number above 0"), std::string::npos) << render_error(j);
  j = fixture();
  j["results"].push_back(j["results"][0]);
  EXPECT_NE(render_error(j).find("is listed twice"), std::string::npos) << render_error(j);
  j = fixture();
  j["results"][0]["passes"].push_back(j["results"][0]["passes"][0]);
  EXPECT_NE(render_error(j).find("the pass of 16 tokens is listed twice"), std::string::npos) << render_error(j);
}

TEST(PeerHtml, RendersThePeerSection) {
  const json j = fixture();
  const Peer p = j.get<Peer>();
  const std::string html = dllm::render_html({j});
  EXPECT_NE(html.find("<h1>dllm-bench peer comparison</h1>"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=peer>Peer comparison: llama.cpp and dllm-bench on the same weights</h2>"),
            std::string::npos);
  EXPECT_NE(html.find("data-chart=\"peer_ratio\""), std::string::npos);
  for (const auto& r : p.results) {
    EXPECT_NE(html.find(">" + r.dtype + "</td><td class=l>AR decode"), std::string::npos) << r.dtype;
    EXPECT_NE(html.find("16-token pass"), std::string::npos);
    EXPECT_NE(html.find("64-token pass"), std::string::npos);
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, ">%.2fx</td>", r.decode.ratio());
    EXPECT_NE(html.find(ratio), std::string::npos) << ratio;
  }
  EXPECT_NE(html.find(p.host.cpu), std::string::npos);
  EXPECT_NE(html.find("of read"), std::string::npos);  // the probe's limits are in the fixture
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(PeerHtml, RendersBesideABenchReportAndEscapes) {
  json j = fixture();
  j["host"]["cpu"] = "<b>cpu</b>";
  const std::string html = dllm::render_html({read("fixture-report.json"), j});
  EXPECT_NE(html.find("<h2 id=summary>"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=peer>"), std::string::npos);
  EXPECT_LT(html.find("<h2 id=summary>"), html.find("<h2 id=peer>"));
  EXPECT_EQ(html.find("<b>cpu</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;cpu&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("noisy figures"), std::string::npos);  // the fixture's machine was quiet
  j = fixture();
  j["host"]["load_average"]["start"] = 5.7;  // other processes on the CPUs: said so
  EXPECT_NE(dllm::render_html({j}).find("other processes shared the CPUs: noisy figures"), std::string::npos);
  j = fixture();
  j["machine_limits"] = nullptr;  // no probe: no fractions, a note instead
  const std::string bare = dllm::render_html({j});
  EXPECT_EQ(bare.find("of read"), std::string::npos);
  EXPECT_NE(bare.find("No machine limits in this record"), std::string::npos);
}
