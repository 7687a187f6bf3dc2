#include "engine/model/transformer.h"

#include <algorithm>
#include <map>
#include <array>
#include <cmath>

#include "core/check.h"
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
      in_(backend.memory()),
      out_(backend.memory()),
      x_(backend.memory()),
      h_(backend.memory()),
      q_(backend.memory()),
      k_(backend.memory()),
      v_(backend.memory()),
      attn_(backend.memory()),
      o_(backend.memory()),
      gate_(backend.memory()),
      up_(backend.memory()),
      down_(backend.memory()),
      rows_(backend.memory()),
      logits_(backend.memory()),
      qk0_(backend.memory()),
      c0p_(backend.memory()),
      c0pp_(backend.memory()),
      conv_(backend.memory()),
      vd_(backend.memory()),
      router_state_(backend.memory()),
      moe_weight_(backend.memory()),
      attention_workspace_(backend.memory()),
      runner_(backend.pass_runner()) {
  if (cfg_.arch == Arch::zaya)
    dense_bytes_ = zaya_dense_bytes(w);  // as stored: a backend's copies (the CPU's tiles) are the same weights
}

void Transformer::validate(const Pass& pass, const KvCache& cache) const {
  const int t = pass.size();
  DLLM_ASSERT(t > 0);
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    DLLM_CHECK(p.token >= 0 && p.token < cfg_.vocab_size, "token id ", p.token, " is outside the vocabulary [0, ",
               cfg_.vocab_size, ") of this model");
    DLLM_ASSERT(p.seq >= 0 && p.seq < cache.sequences());
    DLLM_CHECK(p.cache_slot < cache.capacity() && p.vis.cache_len <= cache.capacity(),
               "the sequence needs more than the ", cache.capacity(),
               " KV slots it has: shorten the prompt or lower --max-new-tokens");
    DLLM_ASSERT(p.vis.cache_len <= cache.length(p.seq));
    for (const Interval& iv : {p.vis.first, p.vis.second})
      DLLM_ASSERT(0 <= iv.begin && iv.begin <= iv.end && iv.end <= t);
    DLLM_ASSERT(p.prev == kAfterCache || (p.prev >= 0 && p.prev < i && pass.tokens[size_t(p.prev)].seq == p.seq));
    // zaya reads the recurrent state of slots L-2, L-1 from a ring that this pass's writes must not wrap onto
    // (TidarOptions::validate refuses a block size that would).
    DLLM_ASSERT(cfg_.arch != Arch::zaya || p.vis.cache_len == 0 || p.cache_slot < p.vis.cache_len + cache.ring() - 2);
  }
  // Each (sequence, slot) receives at most one token's K/V per pass: two writers would race on a GPU
  // and leave whichever came last.
  std::vector<std::pair<int32_t, int32_t>> written;
  for (const PassToken& p : pass.tokens)
    if (p.cache_slot >= 0) written.emplace_back(p.seq, p.cache_slot);
  std::sort(written.begin(), written.end());
  DLLM_ASSERT(std::adjacent_find(written.begin(), written.end()) == written.end());
}

void Transformer::forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows, std::vector<float>& logits) {
  const PassLogits& out = forward(pass, cache, rows);
  const size_t v = size_t(out.vocab());
  logits.resize(size_t(out.rows()) * v);
  for (int r = 0; r < out.rows(); ++r) std::copy(out.row(r), out.row(r) + v, logits.begin() + ptrdiff_t(size_t(r) * v));
}

