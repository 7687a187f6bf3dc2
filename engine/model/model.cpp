#include "engine/model/model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "core/check.h"
#include "engine/model/config.h"
#include "engine/model/quantized.h"
#include "engine/model/zaya.h"
#include "engine/model/zaya_legacy_tensors.h"
#include "kernels/cpu/threads.h"

namespace dllm {

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c, ModelWeights& w) {
  if (c.arch == Arch::zaya) return zaya_expected_tensors(c, w);
  const int64_t d = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim, kv = int64_t(c.num_kv_heads) * c.head_dim,
                f = c.intermediate_size;
  std::vector<ExpectedTensor> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, d}, &w.embed});
  w.layers.assign(size_t(c.num_layers), LayerWeights{});
  for (int i = 0; i < c.num_layers; ++i) {
    LayerWeights& l = w.layers[size_t(i)];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", {d}, &l.attn_norm});
    t.push_back({p + "self_attn.q_proj.weight", {q, d}, &l.q});
    t.push_back({p + "self_attn.k_proj.weight", {kv, d}, &l.k});
    t.push_back({p + "self_attn.v_proj.weight", {kv, d}, &l.v});
    if (c.attention_bias) {
      t.push_back({p + "self_attn.q_proj.bias", {q}, &l.q_bias});
      t.push_back({p + "self_attn.k_proj.bias", {kv}, &l.k_bias});
      t.push_back({p + "self_attn.v_proj.bias", {kv}, &l.v_bias});
    }
    t.push_back({p + "self_attn.o_proj.weight", {d, q}, &l.o});
    if (c.qk_norm) {
      t.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, &l.q_norm});
      t.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, &l.k_norm});
    }
    t.push_back({p + "post_attention_layernorm.weight", {d}, &l.mlp_norm});
    t.push_back({p + "mlp.gate_proj.weight", {f, d}, &l.gate});
    t.push_back({p + "mlp.up_proj.weight", {f, d}, &l.up});
    t.push_back({p + "mlp.down_proj.weight", {d, f}, &l.down});
  }
  t.push_back({"model.norm.weight", {d}, &w.final_norm});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, d}, &w.lm_head});
  return t;
}

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

WeightView view_of(const TensorInfo& t) {
  WeightView v;
  v.dtype = t.dtype;
  v.data = t.data;
  // [d0, ..., dn] is viewed as rows d0 * ... * d(n-1) of dn columns.
  v.cols = t.shape.empty() ? 1 : t.shape.back();
  v.rows = t.shape.size() >= 2 ? t.numel() / v.cols : 1;
  return v;
}

// splitmix64: a tiny, seedable generator; each tensor gets its own stream from (seed, name). It is a
// counter: the generator `skip(k)` steps further draws what k next() calls later would, so chunks of a
// tensor are filled in parallel with the same values.
struct SplitMix {
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;
  uint64_t s;
  SplitMix skip(uint64_t k) const { return SplitMix{s + k * kGamma}; }
  uint64_t next() {
    uint64_t z = (s += kGamma);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform_pm1() { return float(int64_t(next() >> 11) - (int64_t(1) << 52)) / float(int64_t(1) << 52); }
};

// Stored tensors a model may carry beyond what it reads, as transformers ignores them too: lm_head
// when the embedding is tied (the embedding is the head), and the rotary inverse-frequency buffers of
// older checkpoints (the engine forms them from config.json).
bool ignorable_extra(const std::string& name, const ModelConfig& c) {
  return name.ends_with("rotary_emb.inv_freq") || (c.tie_word_embeddings && name == "lm_head.weight");
}

// Every stored tensor must be one the model reads: a head or layer the engine does not implement
// (a diffusion head, an MTP module) would otherwise vanish without a word and the logits would not be
// the checkpoint's model.
// `used`: the stored names of the tensors read.
void check_every_tensor_used(const Checkpoint& ck, const std::set<std::string>& used, const ModelConfig& c) {
  std::vector<std::string> unknown;
  for (const std::string& name : ck.names())
    if (!used.count(name) && !ignorable_extra(name, c)) unknown.push_back(name);
  if (unknown.empty()) return;
  std::string listed;
  for (size_t i = 0; i < unknown.size() && i < 5; ++i) listed += (i ? ", " : "") + unknown[i];
  if (unknown.size() > 5) listed += ", ...";
  fail(ck.path(), ": ", unknown.size(), " tensor(s) are not part of the ", c.model_type,
       " model its config.json describes, so dllm-bench would ignore them: ", listed,
       ". If the checkpoint has modules the engine does not implement, its logits would not be this model's; "
       "if they are truly unused, write the checkpoint without them");
}

}  // namespace

