// Shared helpers of the test suite: seeded random data, weights in any dtype, error comparison,
// scratch folders, and running the dllm-bench binary.
#pragma once
#include <string>
#include <vector>

#include "opcases/random.h"

namespace dllm::testutil {

// The op cases' seeded inputs (opcases/random.h).
using opcases::make_weights;
using opcases::random_floats;
using opcases::random_ints;
using opcases::StoredWeights;

// max |a - b| / max(1, max |b|)
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b);

// A fresh empty folder under the system temp dir.
std::string fresh_dir(const std::string& stem);

// Runs `dllm-bench ARGS`; returns the exit code, with stdout+stderr in *output.
int run_cli(const std::string& args, std::string* output);

}  // namespace dllm::testutil
