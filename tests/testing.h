// Shared helpers of the test suite: seeded random data, weights in any dtype, error comparison,
// scratch folders, and running the dllm-bench binary.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace dllm::testutil {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f);

// A weight matrix stored in `dtype`, with its f32 values (the stored ones, after rounding).
struct StoredWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // [rows, cols] as stored
  WeightView view;
};
StoredWeights make_weights(int64_t rows, int64_t cols, DType dtype, uint32_t seed, float scale = 1.0f);

// max |a - b| / max(1, max |b|)
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b);

// A fresh empty folder under the system temp dir.
std::string fresh_dir(const std::string& stem);

// Runs `dllm-bench ARGS`; returns the exit code, with stdout+stderr in *output.
int run_cli(const std::string& args, std::string* output);

}  // namespace dllm::testutil
