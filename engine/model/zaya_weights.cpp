#include "engine/model/zaya.h"

#include <cmath>
#include <vector>

namespace dllm {

std::vector<ExpectedTensor> zaya_expected_tensors(const ModelConfig& c, ModelWeights& w) {
  const int64_t d = c.hidden_size, dh = c.head_dim, q = int64_t(c.num_heads) * dh, kv = int64_t(c.num_kv_heads) * dh,
                ch = c.cca_channels(), vh = c.value_shift_width(), f = c.intermediate_size, e = c.num_experts,
                r = c.router_hidden_size;
  std::vector<ExpectedTensor> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, d}, &w.embed});
  t.push_back({"model.input_hidden_states_scale", {d}, &w.input_scale});
  t.push_back({"model.input_hidden_states_bias", {d}, &w.input_bias});
  w.layers.assign(size_t(c.num_layers), LayerWeights{});
  for (int i = 0; i < c.num_layers; ++i) {
    LayerWeights& l = w.layers[size_t(i)];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const std::string a = p + "self_attn.", cca = a + "qkv_proj.", g = p + "mlp.gate.";
    t.push_back({p + "input_layernorm.weight", {d}, &l.attn_norm});
    t.push_back({cca + "q_proj.weight", {q, d}, &l.q});
    t.push_back({cca + "k_proj.weight", {kv, d}, &l.k});
    t.push_back({cca + "v_proj_current.weight", {vh, d}, &l.v});
    t.push_back({cca + "v_proj_delayed.weight", {vh, d}, &l.v_delayed});
    t.push_back({cca + "conv_qk_depthwise.weight", {ch, 1, 2}, &l.conv1});
    t.push_back({cca + "conv_qk_depthwise.bias", {ch}, &l.conv1_bias});
    t.push_back({cca + "conv_qk_grouped.weight", {ch, dh, 2}, &l.conv2});
    t.push_back({cca + "conv_qk_grouped.bias", {ch}, &l.conv2_bias});
    t.push_back({a + "qk_norm.temp", {c.num_kv_heads}, &l.temperature});
    t.push_back({a + "o_proj.weight", {d, q}, &l.o});
    for (auto [name, s] : {std::pair{"post_attention_residual_scale.", &l.attn_h_scale},
                           std::pair{"post_mlp_residual_scale.", &l.mlp_h_scale}}) {
      // h_scale, h_bias, r_scale, r_bias are consecutive members.
      t.push_back({p + name + "hidden_states_scale", {d}, s});
      t.push_back({p + name + "hidden_states_bias", {d}, s + 1});
      t.push_back({p + name + "residual_scale", {d}, s + 2});
      t.push_back({p + name + "residual_bias", {d}, s + 3});
    }
    t.push_back({p + "post_attention_layernorm.weight", {d}, &l.mlp_norm});
    t.push_back({g + "down_proj.weight", {r, d}, &l.router_down});
    t.push_back({g + "down_proj.bias", {r}, &l.router_down_bias});
    if (i > 0) t.push_back({g + "router_states_scale", {r}, &l.router_state_scale});
    t.push_back({g + "router_mlp.norm.weight", {r}, &l.router_norm});
    t.push_back({g + "router_mlp.fc1.weight", {r, r}, &l.router_fc1});
    t.push_back({g + "router_mlp.fc1.bias", {r}, &l.router_fc1_bias});
    t.push_back({g + "router_mlp.fc2.weight", {r, r}, &l.router_fc2});
    t.push_back({g + "router_mlp.fc2.bias", {r}, &l.router_fc2_bias});
    t.push_back({g + "router_mlp.out_proj.weight", {e + 1, r}, &l.router_out});
    t.push_back({g + "balancing_biases", {e + 1}, &l.balancing_bias});
    t.push_back({p + "mlp.experts.gate_up_proj", {e, 2 * f, d}, &l.experts_gate_up});
    t.push_back({p + "mlp.experts.down_proj", {e, d, f}, &l.experts_down});
  }
  t.push_back({"model.norm.weight", {d}, &w.final_norm});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, d}, &w.lm_head});
  return t;
}

int64_t zaya_expert_bytes(const ModelConfig& c, DType dtype) {
  return 3 * int64_t(c.intermediate_size) * c.hidden_size * int64_t(dtype_size(dtype));
}

int64_t zaya_dense_bytes(const ModelWeights& w) {
  auto bytes = [](const WeightView& v) { return v.empty() ? 0 : v.rows * v.cols * int64_t(dtype_size(v.dtype)); };
  int64_t n = bytes(w.embed) + bytes(w.final_norm) + bytes(w.input_scale) + bytes(w.input_bias);
  if (w.lm_head.data != w.embed.data) n += bytes(w.lm_head);
  for (const LayerWeights& l : w.layers)
    for (const WeightView* v : {&l.attn_norm,
                                &l.q,
                                &l.k,
                                &l.v,
                                &l.v_delayed,
                                &l.conv1,
                                &l.conv1_bias,
                                &l.conv2,
                                &l.conv2_bias,
                                &l.temperature,
                                &l.o,
                                &l.attn_h_scale,
                                &l.attn_h_bias,
                                &l.attn_r_scale,
                                &l.attn_r_bias,
                                &l.mlp_norm,
                                &l.mlp_h_scale,
                                &l.mlp_h_bias,
                                &l.mlp_r_scale,
                                &l.mlp_r_bias,
                                &l.router_down,
                                &l.router_down_bias,
                                &l.router_state_scale,
                                &l.router_norm,
                                &l.router_fc1,
                                &l.router_fc1_bias,
                                &l.router_fc2,
                                &l.router_fc2_bias,
                                &l.router_out,
                                &l.balancing_bias})
      n += bytes(*v);
  return n;
}

namespace {

int64_t expert_parameters(const ModelConfig& c) { return 3 * int64_t(c.intermediate_size) * c.hidden_size; }

}  // namespace

int distinct_experts(const int32_t* routes, size_t count, int experts) {
  std::vector<bool> touched(size_t(experts), false);
  int n = 0;
  for (size_t i = 0; i < count; ++i)
    if (routes[i] < experts && !touched[size_t(routes[i])]) touched[size_t(routes[i])] = true, ++n;
  return n;
}

double uniform_experts_per_layer(const ModelConfig& cfg, int tokens) {
  const double e = cfg.num_experts;
  return e * (1.0 - std::pow(e / (e + 1.0), tokens));
}

MoePassEstimate zaya_pass_estimate(const ModelSummary& m, int tokens) {
  const ModelConfig& c = m.config;
  const double e = c.num_experts, per_layer = uniform_experts_per_layer(c, tokens);
  const double bytes_per_param = double(m.weight_bytes) / double(m.parameters);
  const double all_experts = double(c.num_layers) * e * double(expert_parameters(c));
  const double dense = double(m.parameters) - all_experts;
  return {tokens, per_layer, (dense + per_layer * c.num_layers * double(expert_parameters(c))) * bytes_per_param};
}

int64_t zaya_active_parameters(const ModelSummary& m) {
  const ModelConfig& c = m.config;
  return m.parameters - int64_t(c.num_layers) * (c.num_experts - 1) * expert_parameters(c);
}

}  // namespace dllm