const PassLogits& Transformer::forward(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
                                       const std::vector<RowDraw>& draws) {
  validate(pass, cache);
  DLLM_ASSERT(&cache.memory() == &be_.memory());  // the cache lives where the backend's ops read
  PassShape s;
  s.tokens = pass.size(), s.rows = rows.empty() ? s.tokens : int(rows.size());
  for (const PassToken& p : pass.tokens) {
    const Visibility& v = p.vis;
    s.max_keys = std::max(s.max_keys, v.keys());
  }
  s.max_keys = (s.max_keys + kMaxKeysStep - 1) / kMaxKeysStep * kMaxKeysStep;
  s.mixed = std::any_of(draws.begin(), draws.end(), [](const RowDraw& r) { return r.mix != nullptr; });
  s.sampled =
      s.mixed || std::any_of(draws.begin(), draws.end(), [](const RowDraw& r) { return r.temperature != 0.0f; });
  DLLM_ASSERT(!s.sampled || draws.size() == size_t(s.rows));
  reserve_workspace(s);
  stage(pass, cache, rows, s.sampled ? draws : std::vector<RowDraw>{});
  // Everything the issued work bakes in: the sizes, which ops run, where its buffers are and the
  // cache's layout (the weights and the config are the Transformer's own).
  auto address = [](const void* p) { return int64_t(reinterpret_cast<uintptr_t>(p)); };
  std::vector<int64_t> key = {s.tokens,
                              s.rows,
                              s.max_keys,
                              s.sampled,
                              s.mixed,
                              workspace_generation_,
                              address(cache.k(0)),
                              address(cache.v(0)),
                              cache.seq_stride(),
                              int64_t(cache.dtype())};
  if (cfg_.arch == Arch::zaya)
    key.insert(key.end(), {address(cache.recurrent(0)), cache.recurrent_seq_stride(), cache.ring()});
  int first_non_finite_layer = -1;
  runner_->run(key, [&] { issue(s, cache, first_non_finite_layer); });
  out_.download();
  return collect(s, first_non_finite_layer);
}

void Transformer::stage(const Pass& pass, KvCache& cache, const std::vector<int>& rows,
                        const std::vector<RowDraw>& draws) {
  const int t = pass.size();
  int32_t *ids = in_.host<int32_t>(in_at_.ids), *positions = in_.host<int32_t>(in_at_.positions);
  int32_t *seq = in_.host<int32_t>(in_at_.seq), *slot = in_.host<int32_t>(in_at_.slot);
  Visibility* vis = in_.host<Visibility>(in_at_.vis);
  for (int i = 0; i < t; ++i) {
    const PassToken& p = pass.tokens[size_t(i)];
    ids[i] = p.token, positions[i] = p.position, seq[i] = p.seq, slot[i] = p.cache_slot, vis[i] = p.vis;
  }
  if (cfg_.rope_scaling.type == RopeScalingType::dynamic) {
    // transformers turns a call's tokens by the longest position it covers; here, per sequence.
    int32_t* lengths = in_.host<int32_t>(in_at_.rope_lengths);
    std::map<int32_t, int32_t> longest;
    for (const PassToken& p : pass.tokens) longest[p.seq] = std::max(longest[p.seq], p.position + 1);
    for (int i = 0; i < t; ++i) lengths[i] = longest[pass.tokens[size_t(i)].seq];
  }
  Visibility* sliding_vis = in_.host<Visibility>(in_at_.sliding_vis);
  if (cfg_.has_sliding_layers())
    for (int i = 0; i < t; ++i) sliding_vis[i] = sliding_window_visibility(pass.tokens, i, cfg_.sliding_window);
  int32_t* row_index = in_.host<int32_t>(in_at_.rows);
  for (int r = 0; r < (rows.empty() ? t : int(rows.size())); ++r) {
    row_index[r] = rows.empty() ? r : rows[size_t(r)];
    DLLM_ASSERT(row_index[r] >= 0 && row_index[r] < t);
  }
  std::copy(draws.begin(), draws.end(), in_.host<RowDraw>(in_at_.draws));
  if (cfg_.arch == Arch::zaya) zaya_sources(pass, cache);
  in_.upload();
}

