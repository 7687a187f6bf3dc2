// The op tables, one per file opcases/<op>.cpp (the stem of ref/<op>.cpp and kernels/*/<op>.*), and
// the model-shape cases the report's kernel-parity audit (engine/bench/kernel_parity.cpp) builds from
// a model's own weights.
#pragma once
#include <string>
#include <vector>

#include "core/ops.h"
#include "opcases/case.h"

namespace dllm::opcases {

const Op<LinearArgs>& linear_op();
const Op<AttentionArgs>& attention_op();
const Op<RmsnormArgs>& rmsnorm_op();
const Op<SoftmaxArgs>& softmax_op();
const Op<SwigluArgs>& swiglu_op();
const Op<AddArgs>& add_op();
const Op<RopeArgs>& rope_op();
const Op<EmbeddingArgs>& embedding_op();
const Op<KvWriteArgs>& kv_write_op();
const Op<RopeKvWriteArgs>& rope_kv_write_op();
const Op<ArgmaxArgs>& argmax_op();
const Op<CcaStateArgs>& cca_state_op();
const Op<CcaConvArgs>& cca_conv_op();
const Op<CcaQkArgs>& cca_qk_op();
const Op<MoeArgs>& moe_op();
const Op<ResidualScaleArgs>& residual_scale_op();
const Op<NormLinearArgs>& norm_linear_op();
const Op<SwigluLinearArgs>& swiglu_linear_op();

// sum |x w| of each output of y = x W^T (x [T, Din], w W's values [Dout, Din]): the magnitudes of the
// rounded-inputs rule.
std::vector<double> linear_magnitudes(const std::vector<float>& x, const std::vector<float>& w, int tokens, int in,
                                      int out);

// y = x W^T for T tokens of random x against the host weights w (kept by the caller).
Case<LinearArgs> linear_case(int tokens, const WeightView& w, const std::string& name);
// T rows of random x normalised with the host weights w of dim D.
Case<RmsnormArgs> rmsnorm_case(int rows, const WeightView& w, float eps);
Case<SwigluArgs> swiglu_case(int rows, int dim);
// T tokens after `cache` cached ones of their sequence, causal within the pass (a verify segment).
Case<AttentionArgs> attention_case(int tokens, int cache, int q_heads, int kv_heads, int head_dim);

}  // namespace dllm::opcases
