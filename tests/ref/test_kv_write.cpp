#include <gtest/gtest.h>

#include "ref/ref.h"

using namespace dllm;

TEST(RefKvWrite, WritesSlotsAndSkipsScratch) {
  // 2 sequences x 3 slots x (1 head x 2 dims); 3 tokens: seq 1 slot 2, scratch, seq 0 slot 0.
  std::vector<float> kc(12, -1), vc(12, -1);
  const float k[] = {1, 2, 3, 4, 5, 6}, v[] = {7, 8, 9, 10, 11, 12};
  const int32_t seq[] = {1, 0, 0}, slot[] = {2, -1, 0};
  ref::kv_write(KvWriteArgs{3, 1, 2, k, v, seq, slot, kc.data(), vc.data(), 6});
  const std::vector<float> k_expect = {5, 6, -1, -1, -1, -1, -1, -1, -1, -1, 1, 2};
  const std::vector<float> v_expect = {11, 12, -1, -1, -1, -1, -1, -1, -1, -1, 7, 8};
  EXPECT_EQ(kc, k_expect);
  EXPECT_EQ(vc, v_expect);
}
