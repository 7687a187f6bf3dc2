#include "engine/model/transformer.h"

#include <algorithm>
#include <cmath>

#include "engine/core/check.h"
#include "engine/model/zaya.h"

namespace dllm {

namespace {

bool all_finite(const float* v, size_t n) {
  return std::all_of(v, v + n, [](float x) { return std::isfinite(x); });
}

}  // namespace

Transformer::Transformer(const ModelConfig& cfg, const ModelWeights& w, Backend& backend)
    : cfg_(cfg),
      be_(backend),
      w_(backend.resident(w)),
      ids_(backend.memory()), positions_(backend.memory()), seq_(backend.memory()), slot_(backend.memory()),
      vis_(backend.memory()), x_(backend.memory()), h_(backend.memory()), q_(backend.memory()),
      k_(backend.memory()), v_(backend.memory()), attn_(backend.memory()), o_(backend.memory()),
      gate_(backend.memory()), up_(backend.memory()), down_(backend.memory()), rows_(backend.memory()),
      logits_(backend.memory()), argmax_(backend.memory()), tokens_(backend.memory()),
      draws_(backend.memory()), divergence_(backend.memory()), prev1_(backend.memory()), prev2_(backend.memory()), qk0_(backend.memory()),
      c0p_(backend.memory()), c0pp_(backend.memory()), conv_(backend.memory()), vd_(backend.memory()),
      router_state_(backend.memory()), moe_weight_(backend.memory()), expert_(backend.memory()) {
  if (cfg_.arch == Arch::zaya) dense_bytes_ = zaya_dense_bytes(w_);
}

void Transformer::validate(const Pass& pass, const KvCache& cache) const {
  const int t = pass.size();
  DLLM_ASSERT(t > 0);
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    DLLM_CHECK(p.token >= 0 && p.token < cfg_.vocab_size, "token id ", p.token,
               " is outside the vocabulary [0, ", cfg_.vocab_size, ") of this model");
    DLLM_ASSERT(p.seq >= 0 && p.seq < cache.sequences());
    DLLM_CHECK(p.cache_slot < cache.capacity() && p.vis.cache_len <= cache.capacity(),
               "the sequence needs more than the ", cache.capacity(),
               " KV slots it has: shorten the prompt or lower --max-new-tokens");
    DLLM_ASSERT(p.vis.cache_len <= cache.length(p.seq));
    for (const Interval& iv : {p.vis.first, p.vis.second})
      DLLM_ASSERT(0 <= iv.begin && iv.begin <= iv.end && iv.end <= t);
    DLLM_ASSERT(p.prev == kAfterCache || (p.prev >= 0 && p.prev < i && pass.tokens[size_t(p.prev)].seq == p.seq));
    // zaya reads the recurrent state of slots L-2, L-1 from a ring that this pass's writes must not wrap onto.
    DLLM_CHECK(cfg_.arch != Arch::zaya || p.vis.cache_len == 0 || p.cache_slot < p.vis.cache_len + cache.ring() - 2,
               "a zaya pass may reach at most ", cache.ring() - 2,
               " positions past the committed length (CCA's recurrent state ring): use a block size of at most ",
               cache.ring() - 2);
  }
}

void Transformer::forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
                          std::vector<float>& logits) {
  const PassLogits& out = forward(pass, cache, rows);
  const size_t v = size_t(out.vocab());
  logits.resize(size_t(out.rows()) * v);
  for (int r = 0; r < out.rows(); ++r) std::copy(out.row(r), out.row(r) + v, logits.begin() + ptrdiff_t(size_t(r) * v));
}

