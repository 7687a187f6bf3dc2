#include <gtest/gtest.h>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefEmbedding, CopiesRowsOfAnyDtype) {
  auto table = testutil::make_weights(11, 5, DType::bf16, 1);
  const int32_t ids[] = {10, 0, 10};
  float out[15];
  ref::embedding(EmbeddingArgs{3, 5, ids, table.view, out});
  for (int t = 0; t < 3; ++t)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(out[t * 5 + c], table.values[ids[t] * 5 + c]);
}
