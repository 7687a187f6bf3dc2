#include "engine/model/zaya_legacy_tensors.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/check.h"

namespace dllm {

namespace {

// A layer tensor renamed: its current name's prefix within layer k, the half layer 2k + half its
// legacy tensor lies in (half 2 is layer k + 1's attention half), and the legacy prefix; the rest
// of the name is kept. The first row whose prefix matches wins.
struct RenamedPrefix {
  const char* current;
  int half;
  const char* legacy;
};
constexpr RenamedPrefix kLayerTensors[] = {
    {"input_layernorm.", 0, "input_norm."},
    {"self_attn.qkv_proj.q_proj.", 0, "self_attn.qkv.linear_q."},
    {"self_attn.qkv_proj.k_proj.", 0, "self_attn.qkv.linear_k."},
    {"self_attn.qkv_proj.v_proj_current.", 0, "self_attn.qkv.val_proj1."},
    {"self_attn.qkv_proj.v_proj_delayed.", 0, "self_attn.qkv.val_proj2."},
    {"self_attn.qkv_proj.conv_qk_depthwise.", 0, "self_attn.qkv.conv_qk.0."},
    {"self_attn.qkv_proj.conv_qk_grouped.", 0, "self_attn.qkv.conv_qk.1."},
    {"self_attn.qk_norm.temp", 0, "self_attn.qkv.temp"},
    {"self_attn.o_proj.", 0, "self_attn.o_proj."},
    {"post_attention_residual_scale.", 1, "res_scale."},
    {"post_attention_layernorm.", 1, "input_norm."},
    {"mlp.gate.router_mlp.norm.", 1, "zaya_block.router.rmsnorm_eda."},
    {"mlp.gate.router_mlp.fc1.", 1, "zaya_block.router.router_mlp.0."},
    {"mlp.gate.router_mlp.fc2.", 1, "zaya_block.router.router_mlp.2."},
    {"mlp.gate.router_mlp.out_proj.", 1, "zaya_block.router.router_mlp.4."},
    {"mlp.gate.", 1, "zaya_block.router."},  // down_proj, router_states_scale, balancing_biases
    {"post_mlp_residual_scale.", 2, "res_scale."},
};

// A stacked expert tensor [E, ...] of layer k and each expert's tensor in half layer 2k + 1.
constexpr std::pair<const char*, const char*> kExpertTensors[] = {{"mlp.experts.gate_up_proj", "linear_fc1.weight"},
                                                                  {"mlp.experts.down_proj", "linear_fc2.weight"}};

const std::string kLayers = "model.layers.";
const std::string kModelInput = "model.input_";  // model.input_hidden_states_{scale,bias}

ZayaLegacySource renamed(std::string legacy) { return {{std::move(legacy)}, false, ""}; }

}  // namespace

bool is_zaya_legacy_checkpoint(const FindTensor& stored) {
  return stored(kLayers + "0.self_attn.qkv.linear_q.weight") != nullptr;
}

ZayaLegacySource zaya_legacy_source(const std::string& name, const ModelConfig& cfg) {
  if (name == "model.norm.weight") return {{"model.final_norm.weight"}, false, name};
  // The model's input scaling is layer 0's.
  if (name.starts_with(kModelInput)) return renamed(kLayers + "0.res_scale." + name.substr(kModelInput.size()));
  if (!name.starts_with(kLayers)) return renamed(name);  // the embedding, an untied lm_head
  const size_t dot = name.find('.', kLayers.size());
  DLLM_ASSERT(dot != std::string::npos);
  const int k = std::stoi(name.substr(kLayers.size(), dot - kLayers.size()));
  const std::string rest = name.substr(dot + 1);
  // Half layer j's prefix; the one after the last (j = 2L) is the model's own, holding the final scaling.
  const auto half = [&](int j) {
    return j == 2 * cfg.num_layers ? std::string("model.") : kLayers + std::to_string(j) + ".";
  };
  for (const auto& [current, legacy] : kExpertTensors) {
    if (rest != current) continue;
    ZayaLegacySource s{{}, true, ""};
    for (int e = 0; e < cfg.num_experts; ++e)
      s.parts.push_back(half(2 * k + 1) + "zaya_block.experts.local_experts." + std::to_string(e) + "." + legacy);
    return s;
  }
  for (const RenamedPrefix& r : kLayerTensors) {
    const std::string current = r.current;
    if (rest.starts_with(current)) return renamed(half(2 * k + r.half) + r.legacy + rest.substr(current.size()));
  }
  fail("internal error (a bug in dllm-bench, please report): no legacy zaya name for ", name);
}

ZayaLegacyTensors::ZayaLegacyTensors(const ModelConfig& cfg, FindTensor stored,
                                     std::vector<std::vector<uint8_t>>& owned, std::string where)
    : cfg_(cfg), stored_(std::move(stored)), owned_(owned), where_(std::move(where)) {}

const TensorInfo* ZayaLegacyTensors::find(const std::string& name) {
  const ZayaLegacySource source = zaya_legacy_source(name, cfg_);
  std::vector<const TensorInfo*> parts;
  for (const std::string& part : source.parts) parts.push_back(&read_part(part, source.also, name));
  TensorInfo t = source.stacked ? stack(parts) : *parts[0];
  t.name = name;
  return &(made_[name] = std::move(t));
}

const TensorInfo& ZayaLegacyTensors::read_part(const std::string& part, const std::string& also,
                                               const std::string& name) {
  const TensorInfo* t = stored_(part);
  if (!t && !also.empty()) t = stored_(also);
  DLLM_CHECK(t != nullptr, where_, ": tensor ", part, " (read as ", name,
             ") is missing; the config describes a legacy zaya checkpoint of ", 2 * cfg_.num_layers,
             " half layers with ", cfg_.num_experts, " experts: the checkpoint does not match its config.json");
  read_.insert(t->name);
  return *t;
}

// [n, ...]: the parts (alike in type and shape) one after the other, in owned memory.
TensorInfo ZayaLegacyTensors::stack(const std::vector<const TensorInfo*>& parts) {
  const TensorInfo& first = *parts[0];
  std::vector<uint8_t>& bytes = owned_.emplace_back(first.nbytes * parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const TensorInfo& p = *parts[i];
    DLLM_CHECK(p.dtype == first.dtype && p.raw == first.raw && p.shape == first.shape, p.file, ": tensor ", p.name,
               " (shape ", nlohmann::json(p.shape).dump(), ") is not stored as ", first.name, " (shape ",
               nlohmann::json(first.shape).dump(), "): the experts of a layer must share dtype and shape");
    std::memcpy(bytes.data() + i * first.nbytes, p.data, p.nbytes);
  }
  TensorInfo t = first;
  t.shape.insert(t.shape.begin(), int64_t(parts.size()));
  t.data = bytes.data();
  t.nbytes = bytes.size();
  return t;
}

}  // namespace dllm
