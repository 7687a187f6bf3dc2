#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ref/ref.h"

using namespace dllm;

TEST(RefArgmax, LowestIndexOfTheMaximumAndNonFiniteCount) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float x[6][4] = {
      {1, 3, 3, 2},           // a tie: the lower index
      {-5, -1, -7, -1},       // all negative
      {nan, 2, 4, nan},       // NaN is never the largest
      {-inf, -inf, 0, inf},   // +Inf is a value like any other
      {nan, nan, nan, nan},   // nothing ordered: 0
      {nan, -inf, nan, -inf}  // the maximum is -Inf, first at 1
  };
  int32_t index[6], non_finite[6];
  ref::argmax(ArgmaxArgs{6, 4, &x[0][0], index, non_finite});
  const int32_t want_index[6] = {1, 1, 2, 3, 0, 1}, want_non_finite[6] = {0, 0, 2, 3, 4, 4};
  for (int r = 0; r < 6; ++r) {
    EXPECT_EQ(index[r], want_index[r]) << "row " << r;
    EXPECT_EQ(non_finite[r], want_non_finite[r]) << "row " << r;
  }
}
