// RoPE frequencies: the inverse frequency of each rotary pair, plain or scaled the way a config's
// rope_scaling / rope_parameters asks (transformers' modeling_rope_utils). Host/device-neutral so that
// ref::rope, the CPU kernel and the GPU kernel form the very same f32 values.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/dtype.h"  // DLLM_HD

namespace dllm {

// none: inv_freq_i = theta^(-2i/R).
// linear: every inverse frequency divided by `factor` (positions stretched by it).
// llama3 (Llama 3.1+): pairs whose wavelength 2*pi/inv_freq exceeds original/low_freq_factor are
//   divided by `factor`, pairs shorter than original/high_freq_factor are kept, and the band between
//   blends the two with weight s = (original/wavelength - low) / (high - low) on the unscaled one.
enum class RopeScalingType : uint8_t { none, linear, llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::none;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;    // llama3
  float high_freq_factor = 4.0f;   // llama3
  int original_max_positions = 0;  // llama3: the pre-training context (original_max_position_embeddings)
};

inline bool operator==(const RopeScaling& a, const RopeScaling& b) {
  return a.type == b.type && a.factor == b.factor && a.low_freq_factor == b.low_freq_factor &&
         a.high_freq_factor == b.high_freq_factor && a.original_max_positions == b.original_max_positions;
}

// The inverse frequency of pair i of R rotary dims. The plain value is 1/theta^(2i/R) in double
// rounded to f32 (as transformers holds it, in f32); a scaling starts from that f32 value, applies its
// rule in double and rounds once more.
DLLM_HD float rope_inv_freq(float theta, const RopeScaling& s, int i, int rotary_dim) {
  const float plain = float(1.0 / pow(double(theta), double(2 * i) / rotary_dim));
  if (s.type == RopeScalingType::none) return plain;
  const double factor = s.factor;
  if (s.type == RopeScalingType::linear) return float(double(plain) / factor);
  const double two_pi = 6.283185307179586;  // the double nearest 2*pi
  const double wavelength = two_pi / double(plain);
  const double original = s.original_max_positions;
  if (wavelength > original / s.low_freq_factor) return float(double(plain) / factor);
  if (wavelength < original / s.high_freq_factor) return plain;
  const double smooth = (original / wavelength - s.low_freq_factor) / (double(s.high_freq_factor) - s.low_freq_factor);
  return float((1.0 - smooth) * double(plain) / factor + smooth * double(plain));
}

}  // namespace dllm
