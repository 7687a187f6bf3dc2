// Quantized weights, dequantized to bf16 on load (what the kernels read), in the two forms of
// config.json's "quantization_config" that transformers reads:
//   "fp8"    fine-grained FP8 (DeepSeek-V3, Qwen3-FP8 and their kind), with "weight_block_size":
//            [Bm, Bn]: X.weight F8_E4M3 [R, C] beside X.weight_scale_inv F32 or BF16
//            [ceil(R / Bm), ceil(C / Bn)]; w[r][c] = e4m3(q[r][c]) * scale_inv[r / Bm][c / Bn],
//            rounded to bf16 (nearest even).
//   "mxfp4"  OCP microscaling FP4 (gpt-oss): X_blocks U8 [..., R, G, 16] holds 32 FP4 E2M1 values a
//            block, two a byte, the low nibble first, and X_scales U8 [..., R, G] each block's E8M0
//            scale 2^(s - 127); X is [..., R, 32 G]. Exact in bf16.
// Activations stay in the engine's precision (the checkpoint's "activation_scheme" is not applied).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/safetensors.h"

namespace dllm {

// E4M3 ("fn": no infinities): sign, 4 exponent bits (bias 7), 3 mantissa bits; S.1111.111 is NaN.
float e4m3_to_f32(uint8_t bits);
// E2M1 (the low 4 bits): sign, 2 exponent bits (bias 1), 1 mantissa bit: 0, 0.5, 1, 1.5, 2, 3, 4, 6.
float e2m1_to_f32(uint8_t nibble);

struct Quantization {
  enum class Method { fp8, mxfp4 } method = Method::fp8;
  int64_t block_rows = 0, block_cols = 0;  // fp8: weight_block_size
};

// config.json's quantization_config (`config_path` for errors); nullopt when the config has none.
// Throws naming the file for another quant_method, another fp8 format or a malformed block size.
std::optional<Quantization> read_quantization(const std::string& config_path);

// Writes the bf16 bits [R, C] of the FP8 weight q (2-D, F8_E4M3) with its scale_inv to out (R x C
// elements); throws naming the tensors, before writing, when the scale's shape does not tile q with
// the blocks of `fp8`.
void dequantize_fp8(const TensorInfo& q, const TensorInfo& scale_inv, const Quantization& fp8, uint16_t* out);
// The name of a weight's FP8 scale tensor: X.weight -> X.weight_scale_inv.
std::string fp8_scale_name(const std::string& weight);

// Writes the bf16 bits of the MXFP4 weight in `blocks` and `scales` (shape mxfp4_shape(blocks)) to
// out; throws naming the tensors, before writing, when their types or shapes do not pair.
void dequantize_mxfp4(const TensorInfo& blocks, const TensorInfo& scales, uint16_t* out);
// The weight's shape: the blocks' [..., R, G, 16] as [..., R, 32 G].
std::vector<int64_t> mxfp4_shape(const TensorInfo& blocks);
// The names of a weight's MXFP4 tensors: X -> X_blocks, X_scales.
std::string mxfp4_blocks_name(const std::string& weight);
std::string mxfp4_scales_name(const std::string& weight);

}  // namespace dllm
