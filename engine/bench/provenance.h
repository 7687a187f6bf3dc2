// Provenance of a report record (reports/README.md): what was built from which source, on which machine,
// with which command, model and dataset — enough to reproduce or to distrust a number.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dllm {

struct ProvenanceInputs {
  std::vector<std::string> command_line;  // argv
  std::string model_source;               // checkpoint folder or preset:NAME
  uint64_t weights_seed = 0;              // presets only
  nlohmann::json model_config;            // the parsed config as JSON
  std::string mask_token_key;             // the config key the mask token came from (ModelConfig)
  std::string dataset_path;               // "" when prompts came from flags
  std::vector<uint64_t> seeds;            // sampling seeds used
  std::string backend;                    // the backends' names, comma-separated
  nlohmann::json gpu;                     // the device of the GPU backends (BackendDevice), null when none ran
  std::string probe_path;                 // measured machine limits (dllm-bench probe); "" = default path
};

// {git, build, host, gpu, date_utc, command_line, seeds, model, dataset, machine_limits}; see
// reports/README.md for every field.
nlohmann::json collect_provenance(const ProvenanceInputs& in);

// Where `dllm-bench probe` stores and reports read the measured limits: $DLLM_PROBE, else
// $XDG_CACHE_HOME/dllm-bench/probe.json, else $HOME/.cache/dllm-bench/probe.json.
std::string default_probe_path();

}  // namespace dllm