const PassLogits& Transformer::forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
                                      const std::vector<RowDraw>& draws) {
  validate(pass, cache);
  DLLM_ASSERT(&cache.memory() == &be_.memory());  // the cache lives where the backend's ops read
  const int t = pass.size(), d = cfg_.hidden_size;
  ids_h_.resize(size_t(t)), positions_h_.resize(size_t(t)), seq_h_.resize(size_t(t)), slot_h_.resize(size_t(t));
  vis_h_.resize(size_t(t));
  int max_keys = 0;
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    ids_h_[size_t(i)] = p.token, positions_h_[size_t(i)] = p.position, seq_h_[size_t(i)] = p.seq;
    slot_h_[size_t(i)] = p.cache_slot, vis_h_[size_t(i)] = p.vis;
    const Visibility& v = p.vis;
    max_keys = std::max(max_keys, v.cache_len + (v.first.end - v.first.begin) + (v.second.end - v.second.begin));
  }
  ids_.assign(ids_h_.data(), size_t(t)), positions_.assign(positions_h_.data(), size_t(t));
  seq_.assign(seq_h_.data(), size_t(t)), slot_.assign(slot_h_.data(), size_t(t));
  vis_.assign(vis_h_.data(), size_t(t));

  x_.resize(size_t(t) * d);  // [T, D] residual stream
  be_.embedding(EmbeddingArgs{t, d, ids_.data(), w_.embed, x_.data()});
  if (cfg_.arch == Arch::zaya) {
    zaya_sources(pass, cache);
    expert_.resize(size_t(cfg_.num_layers) * size_t(t));
    h_.resize(x_.size());
    be_.memory().copy(h_.data(), x_.data(), x_.size() * sizeof(float));
    be_.residual_scale(ResidualScaleArgs{t, d, h_.data(), w_.input_scale, w_.input_bias, {}, {}, x_.data()});
  }
  // A cheap scan of the [T, D] stream per layer names the layer in the error below; only where the
  // stream is in host memory (on a GPU it would cost a download per layer).
  const bool scan_layers = &be_.memory() == &host_memory();
  int first_non_finite_layer = -1;
  for (int layer = 0; layer < cfg_.num_layers; ++layer) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    if (cfg_.arch == Arch::zaya) {
      zaya_attention_block(lw, layer, t, max_keys, cache);
      zaya_moe_block(lw, layer, t);
    } else {
      attention_block(lw, layer, t, max_keys, cache);
      mlp_block(lw, t);
    }
    if (scan_layers && first_non_finite_layer < 0 && !all_finite(x_.data(), x_.size())) first_non_finite_layer = layer;
  }
  if (cfg_.arch == Arch::zaya) count_moe_traffic(t);

  // Final norm and LM head, only for the requested rows.
  const int n_rows = rows.empty() ? t : int(rows.size());
  rows_.resize(size_t(n_rows) * d);  // [rows, D]
  Memory& mem = be_.memory();
  if (rows.empty()) {
    mem.copy(rows_.data(), x_.data(), size_t(t) * d * sizeof(float));
  } else {
    for (int r = 0; r < n_rows; ++r) {
      const int src = rows[size_t(r)];
      DLLM_ASSERT(src >= 0 && src < t);
      mem.copy(rows_.data() + int64_t(r) * d, x_.data() + int64_t(src) * d, size_t(d) * sizeof(float));
    }
  }
  be_.rmsnorm(RmsnormArgs{n_rows, d, cfg_.rms_norm_eps, rows_.data(), w_.final_norm, rows_.data()});
  Buffer<float>& logits = logits_.storage(n_rows, cfg_.vocab_size);  // [rows, V]
  be_.linear(LinearArgs{n_rows, d, cfg_.vocab_size, rows_.data(), w_.lm_head, WeightView{}, logits.data()});
  argmax_.resize(2 * size_t(n_rows));
  be_.argmax(ArgmaxArgs{n_rows, cfg_.vocab_size, logits.data(), argmax_.data(), argmax_.data() + n_rows});
  std::vector<int32_t> best(argmax_.size());
  argmax_.download(best.data(), best.size());
  const std::vector<int32_t> non_finite(best.begin() + n_rows, best.end());
  best.resize(size_t(n_rows));
  // A NaN/Inf logit would be sampled as some token and the run would look fine: never go on.
  DLLM_CHECK(std::all_of(non_finite.begin(), non_finite.end(), [](int32_t n) { return n == 0; }),
             "the forward pass produced non-finite logits (NaN/Inf); ",
             first_non_finite_layer >= 0
                 ? "the hidden state first turned non-finite after layer " + std::to_string(first_non_finite_layer) +
                       " of " + std::to_string(cfg_.num_layers)
                 : scan_layers ? std::string("the hidden states were finite, so the final norm or the LM head is at fault")
                               : std::string("rerun with --backend cpu to find the layer"),
             ": check the weights with --check-weights (NaN/Inf in the checkpoint) or use a wider dtype");
  // Tokens: the argmaxes, unless a row is sampled or mixed; the mixing's divergence where a row is mixed.
  std::vector<int32_t> token = best;
  std::vector<MixDivergence> divergence;
  const bool mixed = std::any_of(draws.begin(), draws.end(), [](const RowDraw& r) { return r.mix != nullptr; });
  if (mixed || std::any_of(draws.begin(), draws.end(), [](const RowDraw& r) { return r.temperature != 0.0f; })) {
    DLLM_ASSERT(draws.size() == size_t(n_rows));
    draws_.assign(draws.data(), draws.size());
    tokens_.resize(size_t(n_rows));
    be_.sample(SampleArgs{n_rows, cfg_.vocab_size, logits.data(), draws_.data(), tokens_.data()});
    tokens_.download(token.data(), token.size());
  }
  if (mixed) {
    divergence_.resize(size_t(n_rows));
    divergence.resize(size_t(n_rows));
    be_.sample_divergence(SampleDivergenceArgs{n_rows, cfg_.vocab_size, logits.data(), draws_.data(), divergence_.data()});
    divergence_.download(divergence.data(), divergence.size());
  }
  logits_.set_tokens(std::move(best), std::move(token), std::move(divergence));
  return logits_;
}

