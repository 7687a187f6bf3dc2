// Element types of stored weights and their conversions. Header-only and host/device-neutral
// (plain integer bit manipulation) so that CPU kernels, GPU kernels and the reference agree exactly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define DLLM_HD __host__ __device__ inline
#else
#define DLLM_HD inline
#endif

namespace dllm {

enum class DType : uint8_t { f32, f16, bf16 };

DLLM_HD size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
  }
  return "?";
}

DLLM_HD float bits_to_f32(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);  // the builtin: host and device (HIP has no device memcpy)
  return f;
}
DLLM_HD uint32_t f32_to_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}

DLLM_HD float bf16_to_f32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }

// Round to nearest even; NaN stays NaN (quiet).
DLLM_HD uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

DLLM_HD float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    // subnormal: value = man * 2^-24
    float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

// Round to nearest even, overflow to inf.
DLLM_HD uint16_t f32_to_f16(float f) {
  uint32_t u = f32_to_bits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);   // nan
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a < 0x38800000u) {                                  // below the smallest normal 2^-14
    // subnormal or zero: value / 2^-24, rounded to nearest even
    float v = bits_to_f32(a) * 16777216.0f;  // exact scaling by 2^24
    uint32_t m = uint32_t(v);
    float rem = v - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1u))) ++m;
    return uint16_t(sign | m);
  }
  uint32_t mant = a & 0x7fffffu;
  uint32_t exp = (a >> 23) - 112u;
  uint32_t r = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) ++r;
  return uint16_t(sign | r);
}

// One stored element converted to f32.
DLLM_HD float load_as_f32(DType t, const void* base, size_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(base)[i];
    case DType::f16:
      return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::bf16:
      return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
  }
  return 0.0f;
}

// How a matrix's elements are laid out in memory.
//   rows:  row-major [rows, cols], as checkpoints store them.
//   tiles: the rows in groups of kTileRows, each group stored as its kTileCols-column pieces one after
//          another: [rows / 4][cols / 16][4][16]. A pass over a group's rows then reads one sequential
//          stream (the CPU backend's layout for the linear layers, kernels/cpu/cpu.h: tile_weights).
enum class WeightLayout : uint8_t { rows, tiles };
constexpr int64_t kTileRows = 4, kTileCols = 16;

// A read-only matrix of stored weights [rows, cols] (a vector is rows = 1).
struct WeightView {
  DType dtype = DType::f32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::rows;
  // Where element (r, c) is, counted in elements from data.
  DLLM_HD int64_t index(int64_t r, int64_t c) const {
    if (layout == WeightLayout::rows) return r * cols + c;
    return ((r / kTileRows) * (cols / kTileCols) + c / kTileCols) * (kTileRows * kTileCols) +
           (r % kTileRows) * kTileCols + c % kTileCols;
  }
  DLLM_HD float at(int64_t r, int64_t c) const { return load_as_f32(dtype, data, size_t(index(r, c))); }
  DLLM_HD bool empty() const { return data == nullptr; }
};

}  // namespace dllm