void Model::bind(const std::function<const TensorInfo*(const std::string&)>& find, const std::string& where) {
  for (const ExpectedTensor& e : expected_tensors(config_, weights_)) {
    const TensorInfo* t = find(e.name);
    DLLM_CHECK(t != nullptr, where, ": tensor ", e.name, " is missing (the config describes a ", config_.model_type,
               " model with ", config_.num_layers, " layers): the checkpoint does not match its config.json");
    DLLM_CHECK(t->raw == RawType::none, t->file, ": tensor ", e.name, " is stored as ",
               t->raw == RawType::u8 ? "U8" : "F8_E4M3",
               ", which dllm-bench reads only as part of a quantized weight (FP8 with X.weight_scale_inv, MXFP4 as "
               "X_blocks and X_scales): convert it to bf16/f16/f32");
    DLLM_CHECK(t->shape == e.shape, where, ": tensor ", e.name, " has shape ", shape_str(t->shape),
               " but the config needs ", shape_str(e.shape), ": the checkpoint does not match its config.json");
    *e.view = view_of(*t);
    tensors_.push_back(*t);
  }
  if (config_.tie_word_embeddings) weights_.lm_head = weights_.embed;
}

std::unique_ptr<Model> Model::from_checkpoint(const std::string& dir) {
  std::unique_ptr<Model> m(new Model());
  m->source_ = dir;
  m->config_ = load_config((std::filesystem::path(dir) / "config.json").string());
  m->checkpoint_ = std::make_unique<Checkpoint>(Checkpoint::open(dir));
  const Checkpoint& ck = *m->checkpoint_;
  std::set<std::string> used;  // every stored tensor read
  const std::map<std::string, TensorInfo> dequantized = m->dequantize_weights(dir, used);
  const FindTensor stored = [&](const std::string& name) {
    const auto it = dequantized.find(name);
    return it != dequantized.end() ? &it->second : ck.find(name);
  };
  if (m->config_.arch == Arch::zaya && is_zaya_legacy_checkpoint(stored)) {
    ZayaLegacyTensors legacy(m->config_, stored, m->owned_, dir);
    m->bind([&](const std::string& name) { return legacy.find(name); }, dir);
    used.insert(legacy.read().begin(), legacy.read().end());
  } else {
    m->bind(stored, dir);
    for (const TensorInfo& t : m->tensors_) used.insert(t.name);
  }
  check_every_tensor_used(ck, used, m->config_);
  return m;
}

std::map<std::string, TensorInfo> Model::dequantize_weights(const std::string& dir, std::set<std::string>& from) {
  std::map<std::string, TensorInfo> out;
  const Checkpoint& ck = *checkpoint_;
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  std::optional<Quantization> quantization;
  bool read = false;
  // The config's quantization, which the tensor `name` (of a `format` weight) needs.
  const auto needed = [&](const TensorInfo& t, Quantization::Method method, const char* format) {
    if (!read) quantization = read_quantization(config_path), read = true;
    DLLM_CHECK(quantization && quantization->method == method, t.file, ": tensor ", t.name, " is part of a ", format,
               " weight but ", config_path, " has no quantization_config with \"quant_method\": \"",
               method == Quantization::Method::fp8 ? "fp8" : "mxfp4", "\"");
    return *quantization;
  };
  // A bf16 weight `name` [shape] held in owned_, its bits written by fill(bits).
  const auto keep = [&](const TensorInfo& like, const std::string& name, std::vector<int64_t> shape,
                        const std::function<void(uint16_t*)>& fill) {
    TensorInfo t = like;
    t.name = name, t.shape = std::move(shape), t.raw = RawType::none, t.dtype = DType::bf16;
    std::vector<uint8_t>& bytes = owned_.emplace_back(size_t(t.numel()) * sizeof(uint16_t));
    fill(reinterpret_cast<uint16_t*>(bytes.data()));
    t.data = bytes.data(), t.nbytes = bytes.size();
    out[name] = t;
  };
  const std::string blocks_suffix = mxfp4_blocks_name("");
  for (const std::string& name : ck.names()) {
    const TensorInfo& t = ck.get(name);
    if (t.raw == RawType::f8_e4m3) {
      const Quantization& q = needed(t, Quantization::Method::fp8, "FP8");
      const TensorInfo* scale = ck.find(fp8_scale_name(name));
      DLLM_CHECK(scale, t.file, ": FP8 tensor ", name, " has no scale tensor ", fp8_scale_name(name));
      keep(t, name, t.shape, [&](uint16_t* bits) { dequantize_fp8(t, *scale, q, bits); });
      from.insert(scale->name);
    } else if (t.raw == RawType::u8 && name.size() > blocks_suffix.size() && name.ends_with(blocks_suffix)) {
      needed(t, Quantization::Method::mxfp4, "MXFP4");
      const std::string weight = name.substr(0, name.size() - blocks_suffix.size());
      const TensorInfo* scales = ck.find(mxfp4_scales_name(weight));
      DLLM_CHECK(scales, t.file, ": MXFP4 tensor ", name, " has no scale tensor ", mxfp4_scales_name(weight));
      keep(t, weight, mxfp4_shape(t), [&](uint16_t* bits) { dequantize_mxfp4(t, *scales, bits); });
      from.insert(name), from.insert(scales->name);
    }
  }
  return out;
}

