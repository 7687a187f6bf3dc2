#include "engine/model/quantized.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/dtype.h"
#include "kernels/cpu/threads.h"

namespace dllm {

float e4m3_to_f32(uint8_t bits) {
  const float sign = bits & 0x80 ? -1.0f : 1.0f;
  const int exponent = (bits >> 3) & 0xf, mantissa = bits & 0x7;
  if (exponent == 0xf && mantissa == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(float(mantissa) / 8.0f, -6);  // subnormal
  return sign * std::ldexp(1.0f + float(mantissa) / 8.0f, exponent - 7);
}

float e2m1_to_f32(uint8_t nibble) {
  const float sign = nibble & 0x8 ? -1.0f : 1.0f;
  const int exponent = (nibble >> 1) & 0x3, mantissa = nibble & 0x1;
  if (exponent == 0) return sign * 0.5f * float(mantissa);  // subnormal: 0 or 0.5
  return sign * std::ldexp(1.0f + 0.5f * float(mantissa), exponent - 1);
}

std::optional<Quantization> read_quantization(const std::string& config_path) {
  std::ifstream in(config_path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("quantization_config")) return std::nullopt;
  const nlohmann::json& q = j["quantization_config"];
  DLLM_CHECK(q.is_object(), config_path, ": quantization_config must be an object");
  const nlohmann::json method = q.value("quant_method", nlohmann::json());
  if (method == "mxfp4") return Quantization{Quantization::Method::mxfp4};
  DLLM_CHECK(method == "fp8", config_path, ": quantization_config.quant_method ", method.dump(),
             " is not supported: dllm-bench reads \"fp8\" (FP8 E4M3 weights with weight_block_size scales) and "
             "\"mxfp4\"; dequantize the checkpoint to bf16 first");
  const nlohmann::json fmt = q.value("fmt", nlohmann::json("e4m3"));
  DLLM_CHECK(fmt == "e4m3", config_path, ": quantization_config.fmt ", fmt.dump(),
             " is not supported: dllm-bench reads e4m3 weights");
  const nlohmann::json size = q.value("weight_block_size", nlohmann::json());
  const auto positive = [](const nlohmann::json& v) { return v.is_number_integer() && v.get<int64_t>() > 0; };
  DLLM_CHECK(size.is_array() && size.size() == 2 && positive(size[0]) && positive(size[1]), config_path,
             ": quantization_config.weight_block_size must be [rows, columns] of the scale blocks, e.g. [128, 128], "
             "got ",
             size.dump());
  return Quantization{Quantization::Method::fp8, size[0].get<int64_t>(), size[1].get<int64_t>()};
}

std::string fp8_scale_name(const std::string& weight) { return weight + "_scale_inv"; }
std::string mxfp4_blocks_name(const std::string& weight) { return weight + "_blocks"; }
std::string mxfp4_scales_name(const std::string& weight) { return weight + "_scales"; }

void dequantize_fp8(const TensorInfo& q, const TensorInfo& scale_inv, const Quantization& fp8, uint16_t* out) {
  DLLM_CHECK(q.raw == RawType::f8_e4m3 && q.shape.size() == 2, q.file, ": tensor ", q.name,
             " is FP8 but not a matrix: dllm-bench dequantizes FP8 weights [rows, columns] only");
  const int64_t rows = q.shape[0], cols = q.shape[1];
  const std::vector<int64_t> want{(rows + fp8.block_rows - 1) / fp8.block_rows,
                                  (cols + fp8.block_cols - 1) / fp8.block_cols};
  DLLM_CHECK(scale_inv.raw == RawType::none && scale_inv.dtype != DType::f16 && scale_inv.shape == want, scale_inv.file,
             ": tensor ", scale_inv.name, " must be F32 or BF16 of shape [", want[0], ", ", want[1], "] (", q.name,
             " [", rows, ", ", cols, "] in blocks of ", fp8.block_rows, " x ", fp8.block_cols, ")");
  const auto* codes = static_cast<const uint8_t*>(q.data);
  cpu::parallel_for(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float scale =
            load_as_f32(scale_inv.dtype, scale_inv.data, size_t((r / fp8.block_rows) * want[1] + c / fp8.block_cols));
        out[r * cols + c] = f32_to_bf16(e4m3_to_f32(codes[r * cols + c]) * scale);
      }
  });
}

std::vector<int64_t> mxfp4_shape(const TensorInfo& blocks) {
  DLLM_CHECK(blocks.raw == RawType::u8 && blocks.shape.size() >= 3 && blocks.shape.back() == 16, blocks.file,
             ": tensor ", blocks.name, " must be U8 of shape [..., rows, blocks, 16] (MXFP4: 32 FP4 values a block)");
  std::vector<int64_t> shape(blocks.shape.begin(), blocks.shape.end() - 1);
  shape.back() *= 32;
  return shape;
}

void dequantize_mxfp4(const TensorInfo& blocks, const TensorInfo& scales, uint16_t* out) {
  mxfp4_shape(blocks);  // checks the blocks' type and shape
  const std::vector<int64_t> want(blocks.shape.begin(), blocks.shape.end() - 1);
  DLLM_CHECK(scales.raw == RawType::u8 && scales.shape == want, scales.file, ": tensor ", scales.name,
             " must be U8 of the shape of ", blocks.name, " without its last dimension (one E8M0 scale a block)");
  const int64_t count = blocks.numel() / 16;  // blocks of 32 values
  const auto* packed = static_cast<const uint8_t*>(blocks.data);
  const auto* exponents = static_cast<const uint8_t*>(scales.data);
  cpu::parallel_for(count, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int i = 0; i < 16; ++i) {
        const uint8_t byte = packed[b * 16 + i];
        const int exponent = int(exponents[b]) - 127;
        out[b * 32 + 2 * i] = f32_to_bf16(std::ldexp(e2m1_to_f32(byte & 0xf), exponent));
        out[b * 32 + 2 * i + 1] = f32_to_bf16(std::ldexp(e2m1_to_f32(byte >> 4), exponent));
      }
  });
}

}  // namespace dllm