void Transformer::attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache) {
  const int d = cfg_.hidden_size, hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  const float eps = cfg_.rms_norm_eps;
  h_.resize(size_t(t) * d), q_.resize(size_t(t) * hq * dh), k_.resize(size_t(t) * hkv * dh);
  v_.resize(k_.size()), attn_.resize(q_.size()), o_.resize(size_t(t) * d);

  be_.rmsnorm(RmsnormArgs{t, d, eps, x_.data(), lw.attn_norm, h_.data()});  // [T, D]
  be_.linear(LinearArgs{t, d, hq * dh, h_.data(), lw.q, lw.q_bias, q_.data()});    // [T, Hq*Dh]
  be_.linear(LinearArgs{t, d, hkv * dh, h_.data(), lw.k, lw.k_bias, k_.data()});   // [T, Hkv*Dh]
  be_.linear(LinearArgs{t, d, hkv * dh, h_.data(), lw.v, lw.v_bias, v_.data()});   // [T, Hkv*Dh]
  if (cfg_.qk_norm) {
    be_.rmsnorm(RmsnormArgs{t * hq, dh, eps, q_.data(), lw.q_norm, q_.data()});
    be_.rmsnorm(RmsnormArgs{t * hkv, dh, eps, k_.data(), lw.k_norm, k_.data()});
  }
  rope_cache_attend(layer, t, max_keys, cache);
  be_.linear(LinearArgs{t, hq * dh, d, attn_.data(), lw.o, WeightView{}, o_.data()});  // [T, D]
  be_.add(AddArgs{int64_t(t) * d, o_.data(), x_.data()});
}

void Transformer::rope_cache_attend(int layer, int t, int max_keys, KvCache& cache) {
  const int hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  be_.rope(RopeArgs{t, hq, dh, cfg_.rotary_dim, cfg_.rope_theta, positions_.data(), q_.data()});
  be_.rope(RopeArgs{t, hkv, dh, cfg_.rotary_dim, cfg_.rope_theta, positions_.data(), k_.data()});
  be_.kv_write(KvWriteArgs{t, hkv, dh, k_.data(), v_.data(), seq_.data(), slot_.data(),
                           cache.k(layer), cache.v(layer), cache.seq_stride()});
  AttentionArgs aa;
  aa.tokens = t, aa.q_heads = hq, aa.kv_heads = hkv, aa.head_dim = dh;
  aa.scale = float(1.0 / std::sqrt(double(dh)));
  aa.q = q_.data(), aa.k_pass = k_.data(), aa.v_pass = v_.data(), aa.vis = vis_.data();
  aa.seq = seq_.data(), aa.k_cache = cache.k(layer), aa.v_cache = cache.v(layer);
  aa.seq_stride = cache.seq_stride(), aa.out = attn_.data(), aa.max_keys = max_keys;
  be_.attention(aa);  // [T, Hq*Dh]
}

void Transformer::mlp_block(const LayerWeights& lw, int t) {
  const int d = cfg_.hidden_size, f = cfg_.intermediate_size;
  gate_.resize(size_t(t) * f), up_.resize(size_t(t) * f), down_.resize(size_t(t) * d);
  be_.rmsnorm(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.mlp_norm, h_.data()});
  be_.linear(LinearArgs{t, d, f, h_.data(), lw.gate, WeightView{}, gate_.data()});  // [T, F]
  be_.linear(LinearArgs{t, d, f, h_.data(), lw.up, WeightView{}, up_.data()});      // [T, F]
  be_.swiglu(SwigluArgs{t, f, gate_.data(), up_.data(), gate_.data()});
  be_.linear(LinearArgs{t, f, d, gate_.data(), lw.down, WeightView{}, down_.data()});  // [T, D]
  be_.add(AddArgs{int64_t(t) * d, down_.data(), x_.data()});
}

}  // namespace dllm
