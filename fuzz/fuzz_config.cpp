// libFuzzer target: config.json parsing. Any config it accepts must survive the round trip through
// config_to_json (what checkpoints the engine writes carry) unchanged.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "engine/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  dllm::ModelConfig cfg;
  try {
    cfg = dllm::parse_config(j, "fuzz/config.json");
  } catch (const dllm::Error&) {
    return 0;
  }
  const nlohmann::json written = dllm::config_to_json(cfg);
  try {
    if (dllm::config_to_json(dllm::parse_config(written, "round trip")) != written) std::abort();
  } catch (const dllm::Error&) {
    std::abort();  // a config we accepted, written back, must be accepted again
  }
  return 0;
}
