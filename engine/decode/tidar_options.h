// The options of TiDAR decoding, in one place: what they are, how the level spec is spelled, whether
// a model can run them, and how far each layout's passes reach and how large they are. Every caller
// (generate, verify, the bench planner and runner, the TiDAR sequence itself) asks this type.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/pass.h"
#include "engine/decode/tidar_layout.h"

namespace dllm {

enum class Layout {
  single_forward,  // verify + P proposal blocks in one pass (as ZAYA1 ships it)
  two_forward,     // a verify pass, then a draft pass [c, mask x K]
};

// "single" / "two", the spelling of --layout and of reports.
Layout parse_layout(const std::string& name);
const char* layout_name(Layout layout);

// "dense" (0..K), "P3" (0,6,16), "P5" (0,2,5,10,16), "zyphra" (0,4,7,11: Zyphra's TiDAR README) or a
// list "0,6,16". Throws on levels outside
// [0, K], unsorted or duplicate levels, or a set without 0.
std::vector<int> parse_levels(const std::string& spec, int block_size);
// The shortest spelling of a level set: "dense", "P3", "P5", "zyphra" or the comma list.
std::string levels_spec(const std::vector<int>& levels, int block_size);

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

  // The levels in use: `levels`, or every level 0..K when it is empty.
  std::vector<int> level_set() const;
  // Positions past the anchor a step's passes reach: K (verify segment, draft block) or, with
  // proposal blocks, 2K + 1 (level K's block ends at L + 2K + 1).
  int lookahead() const;
  // Tokens of one forward: (K + 1) x (1 + levels) in the single-forward layout, K + 1 in each of the
  // two forwards of the two-forward layout.
  int pass_tokens() const;
  int forwards_per_step() const { return layout == Layout::single_forward ? 1 : 2; }

  // Throws a user-facing error when `cfg` cannot run these options: no mask token, K below 1 or too
  // large for the model's context, a zaya model whose recurrent-state ring K + 1 verify slots would
  // wrap onto, levels outside [0, K] or without 0, a mixing weight outside [0, 1], a negative draft
  // temperature.
  void validate(const ModelConfig& cfg) const;
};

}  // namespace dllm