void Transformer::reserve_workspace(const PassShape& s) {
  const size_t t = size_t(s.tokens), d = size_t(cfg_.hidden_size), rows = size_t(s.rows);
  const size_t q = t * size_t(cfg_.num_heads * cfg_.head_dim), kv = t * size_t(cfg_.num_kv_heads * cfg_.head_dim);
  const bool zaya = cfg_.arch == Arch::zaya;
  in_.clear();
  in_at_.ids = in_.add<int32_t>(t), in_at_.positions = in_.add<int32_t>(t);
  in_at_.seq = in_.add<int32_t>(t), in_at_.slot = in_.add<int32_t>(t), in_at_.vis = in_.add<Visibility>(t);
  in_at_.sliding_vis = in_.add<Visibility>(cfg_.has_sliding_layers() ? t : 0);
  in_at_.rope_lengths = in_.add<int32_t>(cfg_.rope_scaling.type == RopeScalingType::dynamic ? t : 0);
  in_at_.rows = in_.add<int32_t>(rows), in_at_.draws = in_.add<RowDraw>(s.sampled ? rows : 0);
  in_at_.prev1 = in_.add<RecurrentSource>(zaya ? t : 0), in_at_.prev2 = in_.add<RecurrentSource>(zaya ? t : 0);
  out_.clear();
  out_at_.argmax = out_.add<int32_t>(rows), out_at_.non_finite = out_.add<int32_t>(rows);
  out_at_.tokens = out_.add<int32_t>(s.sampled ? rows : 0);
  out_at_.divergence = out_.add<MixDivergence>(s.mixed ? rows : 0);
  out_at_.expert = out_.add<int32_t>(zaya ? size_t(cfg_.num_layers) * t : 0);
  bool moved = in_.reserve();
  moved |= out_.reserve();
  for (auto [buf, n] : {std::pair{&x_, t * d},
                        {&h_, t * d},
                        {&o_, t * d},
                        {&down_, t * d},
                        {&q_, q},
                        {&attn_, q},
                        {&k_, kv},
                        {&v_, kv},
                        {&gate_, t * size_t(cfg_.intermediate_size)},
                        {&rows_, rows * d}})
    moved |= buf->resize(n);
  if (!zaya) moved |= up_.resize(t * size_t(cfg_.intermediate_size));
  if (zaya) {
    const size_t ch = t * size_t(cfg_.cca_channels());
    for (auto [buf, n] : {std::pair{&qk0_, ch},
                          {&c0p_, ch},
                          {&c0pp_, ch},
                          {&conv_, ch},
                          {&vd_, t * size_t(cfg_.value_shift_width())},
                          {&router_state_, t * size_t(cfg_.router_hidden_size)},
                          {&moe_weight_, t}})
      moved |= buf->resize(n);
  }
  AttentionArgs shape;
  shape.tokens = s.tokens, shape.q_heads = cfg_.num_heads, shape.kv_heads = cfg_.num_kv_heads;
  shape.head_dim = cfg_.head_dim, shape.max_keys = s.max_keys;
  moved |= attention_workspace_.resize(be_.attention_workspace_floats(shape));
  float* logits = logits_.storage(s.rows, cfg_.vocab_size).data();  // [rows, V]
  if (moved || logits != logits_data_) ++workspace_generation_;
  logits_data_ = logits;
}