std::unique_ptr<Model> Model::random(const ModelConfig& cfg, DType dtype, uint64_t seed, const std::string& name) {
  std::unique_ptr<Model> m(new Model());
  m->source_ = name;
  m->config_ = cfg;
  ModelWeights scratch;
  std::map<std::string, TensorInfo> made;
  for (const ExpectedTensor& e : expected_tensors(cfg, scratch)) {
    TensorInfo t;
    t.name = e.name;
    t.dtype = dtype;
    t.shape = e.shape;
    t.file = name;
    const int64_t n = t.numel();
    t.nbytes = size_t(n) * dtype_size(dtype);
    m->owned_.emplace_back(t.nbytes);
    std::vector<uint8_t>& buf = m->owned_.back();
    t.data = buf.data();
    const SplitMix rng{seed ^ std::hash<std::string>{}(e.name)};
    auto has = [&](const char* s) { return e.name.find(s) != std::string::npos; };
    const std::string leaf = e.name.substr(e.name.rfind('.') + 1);
    // Norm weights and zaya's learned scales and temperatures sit around 1.
    const bool around_one = e.shape.size() == 1 && ((has("norm") && leaf == "weight") ||
                                                    leaf.find("scale") != std::string::npos || leaf == "temp");
    // std 1/sqrt(fan-in) (the width for the embedding) keeps logits O(1) after the final norm, tied
    // or not: varied distributions, rarely near-ties. A convolution's fan-in is all but its first
    // dim; zaya's balancing biases are small, as they only nudge the choice of expert.
    const int64_t fan_in = has("conv") && e.shape.size() == 3 ? n / e.shape[0] : e.shape.back();
    const float half_width = has("balancing") ? 0.05f : std::sqrt(3.0f / float(fan_in));
    // Every kernel thread fills a chunk (an 8B preset is 8G draws): element i is draw i + 1 of rng.
    cpu::parallel_for(n, 1 << 16, [&](int64_t begin, int64_t end) {
      SplitMix chunk = rng.skip(uint64_t(begin));
      for (int64_t i = begin; i < end; ++i) {
        const float u = chunk.uniform_pm1();
        const float v = around_one ? 1.0f + 0.2f * u : half_width * u;
        if (dtype == DType::f32)
          reinterpret_cast<float*>(buf.data())[i] = v;
        else if (dtype == DType::bf16)
          reinterpret_cast<uint16_t*>(buf.data())[i] = f32_to_bf16(v);
        else
          reinterpret_cast<uint16_t*>(buf.data())[i] = f32_to_f16(v);
      }
    });
    made[e.name] = t;
  }
  m->bind([&](const std::string& n) { return &made.at(n); }, name);
  return m;
}

namespace {

const std::string kPresetPrefix = "preset:";
// Presets of real models store bf16 like their checkpoints; tiny test presets store f32.
DType preset_dtype(const ModelConfig& cfg) { return cfg.hidden_size >= 1024 ? DType::bf16 : DType::f32; }

}  // namespace

