// Quantized weights (engine/model/quantized.h): every E4M3 code against a decoder that builds the f32
// bits directly, every E2M1 code against the format's table, and checkpoints whose MLP weights are
// FP8 or MXFP4 load as the same model as one holding the weights this test dequantized itself (to
// bf16), logits equal bit for bit. Bad checkpoints name the tensor or the config and what is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/dtype.h"
#include "engine/model/quantized.h"
#include "engine/model/model.h"
#include "engine/model/safetensors.h"
#include "tests/testing.h"

namespace dllm {
namespace {

using nlohmann::json;

// E4M3 by its bit fields placed in an f32: normals (exponent e: 2^(e - 7)), subnormals m * 2^-9.
float reference_e4m3(uint8_t code) {
  const uint32_t sign = uint32_t(code & 0x80) << 24, e = (code >> 3) & 0xf, m = code & 0x7;
  if (e == 0xf && m == 0x7) return NAN;
  float magnitude;
  if (e == 0) {
    magnitude = float(m) / 512.0f;
  } else {
    const uint32_t bits = ((e - 7 + 127) << 23) | (m << 20);
    std::memcpy(&magnitude, &bits, 4);
  }
  uint32_t out;
  std::memcpy(&out, &magnitude, 4);
  out |= sign;
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

TEST(Quantized, EveryE4m3CodeDecodes) {
  for (int code = 0; code < 256; ++code) {
    const float want = reference_e4m3(uint8_t(code)), got = e4m3_to_f32(uint8_t(code));
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got)) << code;
    else
      EXPECT_EQ(got, want) << code;
  }
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0xbc), -1.5f);
  EXPECT_EQ(e4m3_to_f32(0x01), 1.0f / 512);
}

