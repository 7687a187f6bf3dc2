// Fast CPU kernels. Each has its ref:: twin in ref/ and a test against it (tests/kernels/).
// Contract: results do not depend on how many tokens a call holds or where a token sits (batch
// invariance), on the thread count, or on the instruction set chosen at run time (kernels/cpu/simd.h),
// so the lossless gate stays exact. Work is split over the threads of kernels/cpu/threads.h.
#pragma once
#include "core/ops.h"
#include "kernels/cpu/simd.h"

namespace dllm::cpu {

// Up to 4 tokens the rows of W are read in place (converted to f32 in registers); above, they are
// widened once per pass into 16-row f32 panels swept over every token, except in the tiles layout,
// which is read in place for every T. Register tiles of 4 rows x
// up to 6 tokens (AVX-512) or 2 x 3 (AVX2, portable); each output is a 16-lane FMA dot product
// reduced by a fixed pairwise tree (see linear.cpp). `isa` selects the code path (one this CPU
// runs: runnable_isas()); results are bitwise equal across paths.
// Weights in either layout of core/dtype.h: in the tiles layout an AR pass reads each thread's rows
// as one sequential stream (about twice the bandwidth of four 2 KB row streams at a time).
void linear(const LinearArgs& a, Isa isa);
void linear(const LinearArgs& a);  // best_isa()

// The AVX512-BF16 path of linear, for CPUs that have it (has_bf16_dot): the inputs rounded to bf16
// (to nearest even) and bf16 weights multiplied in pairs by vdpbf16ps, twice the multiply-adds per
// instruction of the exact paths, as llama.cpp does on such CPUs. Not bitwise equal to linear() (it
// rounds the activations: tests hold it to 2^-7 sum |x w| per output), but its order is fixed per
// output, so it is batch- and thread-invariant in its own right. Other weight dtypes take linear().
bool has_bf16_dot();
void linear_bf16_dot(const LinearArgs& a);

// Whether w can be stored in the tiles layout: the rows layout, rows a multiple of 4, columns of 16.
bool tileable(const WeightView& w);
// Copies w (tileable) into dst (as many bytes as w) in the tiles layout; the view of the copy.
WeightView tile_weights(const WeightView& w, void* dst);

// Per (token, kv head): the scores of the group's G query heads against each visible key, a softmax
// per head, the weighted sum of V; split over (token, kv head). Scores are 16-lane FMA dot products
// summed by linear's lane tree, the weighted sum one FMA chain per output element in key order
// (attention.cpp), so a token's output depends only on its own inputs, in an order fixed per output:
// batch invariant, and bitwise equal across the ISA paths (`isa`: one this CPU runs).
void attention(const AttentionArgs& a, Isa isa);
void attention(const AttentionArgs& a);  // best_isa()

// weight * (x / sqrt(mean(x^2) + eps)) per row, the mean of squares as 16-lane FMA partials summed by
// linear's lane tree: within an ulp or so of ref::rmsnorm, bitwise equal across the ISA paths, rows
// split over the threads.
void rmsnorm(const RmsnormArgs& a, Isa isa);
void rmsnorm(const RmsnormArgs& a);  // best_isa()

// silu(gate) * up with exp as one fixed sequence of IEEE operations (kernels/cpu/exp.h), not libm's:
// within a few ulps of ref::swiglu, and bitwise equal across the ISA paths and thread counts.
void swiglu(const SwigluArgs& a, Isa isa);
void swiglu(const SwigluArgs& a);  // best_isa()

// ref::rope's halves: its cos and sin of each (token, frequency) computed once and kept for the next
// call with the same positions (a pass's queries and keys in every layer), its rotation split over
// the tokens: the same bits, without 2 x layers x T x R/2 pow/cos/sin.
void rope(const RopeArgs& a);

}  // namespace dllm::cpu
