#include "opcases/random.h"

#include <cstring>
#include <random>

namespace dllm::opcases {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

std::vector<float> bf16_words(const std::vector<float>& values) {
  std::vector<uint16_t> halves((values.size() + 1) / 2 * 2, 0);
  for (size_t i = 0; i < values.size(); ++i) halves[i] = f32_to_bf16(values[i]);
  std::vector<float> words(halves.size() / 2);
  std::memcpy(words.data(), halves.data(), halves.size() * sizeof(uint16_t));
  return words;
}

std::vector<int32_t> random_ints(size_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = lo + int32_t(gen() % uint32_t(hi - lo));
  return v;
}

StoredWeights make_weights(int64_t rows, int64_t cols, DType dtype, uint32_t seed, float scale) {
  StoredWeights w;
  const std::vector<float> src = random_floats(size_t(rows * cols), seed, scale);
  w.bytes.resize(src.size() * dtype_size(dtype));
  w.values.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (dtype == DType::f32) reinterpret_cast<float*>(w.bytes.data())[i] = src[i];
    if (dtype == DType::bf16) reinterpret_cast<uint16_t*>(w.bytes.data())[i] = f32_to_bf16(src[i]);
    if (dtype == DType::f16) reinterpret_cast<uint16_t*>(w.bytes.data())[i] = f32_to_f16(src[i]);
    w.values[i] = load_as_f32(dtype, w.bytes.data(), i);
  }
  w.view = WeightView{dtype, w.bytes.data(), rows, cols};
  return w;
}

}  // namespace dllm::opcases
