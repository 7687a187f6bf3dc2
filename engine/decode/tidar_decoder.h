// TiDAR diffusion decoding (DESIGN §3, ../shared/reference/algorithms.md §2.3-2.6 and §6): each step
// verifies the previous K drafts autoregressively and drafts the next K in one diffusion step, and
// commits the n accepted drafts plus one token (recovered or bonus): n + 1 tokens per step.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/decode/generation.h"
#include "engine/decode/tidar_layout.h"
#include "engine/model/transformer.h"

namespace dllm {

enum class Layout {
  single_forward,  // verify + P proposal blocks in one pass (as ZAYA1 ships it)
  two_forward,     // a verify pass, then a draft pass [c, mask x K]
};

struct TidarOptions {
  int block_size = 16;  // K
  Layout layout = Layout::single_forward;
  std::vector<int> levels;  // acceptance levels of the proposal blocks, sorted, with 0; empty: 0..K
  ProposalAttention proposal_attention = ProposalAttention::bidirectional;
  float mix_weight = 1.0f;         // 1: lossless
  float draft_temperature = 0.0f;  // 0: argmax drafter

  // Test hooks. draft_hook may replace the drafts for positions first_position.. before they are
  // verified (e.g. an oracle drafter). pass_hook sees every forward: the committed context (tokens
  // in the cache), the pass and its logits [T, V].
  std::function<void(int first_position, std::vector<int32_t>& drafts)> draft_hook;
  std::function<void(const std::vector<int32_t>& context, const Pass& pass, const std::vector<float>& logits)>
      pass_hook;
};

// "dense" (0..K), "P3" (0,6,16), "P5" (0,2,5,10,16) or a list "0,6,16". Throws on levels outside
// [0, K], unsorted or duplicate levels, or a set without 0.
std::vector<int> parse_levels(const std::string& spec, int block_size);

class TidarDecoder {
 public:
  TidarDecoder(Transformer& model, TidarOptions options);
  Generation generate(const GenerateRequest& request);

 private:

  Transformer& model_;
  TidarOptions opt_;
};

}  // namespace dllm
