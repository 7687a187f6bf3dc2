// A forward pass: the list of new tokens, each with what it attends to and where its K/V goes.
// One Transformer::forward(Pass) serves prefill, AR steps, TiDAR verify and proposal blocks and
// batches of sequences (docs/ARCHITECTURE.md, the life of a forward pass).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/ops.h"

namespace dllm {

inline constexpr int32_t kScratchSlot = -1;
inline constexpr int32_t kAfterCache = -1;

struct PassToken {
  int32_t seq = 0;                    // sequence (KV cache row) the token belongs to
  int32_t token = 0;                  // token id
  int32_t position = 0;               // RoPE position
  int32_t cache_slot = kScratchSlot;  // cache slot that receives its K/V, or scratch (pass-local only)
  Visibility vis;                     // cache [0, vis.cache_len) + pass tokens [a, b) and [c, e)
  // The token's recurrent predecessor (zaya's CCA convolutions and value shift): the pass index of
  // the token it follows, or kAfterCache: it follows its sequence's committed tokens
  // [0, vis.cache_len) (nothing when cache_len is 0). A TiDAR proposal block at level p follows
  // verify[p], not the token before it in the pass.
  int32_t prev = kAfterCache;
};

struct Pass {
  std::vector<PassToken> tokens;

  int size() const { return int(tokens.size()); }
  // Appends a run of tokens at positions first_position.. that attend to the cache [0, cache_len)
  // and causally to each other; their K/V go to the slots of their positions (to_cache) or stay
  // pass-local. Returns the index of the first one.
  int add_causal(int32_t seq, const std::vector<int32_t>& ids, int32_t first_position, int32_t cache_len,
                 bool to_cache) {
    const int begin = size();
    for (size_t i = 0; i < ids.size(); ++i) {
      PassToken t;
      t.seq = seq;
      t.token = ids[i];
      t.position = first_position + int32_t(i);
      t.cache_slot = to_cache ? t.position : kScratchSlot;
      t.vis = Visibility{cache_len, {begin, begin + int32_t(i) + 1}, {}};
      t.prev = i == 0 ? kAfterCache : begin + int32_t(i) - 1;
      tokens.push_back(t);
    }
    return begin;
  }
};

// What token i of `tokens` sees in a layer whose window is `window` positions (transformers'
// sliding_window: the query's own position and the window - 1 before it): the part of its
// Visibility at positions > position - window. Cache slot s holds position s and positions increase
// along each pass interval (as in every Pass the engine builds), so each part keeps a suffix.
inline Visibility sliding_window_visibility(const std::vector<PassToken>& tokens, int i, int window) {
  const PassToken& token = tokens[size_t(i)];
  const int32_t oldest = token.position - window + 1;  // the first position the window keeps
  Visibility v = token.vis;
  v.cache_begin = std::max(v.cache_begin, std::min(oldest, v.cache_len));
  for (Interval* iv : {&v.first, &v.second}) {
    int32_t lo = iv->begin, hi = iv->end;  // the first index at or after `oldest`, by bisection
    while (lo < hi) {
      const int32_t mid = lo + (hi - lo) / 2;
      if (tokens[size_t(mid)].position < oldest)
        lo = mid + 1;
      else
        hi = mid;
    }
    iv->begin = lo;
  }
  return v;
}

}  // namespace dllm
