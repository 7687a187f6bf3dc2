// Shared helpers of the test suite: seeded random data, weights in any dtype, error comparison,
// scratch folders, and running the dllm-bench binary.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
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

// The byte-level symbol of byte b, as UTF-8: printable bytes stand for themselves, the others for
// U+0100 onwards in byte order (so ' ' is U+0120 'Ġ').
std::string byte_symbol(int b);
// A tokenizer.json of a byte-level BPE: ids 0..255 the bytes, then one id per merge (in `merges`
// order, so rank = index); GPT-2's ByteLevel pre-tokenizer and decoder, no added tokens.
nlohmann::json byte_level_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges);

// Runs `dllm-bench ARGS`; returns the exit code, with stdout+stderr in *output.
int run_cli(const std::string& args, std::string* output);

}  // namespace dllm::testutil
