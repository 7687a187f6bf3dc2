// FP8 weights with block scales (engine/model/fp8.h): every E4M3 code against a decoder that builds
// the f32 bits directly, and a checkpoint whose MLP weights are FP8 loads as the same model as one
// holding the weights this test dequantized itself (to bf16), logits equal bit for bit. Bad FP8
// checkpoints name the tensor or the config and say what is missing.
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
#include "engine/model/fp8.h"
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

TEST(Fp8, EveryCodeDecodes) {
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
  for (const Raw& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), std::streamsize(t.bytes.size()));
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

constexpr int64_t kBlockRows = 16, kBlockCols = 48;  // blocks that do not divide the 64 x 128 weights

// Folders "fp8" (the MLP weights of the exported tiny-llama in FP8 with scales) and "bf16" (the
// same weights dequantized here), with `edit` applied to the FP8 folder's config and tensors.
std::string write_pair(const std::string& root, const std::function<void(json&, std::vector<Raw>&)>& edit = {}) {
  std::filesystem::create_directories(root);
  std::string log;
  EXPECT_EQ(testutil::run_cli("export --model preset:tiny-llama --weights-seed 3 --out " + root + "/src", &log), 0)
      << log;
  const Checkpoint ck = Checkpoint::open(root + "/src");
  std::vector<Raw> fp8, scales, bf16, rest;
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
    fp8.push_back({name, "F8_E4M3", t.shape, codes});
    scales.push_back({fp8_scale_name(name), "F32", {br, bc}, bytes_of(scale)});
    bf16.push_back({name, "BF16", t.shape, bytes_of(dequantized)});
  }
  json cfg = json::parse(std::ifstream(root + "/src/config.json"));
  std::filesystem::create_directories(root + "/bf16");
  std::ofstream(root + "/bf16/config.json") << cfg.dump();
  std::vector<Raw> plain = rest;
  plain.insert(plain.end(), bf16.begin(), bf16.end());
  write_raw(root + "/bf16/model.safetensors", plain);
  cfg["quantization_config"] = {
      {"quant_method", "fp8"}, {"fmt", "e4m3"}, {"activation_scheme", "dynamic"}, {"weight_block_size", {16, 48}}};
  std::vector<Raw> quantized = rest;
  quantized.insert(quantized.end(), scales.begin(), scales.end());
  quantized.insert(quantized.end(), fp8.begin(), fp8.end());
  if (edit) edit(cfg, quantized);
  std::filesystem::create_directories(root + "/fp8");
  std::ofstream(root + "/fp8/config.json") << cfg.dump();
  write_raw(root + "/fp8/model.safetensors", quantized);
  return root + "/fp8";
}

TEST(Fp8, CheckpointLoadsAsItsDequantizedWeights) {
  const std::string root = testutil::fresh_dir("fp8_model");
  write_pair(root);
  const auto model = Model::load(root + "/fp8");
  EXPECT_EQ(model->weights().layers[0].gate.dtype, DType::bf16);
  std::string a, b;
  ASSERT_EQ(testutil::run_cli("logits --model " + root + "/fp8 --tokens 256,1,2,3 --out " + root + "/a.json", &a), 0)
      << a;
  ASSERT_EQ(testutil::run_cli("logits --model " + root + "/bf16 --tokens 256,1,2,3 --out " + root + "/b.json", &b), 0)
      << b;
  EXPECT_TRUE(json::parse(std::ifstream(root + "/a.json"))["logits"] ==
              json::parse(std::ifstream(root + "/b.json"))["logits"]);
}

std::string load_error(const std::string& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Fp8, BadCheckpointsSayWhatIsMissing) {
  const std::string root = testutil::fresh_dir("fp8_bad");
  const std::string gate = "model.layers.0.mlp.gate_proj.weight";
  std::string dir = write_pair(root + "/no_config", [](json& cfg, std::vector<Raw>&) { cfg.erase("quantization_config"); });
  std::string err = load_error(dir);
  EXPECT_NE(err.find("is FP8 (F8_E4M3) but"), std::string::npos) << err;
  EXPECT_NE(err.find("has no quantization_config"), std::string::npos) << err;
  dir = write_pair(root + "/awq", [](json& cfg, std::vector<Raw>&) { cfg["quantization_config"]["quant_method"] = "awq"; });
  err = load_error(dir);
  EXPECT_NE(err.find("quant_method \"awq\" is not supported"), std::string::npos) << err;
  dir = write_pair(root + "/no_scale", [&](json&, std::vector<Raw>& t) {
    std::erase_if(t, [&](const Raw& r) { return r.name == fp8_scale_name(gate); });
  });
  err = load_error(dir);
  EXPECT_NE(err.find("FP8 tensor " + gate + " has no scale tensor " + gate + "_scale_inv"), std::string::npos) << err;
  dir = write_pair(root + "/blocks", [](json& cfg, std::vector<Raw>&) {
    cfg["quantization_config"]["weight_block_size"] = {32, 32};
  });
  err = load_error(dir);
  EXPECT_NE(err.find("mlp.down_proj.weight_scale_inv must be F32 or BF16 of shape [2, 4]"), std::string::npos) << err;
}

}  // namespace
}  // namespace dllm
