// Seeded random inputs of the op cases, the tests and the benchmarks: the same seed gives the same
// values on every machine.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace dllm::opcases {

// n values uniform in [-scale, scale].
std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f);
// values rounded to bf16, packed two to a 4-byte word (the lower index in the low half; an odd count
// gets a zero after it): a bf16 array as the op cases' word arrays hold it.
std::vector<float> bf16_words(const std::vector<float>& values);
// n values uniform in [lo, hi).
std::vector<int32_t> random_ints(size_t n, int32_t lo, int32_t hi, uint32_t seed);

// A weight matrix stored in `dtype`, with its f32 values (the stored ones, after rounding).
struct StoredWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // [rows, cols] as stored
  WeightView view;            // over bytes
};
StoredWeights make_weights(int64_t rows, int64_t cols, DType dtype, uint32_t seed, float scale = 1.0f);

}  // namespace dllm::opcases
