// The whole-model reference: recomputes a full sequence from scratch, with no KV cache, from the
// reference ops. It is the independent truth every engine pass (prefill, AR step, TiDAR verify and
// proposal rows, after rollbacks) is checked against.
#pragma once
#include <vector>

#include "core/model.h"
#include "core/pass.h"

namespace dllm::ref {

// Logits [N, V] of a full sequence. Every token must have vis.cache_len == 0: its visibility is
// expressed in indices of `tokens` (a causal sequence: token i sees [0, i + 1)). Dynamic RoPE turns
// every token by the sequence's length, as one transformers call over it does (an engine that
// decodes with a cache turns each token by the length of the pass that computed it instead).
template <typename Acc>
std::vector<float> model_forward(const ModelConfig& cfg, const ModelWeights& w, const std::vector<PassToken>& tokens);

// model_forward for zaya models (ref/zaya_model.cpp). PassToken::prev is an index into `tokens`,
// or -1 at the start of the sequence.
template <typename Acc>
std::vector<float> zaya_model_forward(const ModelConfig& cfg, const ModelWeights& w,
                                      const std::vector<PassToken>& tokens);

// The attention step of both references, dense and zaya, in layer `layer`: RoPE on q [N, Hq*Dh] and
// k [N, Hkv*Dh] at the tokens' positions (in place), then each token attends to the tokens its
// Visibility names (indices into the same N tokens, no cache), within the window in a sliding-window
// layer. v: [N, Hkv*Dh]; out: [N, Hq*Dh].
template <typename Acc>
void rope_attend(const ModelConfig& cfg, int layer, const std::vector<PassToken>& tokens, std::vector<float>& q,
                 std::vector<float>& k, const std::vector<float>& v, std::vector<float>& out);

// Logits [T, V] of a pass of one sequence whose committed context is `context` (positions
// 0..L-1, causal): the context and the pass are recomputed together. Every pass token must have
// vis.cache_len == L, i.e. see the whole context, as every decoder pass does, and a first interval
// that is empty or starts at pass index 0 (a single-sequence pass).
template <typename Acc>
std::vector<float> pass_logits(const ModelConfig& cfg, const ModelWeights& w, const std::vector<int32_t>& context,
                               const Pass& pass);

}  // namespace dllm::ref
