// The Eigen reference: one plain function per op, boring and obviously right. It is the truth every
// fast kernel and every engine pass is tested against. Each op takes the same Args struct as the
// kernels (core/ops.h). Acc is the accumulation type: float (the engine's mode) or double
// (the f64-accumulation mode used to measure how far f32 drifts).
//
// Matrix products, reductions and softmax are Eigen expressions (ref/eigen.h). Every reduction runs
// in a fixed order that depends only on the shapes, never on how many tokens are in the call or
// where a token sits in memory: a token's result is bitwise the same alone or inside a 306-token
// pass (the batch-invariance contract that makes the lossless gate exact).
#pragma once
#include <vector>

#include "core/ops.h"

namespace dllm::ref {

void embedding(const EmbeddingArgs& a);
template <typename Acc>
void rmsnorm(const RmsnormArgs& a);
template <typename Acc>
void linear(const LinearArgs& a);
void rope(const RopeArgs& a);
// rope's two halves, which cpu::rope reuses for the same bits: the cos and sin of every (token,
// pair) of a.positions, cos_sin [T][R/2][2]; then the rotation of tokens [first, first + count).
void rope_cos_sin(const RopeArgs& a, float* cos_sin);
void rope_rotate(const RopeArgs& a, const float* cos_sin, int first, int count);
template <typename Acc>
void attention(const AttentionArgs& a);
void kv_write(const KvWriteArgs& a);
template <typename Acc>
void rope_kv_write(const RopeKvWriteArgs& a);
void swiglu(const SwigluArgs& a);
// rmsnorm then linear, swiglu then linear (the fused ops of core/ops.h, unfused).
template <typename Acc>
void norm_linear(const NormLinearArgs& a);
template <typename Acc>
void swiglu_linear(const SwigluLinearArgs& a);
void add(const AddArgs& a);
template <typename Acc>
void softmax(const SoftmaxArgs& a);
void argmax(const ArgmaxArgs& a);
void sample(const SampleArgs& a);
void sample_divergence(const SampleDivergenceArgs& a);
// Row r of a draw: x itself, or its mix with the draw's partner (RowDraw's rounding).
std::vector<float> drawn_row(const float* x, int dim, const RowDraw& d);
// The target distribution of one row under a draw with temperature > 0 (temperature, then top-k,
// then top-p; the draw's mix is not applied), as probabilities over the row summing to 1; and the
// inverse-CDF pick from it.
std::vector<double> target_distribution(const float* x, int dim, const RowDraw& d);
int sample_from(const std::vector<double>& probs, double u);
// ZAYA1
void cca_state(const CcaStateArgs& a);
template <typename Acc>
void cca_conv(const CcaConvArgs& a);
template <typename Acc>
void cca_qk(const CcaQkArgs& a);
template <typename Acc>
void zaya_router(const ZayaRouterArgs& a);
template <typename Acc>
void moe(const MoeArgs& a);
void residual_scale(const ResidualScaleArgs& a);

}  // namespace dllm::ref
