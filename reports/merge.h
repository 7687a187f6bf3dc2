// `dllm-bench merge A.json B.json ... -o OUT.json`: the reports of the shards of one benchmark run
// (bench --shard I/N, e.g. the tasks of a cluster job array) as one report.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dllm {

struct NamedReport {
  std::string name;  // for messages, e.g. the file it came from
  nlohmann::json report;
};

// Throws naming the inputs when they are not reports of one run: a different schema version, git
// commit, model (source, configuration, weights), suite (path, digest, prompts) or settings; or
// when a point (by id) is in two of them. The merged report holds every input's points in input
// order, the examples' outputs of all, the batch sweep over all points, the step-cost curves and
// kernel parity of the first input that has them, every imported Google Benchmark run, and in
// "merged_from" each input's shard, date and host.
nlohmann::json merge_reports(const std::vector<NamedReport>& inputs);

}  // namespace dllm
