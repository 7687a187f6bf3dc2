#include "engine/model/fp8.h"

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

std::optional<Fp8Blocks> read_fp8_config(const std::string& config_path) {
  std::ifstream in(config_path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("quantization_config")) return std::nullopt;
  const nlohmann::json& q = j["quantization_config"];
  DLLM_CHECK(q.is_object(), config_path, ": quantization_config must be an object");
  const nlohmann::json method = q.value("quant_method", nlohmann::json());
  DLLM_CHECK(method == "fp8", config_path, ": quantization_config.quant_method ", method.dump(),
             " is not supported: dllm-bench reads \"fp8\" (FP8 E4M3 weights with weight_block_size scales); "
             "dequantize the checkpoint to bf16 first");
  const nlohmann::json fmt = q.value("fmt", nlohmann::json("e4m3"));
  DLLM_CHECK(fmt == "e4m3", config_path, ": quantization_config.fmt ", fmt.dump(),
             " is not supported: dllm-bench reads e4m3 weights");
  const nlohmann::json size = q.value("weight_block_size", nlohmann::json());
  const auto positive = [](const nlohmann::json& v) { return v.is_number_integer() && v.get<int64_t>() > 0; };
  DLLM_CHECK(size.is_array() && size.size() == 2 && positive(size[0]) && positive(size[1]), config_path,
             ": quantization_config.weight_block_size must be [rows, columns] of the scale blocks, e.g. [128, 128], "
             "got ",
             size.dump());
  return Fp8Blocks{size[0].get<int64_t>(), size[1].get<int64_t>()};
}

std::string fp8_scale_name(const std::string& weight) { return weight + "_scale_inv"; }

std::vector<uint16_t> dequantize_fp8(const TensorInfo& q, const TensorInfo& scale_inv, Fp8Blocks blocks) {
  DLLM_CHECK(q.f8_e4m3 && q.shape.size() == 2, q.file, ": tensor ", q.name,
             " is FP8 but not a matrix: dllm-bench dequantizes FP8 weights [rows, columns] only");
  const int64_t rows = q.shape[0], cols = q.shape[1];
  const std::vector<int64_t> want{(rows + blocks.rows - 1) / blocks.rows, (cols + blocks.cols - 1) / blocks.cols};
  DLLM_CHECK(!scale_inv.f8_e4m3 && scale_inv.dtype != DType::f16 && scale_inv.shape == want, scale_inv.file,
             ": tensor ", scale_inv.name, " must be F32 or BF16 of shape [", want[0], ", ", want[1], "] (",
             q.name, " [", rows, ", ", cols, "] in blocks of ", blocks.rows, " x ", blocks.cols, ")");
  std::vector<uint16_t> out(size_t(rows * cols));
  const auto* codes = static_cast<const uint8_t*>(q.data);
  cpu::parallel_for(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float scale = load_as_f32(scale_inv.dtype, scale_inv.data,
                                        size_t((r / blocks.rows) * want[1] + c / blocks.cols));
        out[size_t(r * cols + c)] = f32_to_bf16(e4m3_to_f32(codes[r * cols + c]) * scale);
      }
  });
  return out;
}

}  // namespace dllm
