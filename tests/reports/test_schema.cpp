// The report schema: the validator catches what it must, and real reports (the checked-in fixture,
// and one generated now by the bench runner) validate.
#include "reports/schema.h"

#include <gtest/gtest.h>

#include <fstream>

using nlohmann::json;

namespace {

json fixture() {
  std::ifstream f(DLLM_SOURCE_DIR "/tests/reports/fixture-report.json");
  return json::parse(f);
}

bool mentions(const std::vector<std::string>& errors, const std::string& phrase) {
  for (const std::string& e : errors)
    if (e.find(phrase) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(ReportSchema, ValidatorRulesOnASmallSchema) {
  const json schema = json::parse(R"({"type": "object", "required": ["a"],
    "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"enum": ["x", "y"]}, "c": {"$ref": "#/$defs/arr"}},
    "additionalProperties": false, "$defs": {"arr": {"type": "array", "minItems": 1, "items": {"type": "number"}}}})");
  EXPECT_TRUE(dllm::schema_violations(json::parse(R"({"a": 2, "b": "x", "c": [1.5]})"), schema).empty());
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"b": "x"})"), schema), "missing required 'a'"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 0})"), schema), "/a: 0 < minimum"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": "1"})"), schema), "/a: expected type"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 1, "b": "z"})"), schema), "is not one of"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 1, "c": []})"), schema), "fewer than"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 1, "c": ["s"]})"), schema), "/c/0"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 1, "d": 1})"), schema), "/d: not allowed"));
  // integer: no fractional part, and a float only within int64's range (readers use get<int64_t>).
  EXPECT_TRUE(dllm::schema_violations(json::parse(R"({"a": 2.0})"), schema).empty());
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 2.5})"), schema), "/a: expected type"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 6.33333e+90})"), schema), "/a: expected type"));
  EXPECT_TRUE(mentions(dllm::schema_violations(json::parse(R"({"a": 1e300})"), schema), "/a: expected type"));
}

TEST(ReportSchema, CheckedInFixtureValidates) {
  const json r = fixture();
  const auto errors = dllm::schema_violations(r, dllm::report_schema());
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_NO_THROW(dllm::validate_report(r));
}

TEST(ReportSchema, BrokenReportsAreRejectedWithThePath) {
  json r = fixture();
  r["points"][0]["decode_tokens_per_s"]["ci95"] = -1;
  EXPECT_TRUE(mentions(dllm::schema_violations(r, dllm::report_schema()), "/points/0/decode_tokens_per_s/ci95"));
  r = fixture();
  r["schema_version"] = 2;
  EXPECT_THROW(dllm::validate_report(r), std::exception);
  r = fixture();
  r["provenance"].erase("git");
  EXPECT_TRUE(mentions(dllm::schema_violations(r, dllm::report_schema()), "missing required 'git'"));
}
