// The report's JSON schema (reports/report.schema.json) and the peer comparison's
// (reports/peer.schema.json), both compiled into the binary, and a validator for the subset of JSON
// Schema (2020-12) they use: type, required, properties, additionalProperties, items, enum, const,
// minimum, maximum, minItems, $ref to "#/$defs/...".
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dllm {

inline constexpr int kReportSchemaVersion = 1;
inline constexpr int kPeerSchemaVersion = 1;

// Whether `j` claims to be a report: an object whose "schema" is "dllm-bench/report" (any JSON may
// be asked, without throwing).
bool is_report(const nlohmann::json& j);

// Whether a double converts to int64_t without undefined behaviour (false for NaN and ±inf). The
// schema's `integer` and the readers of counts both use it.
inline bool fits_int64(double d) { return d >= -0x1p63 && d < 0x1p63; }

// The schema document.
const nlohmann::json& report_schema();

// Every violation of `schema` by `doc`, as "JSON-pointer: what is wrong"; empty when valid.
std::vector<std::string> schema_violations(const nlohmann::json& doc, const nlohmann::json& schema);

// Throws dllm::Error listing the first violations when `report` does not match the report schema.
void validate_report(const nlohmann::json& report);

// Whether `j` claims to be a peer comparison record (tools/peer-llamacpp): an object whose "schema"
// is "dllm-bench/peer".
bool is_peer_record(const nlohmann::json& j);

// The peer comparison's schema document.
const nlohmann::json& peer_schema();

// Throws dllm::Error listing the first violations when `record` does not match the peer schema.
void validate_peer_record(const nlohmann::json& record);

}  // namespace dllm
