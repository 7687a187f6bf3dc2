// The machine-limit loops `dllm-bench probe` times: a streaming read and an FMA loop with enough
// independent chains to reach the FMA units' throughput. Not ops (no ref:: twin): they measure the
// denominators the kernels' rates are divided by.
#pragma once
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace dllm::cpu {

// Reads x[0, n) once, front to back, and returns its sum (so the reads cannot be elided).
float read_sum(const float* x, int64_t n, Isa isa);

// `iters` rounds of kFmaChains independent 16-wide (AVX-512), 8-wide (AVX2) or 1-wide (portable)
// multiply-adds: the peak of the widest path the kernels run.
constexpr int kFmaChains = 12;
float fma_loop(int64_t iters, Isa isa);
// Floating-point operations of one round (2 per lane per multiply-add).
int flops_per_fma_round(Isa isa);

}  // namespace dllm::cpu
