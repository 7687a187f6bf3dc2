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
// yarn (YaRN; Qwen3, DeepSeek): pair i turns beta times over the original context at the pair index
//   d(beta) = R * ln(original / (2*pi*beta)) / (2 ln theta); pairs below d(beta_fast) (fast ones) are
//   kept, pairs above d(beta_slow) divided by `factor`, and a linear ramp over the pair index blends
//   the two between (the bounds rounded outwards to whole pairs where `truncate`). cos and sin are
//   then multiplied by attention_factor (by default 0.1 ln(factor) + 1).
// dynamic (dynamic NTK): theta grows with the length L of the sequence a forward call covers (its
//   longest position + 1), once L passes max_position_embeddings M: theta * (factor * L / M -
//   (factor - 1))^(R / (R - 2)); below M, plain RoPE. transformers takes L per call, so in a cached
//   decode each token's query and key turn with the L of the call that computed them (the prompt's
//   length for a prefill, position + 1 for an AR step); the engine does the same per sequence and pass.
enum class RopeScalingType : uint8_t { none, linear, llama3, yarn, dynamic };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::none;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;    // llama3
  float high_freq_factor = 4.0f;   // llama3
  int original_max_positions = 0;  // llama3, yarn: original_max_position_embeddings; dynamic: M
  float beta_fast = 32.0f;         // yarn
  float beta_slow = 1.0f;          // yarn
  bool truncate = true;            // yarn
  float attention_factor = 1.0f;   // yarn: the factor on cos and sin (1 for every other type)
};

inline bool operator==(const RopeScaling& a, const RopeScaling& b) {
  return a.type == b.type && a.factor == b.factor && a.low_freq_factor == b.low_freq_factor &&
         a.high_freq_factor == b.high_freq_factor && a.original_max_positions == b.original_max_positions &&
         a.beta_fast == b.beta_fast && a.beta_slow == b.beta_slow && a.truncate == b.truncate &&
         a.attention_factor == b.attention_factor;
}

// yarn's pair index at which a pair turns `rotations` times over the original context.
DLLM_HD double yarn_pair_index(double rotations, const RopeScaling& s, float theta, int rotary_dim) {
  const double two_pi = 6.283185307179586;  // the double nearest 2*pi
  return rotary_dim * log(double(s.original_max_positions) / (rotations * two_pi)) / (2.0 * log(double(theta)));
}

// dynamic's theta for a call covering `length` positions (plain theta up to M).
DLLM_HD double dynamic_theta(float theta, const RopeScaling& s, int rotary_dim, int length) {
  const double m = s.original_max_positions, l = length > s.original_max_positions ? length : m;
  return double(theta) *
         pow(double(s.factor) * l / m - (double(s.factor) - 1.0), double(rotary_dim) / (rotary_dim - 2));
}

// The inverse frequency of pair i of R rotary dims (`length`: the call's length, read by dynamic
// only). The plain value is 1/theta^(2i/R) in double rounded to f32 (as transformers holds it, in
// f32); a scaling starts from that f32 value, applies its rule in double and rounds once more.
DLLM_HD float rope_inv_freq(float theta, const RopeScaling& s, int i, int rotary_dim, int length = 0) {
  if (s.type == RopeScalingType::dynamic)
    return float(1.0 / pow(dynamic_theta(theta, s, rotary_dim, length), double(2 * i) / rotary_dim));
  const float plain = float(1.0 / pow(double(theta), double(2 * i) / rotary_dim));
  if (s.type == RopeScalingType::none) return plain;
  const double factor = s.factor;
  if (s.type == RopeScalingType::linear) return float(double(plain) / factor);
  if (s.type == RopeScalingType::yarn) {
    double low = yarn_pair_index(s.beta_fast, s, theta, rotary_dim);
    double high = yarn_pair_index(s.beta_slow, s, theta, rotary_dim);
    if (s.truncate) low = floor(low), high = ceil(high);
    low = low > 0.0 ? low : 0.0;
    high = high < rotary_dim - 1 ? high : rotary_dim - 1;
    if (low == high) high += 0.001;  // as transformers: no division by zero
    const double ramp = (i - low) / (high - low), scaled = ramp < 0.0 ? 0.0 : ramp > 1.0 ? 1.0 : ramp;
    return float(scaled * double(plain) / factor + (1.0 - scaled) * double(plain));
  }
  const double two_pi = 6.283185307179586;  // the double nearest 2*pi
  const double wavelength = two_pi / double(plain);
  const double original = s.original_max_positions;
  if (wavelength > original / s.low_freq_factor) return float(double(plain) / factor);
  if (wavelength < original / s.high_freq_factor) return plain;
  const double smooth = (original / wavelength - s.low_freq_factor) / (double(s.high_freq_factor) - s.low_freq_factor);
  return float((1.0 - smooth) * double(plain) / factor + smooth * double(plain));
}

}  // namespace dllm
