// The passes of TiDAR decoding (docs/ARCHITECTURE.md, decoders), built from the one
// Pass form. Positions: the anchor `a` (committed, not yet in the cache) sits at L, the cache holds
// [0, L). Shapes: K = block size.
#pragma once
#include <vector>

#include "core/pass.h"

namespace dllm {

enum class ProposalAttention { bidirectional, causal };

// Verify segment [a, d1..dK] at positions L..L+K, causal, K/V into the real cache slots (rejected
// slots are overwritten by a later pass, never read). Returns the index of its first token.
int add_verify_segment(Pass& pass, int32_t seq, int32_t anchor, const std::vector<int32_t>& drafts, int32_t cache_len);

// Proposal block for acceptance level p of the verify segment starting at pass index `verify_begin`:
// K+1 mask tokens at positions L+p+1..L+p+K+1, seeing the cache, verify[0..p] and their own block
// (bidirectional, or causal inside the block), K/V in scratch. Row i (1..K) drafts position L+p+1+i.
int add_proposal_block(Pass& pass, int32_t seq, int verify_begin, int level, int block_size, int32_t mask_token,
                       int32_t cache_len, ProposalAttention attention);

// Draft block of the two-forward layout: [c, mask x K] at positions L..L+K where c is the anchor at
// L; c attends causally (a clean token, as in training), the masks see the cache, c and the whole
// block. K/V in scratch. Row i (1..K) drafts position L+i.
int add_draft_block(Pass& pass, int32_t seq, int32_t anchor, int block_size, int32_t mask_token, int32_t cache_len);

}  // namespace dllm
