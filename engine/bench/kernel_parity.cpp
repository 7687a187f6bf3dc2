#include "engine/bench/kernel_parity.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ref/ref.h"

namespace dllm {

namespace {

using nlohmann::json;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

// max |a - b| and max |a - b| / max(1, max |b|)
std::pair<double, double> error(const std::vector<float>& a, const std::vector<float>& b) {
  double abs = 0, scale = 1;
  for (size_t i = 0; i < a.size(); ++i) {
    abs = std::max(abs, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return {abs, abs / scale};
}

// Runs `run(out)` three ways — backend, f32 reference, f64 reference — and scores the backend.
json row(const std::string& op, const std::string& shape, size_t n,
         const std::function<void(std::vector<float>&, int)>& run) {
  std::vector<float> got(n), ref32(n), ref64(n);
  run(got, 0), run(ref32, 1), run(ref64, 2);
  const auto [abs, rel] = error(got, ref64);
  const double tol = std::max(2 * error(ref32, ref64).second, 1e-6);
  return {{"op", op}, {"shape", shape}, {"max_abs", abs}, {"max_rel", rel}, {"tolerance", tol}, {"pass", rel <= tol}};
}

}  // namespace

json kernel_parity(Backend& be, const ModelConfig& cfg, const ModelWeights& w) {
  const LayerWeights& l = w.layers.front();
  const int d = cfg.hidden_size, f = cfg.intermediate_size, hq = cfg.num_heads, hkv = cfg.num_kv_heads, dh = cfg.head_dim;
  json rows = json::array();
  for (int t : {1, 17, 68}) {
    const std::string ts = "T=" + std::to_string(t);
    const std::vector<float> x = random_vector(size_t(t) * d, 1), xf = random_vector(size_t(t) * f, 2);
    for (const auto& [name, weight, in] : {std::tuple{"q_proj", l.q, &x}, std::tuple{"up_proj", l.up, &x},
                                           std::tuple{"down_proj", l.down, &xf}, std::tuple{"lm_head", w.lm_head, &x}}) {
      if (std::string(name) == "lm_head" && t > 1) continue;  // the largest matrix: one token keeps big models quick
      if (weight.empty()) continue;  // zaya has no dense MLP (its experts are elsewhere)
      const WeightView wv = weight;
      const std::vector<float>* input = in;
      rows.push_back(row(std::string("linear ") + name, ts + " " + std::to_string(wv.rows) + "x" + std::to_string(wv.cols),
                         size_t(t) * size_t(wv.rows), [&](std::vector<float>& out, int mode) {
                           const LinearArgs a{t, int(wv.cols), int(wv.rows), input->data(), wv, {}, out.data()};
                           mode == 0 ? be.linear(a) : mode == 1 ? ref::linear<float>(a) : ref::linear<double>(a);
                         }));
    }
    rows.push_back(row("rmsnorm", ts + " D=" + std::to_string(d), x.size(), [&](std::vector<float>& out, int mode) {
      const RmsnormArgs a{t, d, float(cfg.rms_norm_eps), x.data(), l.attn_norm, out.data()};
      mode == 0 ? be.rmsnorm(a) : mode == 1 ? ref::rmsnorm<float>(a) : ref::rmsnorm<double>(a);
    }));
    rows.push_back(row("swiglu", ts + " F=" + std::to_string(f), xf.size(), [&](std::vector<float>& out, int mode) {
      const std::vector<float> up = random_vector(xf.size(), 3);
      const SwigluArgs a{t, f, xf.data(), up.data(), out.data()};
      mode == 0 ? be.swiglu(a) : ref::swiglu(a);
    }));
    // Attention: T pass tokens after 64 cached ones, causal within the pass (a verify segment).
    const int cache = 64;
    const std::vector<float> q = random_vector(size_t(t) * hq * dh, 4), k = random_vector(size_t(t) * hkv * dh, 5),
                             v = random_vector(size_t(t) * hkv * dh, 6), kc = random_vector(size_t(cache) * hkv * dh, 7),
                             vc = random_vector(size_t(cache) * hkv * dh, 8);
    std::vector<Visibility> vis(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) vis[size_t(i)] = Visibility{cache, {0, i + 1}, {}};
    const std::vector<int32_t> seq(static_cast<size_t>(t), 0);
    rows.push_back(row("attention", ts + " cache=64 Hq=" + std::to_string(hq) + " Hkv=" + std::to_string(hkv) +
                                        " Dh=" + std::to_string(dh),
                       q.size(), [&](std::vector<float>& out, int mode) {
                         const AttentionArgs a{t, hq, hkv, dh, 1.0f / std::sqrt(float(dh)), q.data(), k.data(), v.data(),
                                               vis.data(), seq.data(), kc.data(), vc.data(), int64_t(cache) * hkv * dh,
                                               out.data()};
                         mode == 0 ? be.attention(a) : mode == 1 ? ref::attention<float>(a) : ref::attention<double>(a);
                       }));
  }
  return rows;
}

}  // namespace dllm