void Transformer::issue(const PassShape& s, KvCache& cache, int& first_non_finite_layer) {
  const int t = s.tokens, d = cfg_.hidden_size, n_rows = s.rows;
  be_.embedding(EmbeddingArgs{t, d, in_.device<int32_t>(in_at_.ids), w_.embed, x_.data()});  // [T, D] residual stream
  if (cfg_.arch == Arch::zaya) {
    be_.memory().copy(h_.data(), x_.data(), x_.size() * sizeof(float));
    be_.residual_scale(ResidualScaleArgs{t, d, h_.data(), w_.input_scale, w_.input_bias, {}, {}, x_.data()});
  }
  // A cheap scan of the [T, D] stream per layer names the layer in collect()'s error; only where the
  // stream is in host memory (on a GPU it would cost a download per layer).
  const bool scan_layers = scans_layers();
  for (int layer = 0; layer < cfg_.num_layers; ++layer) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    if (cfg_.arch == Arch::zaya) {
      zaya_attention_block(lw, layer, t, s.max_keys, cache);
      zaya_moe_block(lw, layer, t);
    } else {
      attention_block(lw, layer, t, s.max_keys, cache);
      mlp_block(lw, t);
    }
    if (scan_layers && first_non_finite_layer < 0 && !all_finite(x_.data(), x_.size())) first_non_finite_layer = layer;
  }

  // Final norm and LM head, only for the requested rows: gathered by the embedding op, whose table
  // is here the [T, D] stream itself (out[r] = x[row_index[r]]).
  be_.embedding(EmbeddingArgs{n_rows, d, in_.device<int32_t>(in_at_.rows), WeightView{DType::f32, x_.data(), t, d},
                              rows_.data()});
  be_.rmsnorm(RmsnormArgs{n_rows, d, cfg_.rms_norm_eps, rows_.data(), w_.final_norm, rows_.data()});
  float* logits = logits_data_;  // [rows, V]
  be_.linear(LinearArgs{n_rows, d, cfg_.vocab_size, rows_.data(), w_.lm_head, WeightView{}, logits});
  be_.argmax(ArgmaxArgs{n_rows, cfg_.vocab_size, logits, out_.device<int32_t>(out_at_.argmax),
                        out_.device<int32_t>(out_at_.non_finite)});
  const RowDraw* draws = in_.device<RowDraw>(in_at_.draws);
  if (s.sampled) be_.sample(SampleArgs{n_rows, cfg_.vocab_size, logits, draws, out_.device<int32_t>(out_at_.tokens)});
  if (s.mixed)
    be_.sample_divergence(
        SampleDivergenceArgs{n_rows, cfg_.vocab_size, logits, draws, out_.device<MixDivergence>(out_at_.divergence)});
}

const PassLogits& Transformer::collect(const PassShape& s, int first_non_finite_layer) {
  const int n_rows = s.rows;
  const int32_t* best = out_.host<int32_t>(out_at_.argmax);
  const int32_t* non_finite = out_.host<int32_t>(out_at_.non_finite);
  // A NaN/Inf logit would be sampled as some token and the run would look fine: never go on.
  DLLM_CHECK(std::all_of(non_finite, non_finite + n_rows, [](int32_t n) { return n == 0; }),
             "the forward pass produced non-finite logits (NaN/Inf); ",
             first_non_finite_layer >= 0
                 ? "the hidden state first turned non-finite after layer " + std::to_string(first_non_finite_layer) +
                       " of " + std::to_string(cfg_.num_layers)
             : scans_layers()
                 ? std::string("the hidden states were finite, so the final norm or the LM head is at fault")
                 : std::string("rerun with --backend cpu to find the layer"),
             ": check the weights with --check-weights (NaN/Inf in the checkpoint) or use a wider dtype");
  if (cfg_.arch == Arch::zaya) count_moe_traffic(s.tokens);
  // Tokens: the argmaxes, unless a row is sampled or mixed; the mixing's divergence where a row is mixed.
  const int32_t* token = s.sampled ? out_.host<int32_t>(out_at_.tokens) : best;
  const MixDivergence* divergence = out_.host<MixDivergence>(out_at_.divergence);
  logits_.set_tokens(
      std::vector<int32_t>(best, best + n_rows), std::vector<int32_t>(token, token + n_rows),
      s.mixed ? std::vector<MixDivergence>(divergence, divergence + n_rows) : std::vector<MixDivergence>{});
  return logits_;
}

