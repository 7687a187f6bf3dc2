// The merge step of BPE, as Hugging Face tokenizers runs it: a word's symbols (token ids) are merged
// pair by pair, always the pair whose merge has the lowest rank, the leftmost of equals, until no
// pair of neighbours has a merge.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace dllm {

class BpeMerges {
 public:
  // The next merge in rank order: left followed by right becomes `merged`. A pair given twice keeps
  // its first rank.
  void add(int32_t left, int32_t right, int32_t merged);
  // Merges `symbols` in place (n log n in the word's length).
  void apply(std::vector<int32_t>& symbols) const;

 private:
  struct Merge {
    int32_t rank;  // position in the merges list: lower merges first
    int32_t id;    // the merged token
  };
  static uint64_t key(int32_t left, int32_t right) { return uint64_t(uint32_t(left)) << 32 | uint32_t(right); }
  std::unordered_map<uint64_t, Merge> merges_;  // key(left, right) -> merge
};

}  // namespace dllm