bool is_preset(const std::string& spec) { return spec.rfind(kPresetPrefix, 0) == 0; }

namespace {

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void check_model_directory(const std::string& spec) {
  DLLM_CHECK(std::filesystem::is_directory(spec), spec,
             ": not a model directory (expected a folder with config.json and model.safetensors, "
             "or preset:NAME)");
}

// A checkpoint's size as Model::load would hold it, from config.json and the tensor headers alone:
// every stored tensor the model reads counts once (a legacy zaya layout is renamed and stacked, not
// resized), a quantized weight as the bf16 weight it dequantizes to, and its scales not at all.
// Nothing is dequantized or copied; a tensor the load would reject is found by the load.
ModelSummary describe_checkpoint(const std::string& dir) {
  check_model_directory(dir);
  ModelSummary s;
  s.source = dir;
  s.config = load_config((std::filesystem::path(dir) / "config.json").string());
  const Checkpoint ck = Checkpoint::open(dir);
  const std::string scale_suffix = fp8_scale_name(""), blocks_suffix = mxfp4_blocks_name("");
  const auto count = [&](const std::vector<int64_t>& shape, size_t element_bytes) {
    const int64_t n = elements(shape);
    s.parameters += n, s.weight_bytes += n * int64_t(element_bytes);
  };
  for (const std::string& name : ck.names()) {
    const TensorInfo& t = ck.get(name);
    const TensorInfo* scaled =
        name.ends_with(scale_suffix) ? ck.find(name.substr(0, name.size() - scale_suffix.size())) : nullptr;
    if (ignorable_extra(name, s.config) || (scaled && scaled->raw == RawType::f8_e4m3)) continue;
    if (t.raw == RawType::none)
      count(t.shape, dtype_size(t.dtype));
    else if (t.raw == RawType::f8_e4m3)
      count(t.shape, sizeof(uint16_t));
    else if (name.ends_with(blocks_suffix))  // MXFP4 blocks; the U8 scales count nothing
      count(mxfp4_shape(t), sizeof(uint16_t));
  }
  return s;
}

}  // namespace

ModelSummary describe_model(const std::string& spec) {
  if (!is_preset(spec)) return describe_checkpoint(spec);
  ModelSummary s;
  s.source = spec;
  s.config = preset_config(spec.substr(kPresetPrefix.size()));
  ModelWeights scratch;
  for (const ExpectedTensor& e : expected_tensors(s.config, scratch)) s.parameters += elements(e.shape);
  s.weight_bytes = s.parameters * int64_t(dtype_size(preset_dtype(s.config)));
  return s;
}

std::unique_ptr<Model> Model::load(const std::string& spec, uint64_t preset_seed, std::optional<DType> dtype) {
  if (is_preset(spec)) {
    const ModelConfig cfg = preset_config(spec.substr(kPresetPrefix.size()));
    return random(cfg, dtype.value_or(preset_dtype(cfg)), preset_seed, spec);
  }
  DLLM_CHECK(!dtype, spec, ": a checkpoint folder loads as stored; a dtype applies to a preset (preset:NAME)");
  check_model_directory(spec);
  return from_checkpoint(spec);
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const TensorInfo& t : tensors_) n += t.numel();
  return n;
}

int64_t Model::weight_bytes() const {
  int64_t n = 0;
  for (const TensorInfo& t : tensors_) n += int64_t(t.nbytes);
  return n;
}

void Model::check_finite() const {
  for (const TensorInfo& t : tensors_) {
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i) {
      const float v = load_as_f32(t.dtype, t.data, size_t(i));
      DLLM_CHECK(std::isfinite(v), t.file, ": tensor ", t.name, " holds ", v, " at element ", i, " of ", n,
                 ": the weights are corrupt (a diverged training run or a bad conversion): re-export the checkpoint");
    }
  }
}

void Model::save(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  std::vector<TensorToWrite> out;
  for (const TensorInfo& t : tensors_) out.push_back({t.name, t.dtype, t.shape, t.data});
  write_safetensors((std::filesystem::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp);
    os << config_to_json(config_).dump(2) << "\n";
    DLLM_CHECK(os.good(), tmp, ": cannot write the config (is the folder writable?)");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace dllm
