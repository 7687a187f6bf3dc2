#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefSoftmax, KnownValuesWithTemperature) {
  const float x[] = {0, std::log(2.0f), std::log(5.0f), 1000, 1000};
  float y[5];
  ref::softmax<double>(SoftmaxArgs{1, 3, 1.0f, x, y});
  EXPECT_FLOAT_EQ(y[0], 0.125f);
  EXPECT_FLOAT_EQ(y[1], 0.25f);
  EXPECT_FLOAT_EQ(y[2], 0.625f);
  ref::softmax<float>(SoftmaxArgs{1, 2, 2.0f, x + 3, y});  // large logits: no overflow
  EXPECT_FLOAT_EQ(y[0], 0.5f);
}

namespace {

// Rows of an odd width start at every alignment: a row's result must not depend on where it sits
// (Eigen's vectorised sums would if they ran straight on a view of the caller's memory).
template <typename Acc>
void expect_row_independent_of_address() {
  const int rows = 5, dim = 37;
  const auto x = testutil::random_floats(size_t(rows) * dim, 5, 4.0f);
  std::vector<float> all(x.size());
  ref::softmax<Acc>(SoftmaxArgs{rows, dim, 0.7f, x.data(), all.data()});
  for (int r = 0; r < rows; ++r)
    for (int offset = 0; offset < 4; ++offset) {
      std::vector<float> in(size_t(offset + dim)), out(in.size());
      std::copy_n(x.data() + r * dim, dim, in.data() + offset);
      ref::softmax<Acc>(SoftmaxArgs{1, dim, 0.7f, in.data() + offset, out.data() + offset});
      EXPECT_EQ(0, std::memcmp(out.data() + offset, all.data() + r * dim, dim * sizeof(float)))
          << "row " << r << " at offset " << offset;
    }
}

}  // namespace

TEST(RefSoftmax, RowResultIndependentOfItsAddress) {
  expect_row_independent_of_address<float>();
  expect_row_independent_of_address<double>();
}