TEST(Quantized, EveryE2m1CodeDecodes) {
  const float table[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (int code = 0; code < 16; ++code) EXPECT_EQ(e2m1_to_f32(uint8_t(code)), (code & 8 ? -1 : 1) * table[code & 7]);
}

// A raw safetensors file: tensors {name, dtype name, shape, bytes} in the order given (callers put
// 4-byte types first, so that every tensor is aligned).
struct Raw {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

void write_raw(const std::string& path, const std::vector<Raw>& tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const Raw& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text;
  for (const Raw& t : tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// The code whose value is nearest to x (any of equals).
uint8_t nearest_code(float x) {
  uint8_t best = 0;
  for (int c = 0; c < 256; ++c)
    if (!std::isnan(reference_e4m3(uint8_t(c))) &&
        std::fabs(reference_e4m3(uint8_t(c)) - x) < std::fabs(reference_e4m3(best) - x))
      best = uint8_t(c);
  return best;
}

constexpr int64_t kBlockRows = 16, kBlockCols = 48;  // FP8 blocks that do not divide the 64 x 128 weights

// The FP8 form of w [rows, cols] (its codes, then its scales) into `quantized`, and the weights it
// stands for, dequantized here, returned as bf16 bits.
std::vector<uint16_t> quantize_fp8(const std::string& name, const std::vector<float>& w, int64_t rows, int64_t cols,
                                   std::vector<Raw>& scales, std::vector<Raw>& codes_out) {
  const int64_t br = (rows + kBlockRows - 1) / kBlockRows, bc = (cols + kBlockCols - 1) / kBlockCols;
  std::vector<float> scale(size_t(br * bc), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float& s = scale[size_t(r / kBlockRows * bc + c / kBlockCols)];
      s = std::max(s, std::fabs(w[size_t(r * cols + c)]) / 448.0f);
    }
  std::vector<uint8_t> codes(w.size());
  std::vector<uint16_t> dequantized(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = size_t(r * cols + c);
      const float s = scale[size_t(r / kBlockRows * bc + c / kBlockCols)];
      codes[i] = nearest_code(w[i] / s);
      dequantized[i] = f32_to_bf16(reference_e4m3(codes[i]) * s);
    }
  codes_out.push_back({name, "F8_E4M3", {rows, cols}, codes});
  scales.push_back({fp8_scale_name(name), "F32", {br, bc}, bytes_of(scale)});
  return dequantized;
}

// The MXFP4 form of w [rows, cols] (blocks of 32 along a row: its X_blocks, X_scales) and the
// weights it stands for, as bf16 bits.
std::vector<uint16_t> quantize_mxfp4(const std::string& name, const std::vector<float>& w, int64_t rows, int64_t cols,
                                     std::vector<Raw>& scales, std::vector<Raw>& blocks) {
  const float table[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const int64_t groups = cols / 32;
  std::vector<uint8_t> packed(size_t(rows * groups * 16)), exponents(size_t(rows * groups));
  std::vector<uint16_t> dequantized(w.size());
  for (int64_t g = 0; g < rows * groups; ++g) {
    const float* x = &w[size_t(g * 32)];
    float largest = 0;
    for (int i = 0; i < 32; ++i) largest = std::max(largest, std::fabs(x[i]));
    const int e = largest > 0 ? int(std::ceil(std::log2(largest / 6.0f))) : 0;  // |x| / 2^e <= 6
    exponents[size_t(g)] = uint8_t(e + 127);
    for (int i = 0; i < 32; ++i) {
      int best = 0;
      for (int c = 1; c < 8; ++c)
        if (std::fabs(table[c] - std::fabs(x[i]) / std::ldexp(1.0f, e)) <
            std::fabs(table[best] - std::fabs(x[i]) / std::ldexp(1.0f, e)))
          best = c;
      const int code = best | (x[i] < 0 ? 8 : 0);
      packed[size_t(g * 16 + i / 2)] |= uint8_t(i % 2 ? code << 4 : code);
      dequantized[size_t(g * 32 + i)] = f32_to_bf16((code & 8 ? -1 : 1) * table[best] * std::ldexp(1.0f, e));
    }
  }
  blocks.push_back({mxfp4_blocks_name(name), "U8", {rows, groups, 16}, packed});
  scales.push_back({mxfp4_scales_name(name), "U8", {rows, groups}, exponents});
  return dequantized;
}

enum class Format { fp8, mxfp4 };

// Folders "quantized" (the MLP weights of the exported tiny-llama in `format`) and "bf16" (the same
// weights dequantized here), with `edit` applied to the quantized folder's config and tensors.
std::string write_pair(const std::string& root, Format format,
                       const std::function<void(json&, std::vector<Raw>&)>& edit = {}) {
  std::filesystem::create_directories(root);
  std::string log;
  EXPECT_EQ(testutil::run_cli("export --model preset:tiny-llama --weights-seed 3 --out " + root + "/src", &log), 0)
      << log;
  const Checkpoint ck = Checkpoint::open(root + "/src");
  std::vector<Raw> parts, scales, bf16, rest;
  for (const std::string& name : ck.names()) {
    const TensorInfo& t = ck.get(name);
    EXPECT_EQ(t.dtype, DType::f32) << name;
    std::vector<float> w(size_t(t.numel()));
    std::memcpy(w.data(), t.data, t.nbytes);
    if (name.find(".mlp.") == std::string::npos) {
      rest.push_back({name, "F32", t.shape, bytes_of(w)});
      continue;
    }
    const int64_t rows = t.shape[0], cols = t.shape[1];
    const std::vector<uint16_t> dequantized = format == Format::fp8
                                                  ? quantize_fp8(name, w, rows, cols, scales, parts)
                                                  : quantize_mxfp4(name, w, rows, cols, scales, parts);
    bf16.push_back({name, "BF16", t.shape, bytes_of(dequantized)});
  }
  json cfg = json::parse(std::ifstream(root + "/src/config.json"));
  std::filesystem::create_directories(root + "/bf16");
  std::ofstream(root + "/bf16/config.json") << cfg.dump();
  std::vector<Raw> plain = rest;
  plain.insert(plain.end(), bf16.begin(), bf16.end());
  write_raw(root + "/bf16/model.safetensors", plain);
  cfg["quantization_config"] = format == Format::fp8 ? json{{"quant_method", "fp8"},
                                                            {"fmt", "e4m3"},
                                                            {"activation_scheme", "dynamic"},
                                                            {"weight_block_size", {kBlockRows, kBlockCols}}}
                                                     : json{{"quant_method", "mxfp4"}};
  std::vector<Raw> quantized = rest;
  quantized.insert(quantized.end(), scales.begin(), scales.end());
  quantized.insert(quantized.end(), parts.begin(), parts.end());
  if (edit) edit(cfg, quantized);
  std::filesystem::create_directories(root + "/quantized");
  std::ofstream(root + "/quantized/config.json") << cfg.dump();
  write_raw(root + "/quantized/model.safetensors", quantized);
  return root + "/quantized";
}

// The quantized folder's logits equal the bf16 folder's, bit for bit.
void expect_same_model(const std::string& root) {
  const auto model = Model::load(root + "/quantized");
  EXPECT_EQ(model->weights().layers[0].gate.dtype, DType::bf16);
  const ModelSummary described = describe_model(root + "/quantized");  // the bf16 sizes, from the headers
  EXPECT_EQ(described.parameters, model->parameter_count());
  EXPECT_EQ(described.weight_bytes, model->weight_bytes());
  std::string a, b;
  ASSERT_EQ(testutil::run_cli("logits --model " + root + "/quantized --tokens 256,1,2,3 --out " + root + "/a.json", &a),
            0)
      << a;
  ASSERT_EQ(testutil::run_cli("logits --model " + root + "/bf16 --tokens 256,1,2,3 --out " + root + "/b.json", &b), 0)
      << b;
  EXPECT_TRUE(json::parse(std::ifstream(root + "/a.json"))["logits"] ==
              json::parse(std::ifstream(root + "/b.json"))["logits"]);
}

TEST(Quantized, Fp8CheckpointLoadsAsItsDequantizedWeights) {
  const std::string root = testutil::fresh_dir("fp8_model");
  write_pair(root, Format::fp8);
  expect_same_model(root);
}

TEST(Quantized, Mxfp4CheckpointLoadsAsItsDequantizedWeights) {
  const std::string root = testutil::fresh_dir("mxfp4_model");
  write_pair(root, Format::mxfp4);
  expect_same_model(root);
}

std::string load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Quantized, BadCheckpointsSayWhatIsMissing) {
  const std::string root = testutil::fresh_dir("quantized_bad");
  const std::string gate = "model.layers.0.mlp.gate_proj.weight";
  const auto no_config = [](json& cfg, std::vector<Raw>&) { cfg.erase("quantization_config"); };
  std::string err = load_error(write_pair(root + "/no_config", Format::fp8, no_config));
  EXPECT_NE(err.find("is part of a FP8 weight but"), std::string::npos) << err;
  EXPECT_NE(err.find("has no quantization_config with \"quant_method\": \"fp8\""), std::string::npos) << err;
  err = load_error(write_pair(root + "/awq", Format::fp8, [](json& cfg, std::vector<Raw>&) {
    cfg["quantization_config"]["quant_method"] = "awq";
  }));
  EXPECT_NE(err.find("quant_method \"awq\" is not supported"), std::string::npos) << err;
  err = load_error(write_pair(root + "/no_scale", Format::fp8, [&](json&, std::vector<Raw>& t) {
    std::erase_if(t, [&](const Raw& r) { return r.name == fp8_scale_name(gate); });
  }));
  EXPECT_NE(err.find("FP8 tensor " + gate + " has no scale tensor " + gate + "_scale_inv"), std::string::npos) << err;
  err = load_error(write_pair(root + "/blocks", Format::fp8, [](json& cfg, std::vector<Raw>&) {
    cfg["quantization_config"]["weight_block_size"] = {32, 32};
  }));
  EXPECT_NE(err.find("mlp.down_proj.weight_scale_inv must be F32 or BF16 of shape [2, 4]"), std::string::npos) << err;
  // MXFP4: the config, the scales, their shape; a U8 tensor that is no part of a quantized weight.
  err = load_error(write_pair(root + "/mx_no_config", Format::mxfp4, no_config));
  EXPECT_NE(err.find("is part of a MXFP4 weight but"), std::string::npos) << err;
  err = load_error(write_pair(root + "/mx_no_scales", Format::mxfp4, [&](json&, std::vector<Raw>& t) {
    std::erase_if(t, [&](const Raw& r) { return r.name == mxfp4_scales_name(gate); });
  }));
  EXPECT_NE(err.find("MXFP4 tensor " + gate + "_blocks has no scale tensor " + gate + "_scales"), std::string::npos)
      << err;
  err = load_error(write_pair(root + "/mx_shape", Format::mxfp4, [&](json&, std::vector<Raw>& t) {
    for (Raw& r : t)
      if (r.name == mxfp4_scales_name(gate)) r.shape = {r.shape[1], r.shape[0]};
  }));
  EXPECT_NE(err.find(gate + "_scales must be U8 of the shape of " + gate + "_blocks"), std::string::npos) << err;
  err = load_error(write_pair(root + "/u8_norm", Format::mxfp4, [&](json&, std::vector<Raw>& t) {
    t.push_back({"model.norm.weight", "U8", {64}, std::vector<uint8_t>(64)});
    std::erase_if(t, [&](const Raw& r) { return r.name == "model.norm.weight" && r.dtype == "F32"; });
  }));
  EXPECT_NE(err.find("tensor model.norm.weight is stored as U8"), std::string::npos) << err;
}

}  // namespace
}  // namespace dllm
