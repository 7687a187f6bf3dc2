// FP8 weights with block scales, dequantized on load: the "fp8" quantization_config of
// transformers' fine-grained FP8 checkpoints (DeepSeek-V3, Qwen3-FP8 and their kind):
//   config.json  "quantization_config": {"quant_method": "fp8", "weight_block_size": [Bm, Bn], ...}
//   X.weight            F8_E4M3 [R, C]
//   X.weight_scale_inv  F32 or BF16 [ceil(R / Bm), ceil(C / Bn)]
//   w[r][c] = e4m3(X.weight[r][c]) * X.weight_scale_inv[r / Bm][c / Bn]
// The engine keeps the product rounded to bf16 (round to nearest even): what the kernels read, at
// twice the bytes of the FP8 weights. Activations stay in the engine's precision (the checkpoint's
// "activation_scheme" is not applied).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/safetensors.h"

namespace dllm {

// E4M3 ("fn": no infinities): sign, 4 exponent bits (bias 7), 3 mantissa bits; S.1111.111 is NaN.
float e4m3_to_f32(uint8_t bits);

struct Fp8Blocks {
  int64_t rows = 0, cols = 0;  // weight_block_size
};

// The block size of config.json's quantization_config (`config_path` for errors); nullopt when the
// config has none. Throws naming the file for another quant_method or a malformed block size.
std::optional<Fp8Blocks> read_fp8_config(const std::string& config_path);

// The bf16 bits [R, C] of the FP8 weight q (2-D, f8_e4m3) with its scale_inv; throws naming the
// tensors when the scale's shape does not tile q with `blocks`.
std::vector<uint16_t> dequantize_fp8(const TensorInfo& q, const TensorInfo& scale_inv, Fp8Blocks blocks);

// The name of a weight's scale tensor: X.weight -> X.weight_scale_inv.
std::string fp8_scale_name(const std::string& weight);

}  // namespace dllm
