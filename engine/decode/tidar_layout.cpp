#include "engine/decode/tidar_layout.h"

namespace dllm {

int add_verify_segment(Pass& pass, int32_t seq, int32_t anchor, const std::vector<int32_t>& drafts, int32_t cache_len) {
  std::vector<int32_t> ids = {anchor};
  ids.insert(ids.end(), drafts.begin(), drafts.end());
  return pass.add_causal(seq, ids, cache_len, cache_len, true);
}

int add_proposal_block(Pass& pass, int32_t seq, int verify_begin, int level, int block_size, int32_t mask_token,
                       int32_t cache_len, ProposalAttention attention) {
  const int begin = pass.size();
  for (int i = 0; i <= block_size; ++i) {
    PassToken t;
    t.seq = seq;
    t.token = mask_token;
    t.position = cache_len + level + 1 + i;
    t.cache_slot = kScratchSlot;
    const int32_t end = attention == ProposalAttention::bidirectional ? begin + block_size + 1 : begin + i + 1;
    t.vis = Visibility{cache_len, {verify_begin, verify_begin + level + 1}, {begin, end}};
    t.prev = i == 0 ? verify_begin + level : begin + i - 1;  // the block continues after verify[level]
    pass.tokens.push_back(t);
  }
  return begin;
}

int add_draft_block(Pass& pass, int32_t seq, int32_t anchor, int block_size, int32_t mask_token, int32_t cache_len) {
  const int begin = pass.size();
  for (int i = 0; i <= block_size; ++i) {
    PassToken t;
    t.seq = seq;
    t.token = i == 0 ? anchor : mask_token;
    t.position = cache_len + i;
    t.cache_slot = kScratchSlot;
    t.vis = Visibility{cache_len, {begin, i == 0 ? begin + 1 : begin + block_size + 1}, {}};
    t.prev = i == 0 ? kAfterCache : begin + i - 1;
    pass.tokens.push_back(t);
  }
  return begin;
}

}  // namespace dllm
