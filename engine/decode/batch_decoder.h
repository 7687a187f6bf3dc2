// Continuous batching: up to `max_batch` sequences share every forward pass,
// each in its own KV cache row, each advancing by its own acceptance; finished sequences leave and
// waiting ones join (their prefill rides in the same pass as the others' steps). Sequences with the
// same prompt (rollouts: n sampled completions of one prompt) share one prefill.
#pragma once
#include <memory>
#include <vector>

#include "engine/decode/sequence.h"

namespace dllm {

struct BatchOptions {
  int max_batch = 8;          // sequences decoded together at most
  bool share_prefill = true;  // sequences with the prompt of an earlier one import its prefill
};

// What the batch as a whole did: one entry per forward.
struct BatchTrace {
  std::vector<int> pass_tokens;      // T of each forward
  std::vector<int> pass_sequences;   // sequences in each forward
  std::vector<double> pass_seconds;  // wall time of each forward
  int shared_prefills = 0;           // sequences that started from another's prefill
  double total_seconds = 0;
};

// Decodes every sequence to completion, in admission order (the order given); returns their
// generations in that order. `trace` may be null.
std::vector<Generation> decode_batch(Transformer& model, std::vector<std::unique_ptr<SequenceDecoder>> sequences,
                                     const BatchOptions& options, BatchTrace* trace);

}  // namespace dllm
