#include "engine/bench/kernel_parity.h"

#include <string>
#include <tuple>

#include "opcases/ops.h"

namespace dllm {

namespace {

using nlohmann::json;

// Where the backend's ops read and write: device memory for a GPU backend, host memory otherwise.
opcases::Place& place_of([[maybe_unused]] const Backend& be) {  // be: read in GPU builds only
#ifdef DLLM_HAVE_GPU
  if (be.device()) return opcases::gpu_place();
#endif
  return opcases::host_place();
}

// The backend's op on case c, on its place, against the op's references (opcases/case.h) under `rule`,
// as a report row.
template <typename Args>
json row(const Backend& be, const std::string& op_name, const opcases::Op<Args>& op, const opcases::Case<Args>& c,
         const std::function<void(const Args&)>& run, const opcases::Rule& rule = opcases::f32_reference(1e-6)) {
  const opcases::Verdict v = opcases::check(op, c, run, rule, place_of(be));
  return {{"op", op_name},        {"shape", c.name},          {"max_abs", v.max_abs},
          {"max_rel", v.max_rel}, {"tolerance", v.tolerance}, {"pass", v.pass}};
}

}  // namespace

json kernel_parity(Backend& be, const ModelConfig& cfg, const ModelWeights& stored) {
  // The weights as a host backend's ops read them (the CPU's tiled linear layers); a GPU backend's
  // device copies are not host memory, so it is given the stored ones.
  const ModelWeights w = be.device() ? stored : be.resident(stored);
  const LayerWeights& l = w.layers.front();
  json rows = json::array();
  for (int t : {1, 17, 68}) {
    const std::string ts = "T=" + std::to_string(t);
    for (const auto& [name, weight] :
         {std::tuple{"q_proj", l.q}, {"up_proj", l.up}, {"down_proj", l.down}, {"lm_head", w.lm_head}}) {
      if (std::string(name) == "lm_head" && t > 1) continue;  // the largest matrix: one token keeps big models quick
      if (weight.empty()) continue;                           // zaya has no dense MLP (its experts are elsewhere)
      const std::string shape = ts + " " + std::to_string(weight.rows) + "x" + std::to_string(weight.cols);
      rows.push_back(row<LinearArgs>(
          be, std::string("linear ") + name, opcases::linear_op(), opcases::linear_case(t, weight, shape),
          [&](const LinearArgs& a) { be.linear(a); },
          be.rounds_linear_inputs() ? opcases::bf16_inputs() : opcases::f32_reference(1e-6)));
    }
    rows.push_back(row<RmsnormArgs>(be, "rmsnorm", opcases::rmsnorm_op(),
                                    opcases::rmsnorm_case(t, l.attn_norm, float(cfg.rms_norm_eps)),
                                    [&](const RmsnormArgs& a) { be.rmsnorm(a); }));
    rows.push_back(row<SwigluArgs>(be, "swiglu", opcases::swiglu_op(), opcases::swiglu_case(t, cfg.intermediate_size),
                                   [&](const SwigluArgs& a) { be.swiglu(a); }));
    // T pass tokens after 64 cached ones, causal within the pass (a verify segment)
    rows.push_back(row<AttentionArgs>(
        be, "attention", opcases::attention_op(),
        opcases::attention_case(t, 64, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim),
        [&](const AttentionArgs& a) { be.attention(a); },
        be.rounds_attention_inputs() ? opcases::bf16_inputs() : opcases::f32_reference(1e-6)));
  }
  return rows;
}

}  // namespace dllm
