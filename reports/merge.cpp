#include "reports/merge.h"

#include <map>

#include "core/check.h"
#include "reports/batch_sweep.h"
#include "reports/schema.h"
#include "reports/sections.h"

namespace dllm {

namespace {

using nlohmann::json;

// What must be equal in every shard of one run, by JSON pointer, with the name a mismatch gets.
struct Identity {
  const char* pointer;
  const char* what;
};
const Identity kSameRun[] = {
    {"/schema_version", "schema version"},
    {"/kind", "kind"},
    {"/provenance/git/commit", "git commit"},
    {"/provenance/model", "model"},
    {"/model", "model size"},
    {"/provenance/dataset", "suite file"},
    {"/suite", "suite"},
    {"/settings", "settings"},
};

// A JSON value for a message, cut at 160 characters.
std::string brief(const json& v) {
  const std::string s = v.dump();
  return s.size() <= 160 ? s : s.substr(0, 160) + "...";
}

// Appends the outputs of `from`'s examples to the examples of `into` with the same prompt id.
void merge_examples(std::vector<report::Example>& into, const std::vector<report::Example>& from) {
  for (const report::Example& e : from) {
    bool found = false;
    for (report::Example& mine : into)
      if (mine.prompt_id == e.prompt_id) {
        mine.outputs.insert(mine.outputs.end(), e.outputs.begin(), e.outputs.end());
        found = true;
      }
    if (!found) into.push_back(e);
  }
}

}  // namespace

json merge_reports(const std::vector<NamedReport>& inputs) {
  DLLM_CHECK(!inputs.empty(), "nothing to merge: give the shard reports");
  for (const NamedReport& in : inputs) DLLM_CHECK(is_report(in.report), in.name, ": not a dllm-bench report");
  const NamedReport& first = inputs.front();
  for (const NamedReport& in : inputs)
    for (const Identity& id : kSameRun) {
      const json::json_pointer ptr(id.pointer);
      const json mine = in.report.contains(ptr) ? in.report.at(ptr) : json();
      const json theirs = first.report.contains(ptr) ? first.report.at(ptr) : json();
      DLLM_CHECK(mine == theirs, in.name, " and ", first.name, " are not shards of one run: they differ in their ",
                 id.what, " (", id.pointer, ": ", brief(mine), " vs ", brief(theirs),
                 "); merge only the reports of one bench command run with --shard I/N");
    }

  json merged = first.report;
  merged.erase("shard");
  merged["points"] = json::array();

  merged["google_benchmark"] = json::array();
  merged["interrupted"] = false;
  merged["merged_from"] = json::array();
  std::vector<report::Example> examples;
  std::map<std::string, std::string> owner;  // point id -> input holding it
  for (const NamedReport& in : inputs) {
    const json& r = in.report;
    for (const json& p : r["points"]) {
      const std::string id = p["id"];
      const auto [it, fresh] = owner.emplace(id, in.name);
      DLLM_CHECK(fresh, "point ", id, " is in both ", it->second, " and ", in.name,
                 ": each shard must be a different slice (--shard I/N with one N and distinct I)");
      merged["points"].push_back(p);
    }
    merge_examples(examples, r["examples"].get<std::vector<report::Example>>());
    for (const auto& [backend, curve] : r["step_cost"].items())
      if (!merged["step_cost"].contains(backend)) merged["step_cost"][backend] = curve;
    if (r.contains("google_benchmark"))
      for (const json& g : r["google_benchmark"]) merged["google_benchmark"].push_back(g);
    if ((!merged.contains("kernel_parity") || merged["kernel_parity"].empty()) && r.contains("kernel_parity"))
      merged["kernel_parity"] = r["kernel_parity"];
    merged["interrupted"] = merged["interrupted"].get<bool>() || r["interrupted"].get<bool>();
    merged["merged_from"].push_back({{"name", in.name},
                                     {"shard", r.contains("shard") ? r["shard"] : json()},
                                     {"date_utc", r["provenance"]["date_utc"]},
                                     {"host", r["provenance"]["host"]}});
  }
  merged["examples"] = examples;
  merged["batch_sweep"] = batch_sweep(merged["points"]);
  validate_report(merged);
  return merged;
}

}  // namespace dllm
