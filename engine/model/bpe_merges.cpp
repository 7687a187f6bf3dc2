#include "engine/model/bpe_merges.h"

#include <functional>
#include <queue>

namespace dllm {

void BpeMerges::add(int32_t left, int32_t right, int32_t merged) {
  merges_.emplace(key(left, right), Merge{int32_t(merges_.size()), merged});
}

void BpeMerges::apply(std::vector<int32_t>& symbols) const {
  // The word is a linked list over its symbol positions; a heap holds the candidate merges, each
  // checked when it comes up (a position's token only grows, so a candidate whose two tokens are
  // still there is current).
  const int n = int(symbols.size());
  std::vector<int32_t>& token = symbols;  // [n] the token starting at each live position
  std::vector<int> next(symbols.size()), prev(symbols.size());
  for (int i = 0; i < n; ++i) {
    next[size_t(i)] = i + 1;
    prev[size_t(i)] = i - 1;
  }
  struct Candidate {
    int32_t rank, left, right;
    int at;  // position of the left token
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : at > o.at; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  const auto offer = [&](int at) {  // the pair starting at `at`, when the merges have it
    if (at < 0 || next[size_t(at)] >= n) return;
    const int32_t l = token[size_t(at)], r = token[size_t(next[size_t(at)])];
    const auto m = merges_.find(key(l, r));
    if (m != merges_.end()) heap.push({m->second.rank, l, r, at});
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  std::vector<bool> dead(symbols.size(), false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int r = next[size_t(c.at)];
    if (dead[size_t(c.at)] || r >= n || token[size_t(c.at)] != c.left || token[size_t(r)] != c.right) continue;
    token[size_t(c.at)] = merges_.at(key(c.left, c.right)).id;
    dead[size_t(r)] = true;
    next[size_t(c.at)] = next[size_t(r)];
    if (next[size_t(r)] < n) prev[size_t(next[size_t(r)])] = c.at;
    offer(prev[size_t(c.at)]);
    offer(c.at);
  }
  size_t live = 0;
  for (int i = 0; i < n; i = next[size_t(i)]) token[live++] = token[size_t(i)];
  symbols.resize(live);
}

}  // namespace dllm
