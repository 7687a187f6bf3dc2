// Zyphra's legacy (Megatron) ZAYA1 checkpoint read under the transformers 5 names that
// zaya_expected_tensors lists: 2L half layers (even: attention, odd: MoE), each residual scaling on
// the half layer it precedes, one tensor per expert. The mapping is in engine/model/zaya.md ("The
// legacy layout").
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/model.h"
#include "engine/model/safetensors.h"

namespace dllm {

using FindTensor = std::function<const TensorInfo*(const std::string&)>;

// Whether a checkpoint's tensors (found by stored name) are in the legacy layout: layer 0's query
// projection is stored under its legacy name.
bool is_zaya_legacy_checkpoint(const FindTensor& stored);

// Where a current-layout tensor of `cfg` lies in a legacy checkpoint.
struct ZayaLegacySource {
  // The legacy tensor, or the experts' tensors (expert 0 first) to stack along a new first dim.
  std::vector<std::string> parts;
  bool stacked = false;
  // A name the lone part may be stored under instead (the final norm's current name), or empty.
  std::string also;
};
ZayaLegacySource zaya_legacy_source(const std::string& name, const ModelConfig& cfg);

// A legacy checkpoint's tensors under the current names.
class ZayaLegacyTensors {
 public:
  // `stored` finds a tensor by its stored name (dequantized where it was quantized); stacked expert
  // tensors are kept in `owned`; `where` names the checkpoint in errors.
  ZayaLegacyTensors(const ModelConfig& cfg, FindTensor stored, std::vector<std::vector<uint8_t>>& owned,
                    std::string where);

  // The tensor `name` of the current layout: its legacy tensor (renamed, stored as is) or its
  // experts' tensors stacked [E, ...] in owned memory. Throws naming the legacy tensor that is missing.
  const TensorInfo* find(const std::string& name);
  // The stored names of every tensor find has read.
  const std::set<std::string>& read() const { return read_; }

 private:
  const TensorInfo& read_part(const std::string& part, const std::string& also, const std::string& name);
  TensorInfo stack(const std::vector<const TensorInfo*>& parts);

  const ModelConfig& cfg_;
  FindTensor stored_;
  std::vector<std::vector<uint8_t>>& owned_;
  std::string where_;
  std::map<std::string, TensorInfo> made_;  // by current name
  std::set<std::string> read_;
};

}  // namespace dllm
