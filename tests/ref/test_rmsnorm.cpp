#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefRmsnorm, HandComputed) {
  const float x[] = {1, 2, 3};
  const float w[] = {1, 0.5f, 2};
  float y[3];
  ref::rmsnorm<double>(RmsnormArgs{1, 3, 0.0f, x, {DType::f32, w, 1, 3}, y});
  const float inv = float(1.0 / std::sqrt(14.0 / 3.0));
  EXPECT_FLOAT_EQ(y[0], 1 * inv);
  EXPECT_FLOAT_EQ(y[1], 2 * inv * 0.5f);
  EXPECT_FLOAT_EQ(y[2], 3 * inv * 2);
}

TEST(RefRmsnorm, InPlaceEqualsOutOfPlaceAndF32CloseToF64) {
  auto w = testutil::make_weights(1, 1025, DType::bf16, 1);
  auto x = testutil::random_floats(3 * 1025, 2, 3.0f);
  std::vector<float> y32(x.size()), y64(x.size());
  ref::rmsnorm<float>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, y32.data()});
  ref::rmsnorm<double>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, y64.data()});
  EXPECT_LT(testutil::max_rel_diff(y32, y64), 1e-6);
  ref::rmsnorm<float>(RmsnormArgs{3, 1025, 1e-6f, x.data(), w.view, x.data()});
  EXPECT_EQ(x, y32);
}

namespace {

// Rows of an odd width start at every alignment: a row's result must not depend on where it sits
// (Eigen's vectorised sums would if they ran straight on a view of the caller's memory).
template <typename Acc>
void expect_row_independent_of_address() {
  const int rows = 5, dim = 37;
  auto w = testutil::make_weights(1, dim, DType::bf16, 3);
  const auto x = testutil::random_floats(size_t(rows) * dim, 4, 3.0f);
  std::vector<float> all(x.size());
  ref::rmsnorm<Acc>(RmsnormArgs{rows, dim, 1e-6f, x.data(), w.view, all.data()});
  for (int r = 0; r < rows; ++r)
    for (int offset = 0; offset < 4; ++offset) {
      std::vector<float> in(size_t(offset + dim)), out(in.size());
      std::copy_n(x.data() + r * dim, dim, in.data() + offset);
      ref::rmsnorm<Acc>(RmsnormArgs{1, dim, 1e-6f, in.data() + offset, w.view, out.data() + offset});
      EXPECT_EQ(0, std::memcmp(out.data() + offset, all.data() + r * dim, dim * sizeof(float)))
          << "row " << r << " at offset " << offset;
    }
}

}  // namespace

TEST(RefRmsnorm, RowResultIndependentOfItsAddress) {
  expect_row_independent_of_address<float>();
  expect_row_independent_of_address<double>();
}
