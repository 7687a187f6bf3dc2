#include "reports/schema.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace dllm {

extern const char* const kReportSchemaText;  // generated from report.schema.json by CMake
extern const char* const kPeerSchemaText;    // generated from peer.schema.json by CMake

namespace {

using nlohmann::json;

// JSON Schema's integer: a number with no fractional part. A float is accepted only within int64's
// range, so a consumer may read any value that passed as get<int64_t>() (6e90 is refused, not UB).
bool is_integer(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return fits_int64(d) && std::trunc(d) == d;
}

bool has_type(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "integer") return is_integer(v);
  if (t == "number") return v.is_number();
  return false;
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}
  std::vector<std::string> errors;

  void check(const json& v, const json& s, const std::string& at) {
    if (s.is_boolean()) {
      if (!s.get<bool>()) errors.push_back(at + ": not allowed here");
      return;
    }
    if (s.contains("$ref")) {
      const std::string ref = s["$ref"];
      DLLM_ASSERT(ref.rfind("#/", 0) == 0);
      check(v, root_.at(json::json_pointer(ref.substr(1))), at);
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string())
        ok = has_type(v, s["type"]);
      else
        for (const json& t : s["type"]) ok = ok || has_type(v, t);
      if (!ok) {
        errors.push_back(at + ": expected type " + s["type"].dump() + ", got " + v.type_name());
        return;
      }
    }
    if (s.contains("const") && v != s["const"]) errors.push_back(at + ": must equal " + s["const"].dump());
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
      errors.push_back(at + ": " + v.dump() + " is not one of " + s["enum"].dump());
    if (v.is_number()) {
      if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>())
        errors.push_back(at + ": " + v.dump() + " < minimum " + s["minimum"].dump());
      if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>())
        errors.push_back(at + ": " + v.dump() + " > maximum " + s["maximum"].dump());
    }
    if (v.is_object()) {
      if (s.contains("required"))
        for (const json& k : s["required"])
          if (!v.contains(k.get<std::string>()))
            errors.push_back(at + ": missing required '" + k.get<std::string>() + "'");
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string child = at + "/" + it.key();
        if (s.contains("properties") && s["properties"].contains(it.key()))
          check(it.value(), s["properties"][it.key()], child);
        else if (s.contains("additionalProperties"))
          check(it.value(), s["additionalProperties"], child);
      }
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        errors.push_back(at + ": fewer than " + s["minItems"].dump() + " items");
      if (s.contains("items"))
        for (size_t i = 0; i < v.size(); ++i) check(v[i], s["items"], at + "/" + std::to_string(i));
    }
  }

 private:
  const json& root_;
};

}  // namespace

const json& report_schema() {
  static const json schema = json::parse(kReportSchemaText);
  return schema;
}

std::vector<std::string> schema_violations(const json& doc, const json& schema) {
  Validator v(schema);
  v.check(doc, schema, "");
  return v.errors;
}

const json& peer_schema() {
  static const json schema = json::parse(kPeerSchemaText);
  return schema;
}

namespace {

// The first violations, one per line, for an error message.
std::string listed(const std::vector<std::string>& errors) {
  std::string list;
  for (size_t i = 0; i < errors.size() && i < 10; ++i) list += "\n  " + (errors[i].empty() ? "/" : errors[i]);
  return list;
}

}  // namespace

bool is_report(const json& j) { return j.is_object() && j.contains("schema") && j["schema"] == "dllm-bench/report"; }

void validate_report(const json& report) {
  const std::vector<std::string> errors = schema_violations(report, report_schema());
  DLLM_CHECK(errors.empty(), "the report does not match schema version ", kReportSchemaVersion,
             " (reports/report.schema.json):", listed(errors));
}

bool is_peer_record(const json& j) { return j.is_object() && j.contains("schema") && j["schema"] == "dllm-bench/peer"; }

void validate_peer_record(const json& record) {
  const std::vector<std::string> errors = schema_violations(record, peer_schema());
  DLLM_CHECK(errors.empty(), "not a peer comparison of schema version ", kPeerSchemaVersion,
             " (reports/peer.schema.json; tools/peer-llamacpp writes it):", listed(errors));
}

}  // namespace dllm