void Transformer::attention_block(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache) {
  const int d = cfg_.hidden_size, hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  const float eps = cfg_.rms_norm_eps;
  // q/k/v on the normalised rows h_ [T, D] (scratch: a GPU normalises while it stages them)
  be_.norm_linears(RmsnormArgs{t, d, eps, x_.data(), lw.attn_norm, h_.data()},
                   std::array{LinearArgs{t, d, hq * dh, h_.data(), lw.q, lw.q_bias, q_.data()},     // [T, Hq*Dh]
                              LinearArgs{t, d, hkv * dh, h_.data(), lw.k, lw.k_bias, k_.data()},    // [T, Hkv*Dh]
                              LinearArgs{t, d, hkv * dh, h_.data(), lw.v, lw.v_bias, v_.data()}});  // [T, Hkv*Dh]
  rope_cache_attend(lw, layer, t, max_keys, cache);
  be_.linear_residual(LinearArgs{t, hq * dh, d, attn_.data(), lw.o, WeightView{}, o_.data()}, x_.data());  // [T, D]
}

void Transformer::rope_cache_attend(const LayerWeights& lw, int layer, int t, int max_keys, KvCache& cache) {
  const int hq = cfg_.num_heads, hkv = cfg_.num_kv_heads, dh = cfg_.head_dim;
  const float theta = cfg_.layer_rope_theta(layer);
  const RopeScaling scaling = cfg_.layer_rope_scaling(layer);
  const int32_t* positions = in_.device<int32_t>(in_at_.positions);
  const int32_t* lengths =
      scaling.type == RopeScalingType::dynamic ? in_.device<int32_t>(in_at_.rope_lengths) : nullptr;
  be_.rope_kv_write(RopeKvWriteArgs{
      RopeArgs{t, hq, dh, cfg_.rotary_dim, theta, positions, q_.data(), scaling, lengths},
      RopeArgs{t, hkv, dh, cfg_.rotary_dim, theta, positions, k_.data(), scaling, lengths},
      KvWriteArgs{t, hkv, dh, k_.data(), v_.data(), in_.device<int32_t>(in_at_.seq), in_.device<int32_t>(in_at_.slot),
                  cache.k(layer), cache.v(layer), cache.seq_stride(), cache.dtype()},
      lw.q_norm, lw.k_norm, cfg_.rms_norm_eps});  // the q/k norms: qwen3's, empty otherwise
  AttentionArgs aa;
  aa.tokens = t, aa.q_heads = hq, aa.kv_heads = hkv, aa.head_dim = dh;
  aa.scale = float(1.0 / std::sqrt(double(dh)));
  aa.q = q_.data(), aa.k_pass = k_.data(), aa.v_pass = v_.data(),
  aa.vis = in_.device<Visibility>(cfg_.is_sliding(layer) ? in_at_.sliding_vis : in_at_.vis);
  aa.seq = in_.device<int32_t>(in_at_.seq), aa.k_cache = cache.k(layer), aa.v_cache = cache.v(layer);
  aa.seq_stride = cache.seq_stride(), aa.kv_dtype = cache.dtype(), aa.out = attn_.data(), aa.max_keys = max_keys;
  aa.workspace = attention_workspace_.data();
  be_.attention(aa);  // [T, Hq*Dh]
}

void Transformer::mlp_block(const LayerWeights& lw, int t) {
  const int d = cfg_.hidden_size, f = cfg_.intermediate_size;
  // gate/up on the normalised rows h_ [T, D], down on silu(gate) * up [T, F] in gate_ (both scratch: a
  // GPU computes them while it stages them)
  be_.norm_linears(RmsnormArgs{t, d, cfg_.rms_norm_eps, x_.data(), lw.mlp_norm, h_.data()},
                   std::array{LinearArgs{t, d, f, h_.data(), lw.gate, WeightView{}, gate_.data()},  // [T, F]
                              LinearArgs{t, d, f, h_.data(), lw.up, WeightView{}, up_.data()}});    // [T, F]
  be_.swiglu_linear_residual(SwigluArgs{t, f, gate_.data(), up_.data(), gate_.data()},
                             LinearArgs{t, f, d, gate_.data(), lw.down, WeightView{}, down_.data()},  // [T, D]
                             x_.data());
}

}  // namespace dllm
