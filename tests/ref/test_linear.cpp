#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

TEST(RefLinear, HandComputedWithBias) {
  const float w[] = {1, 2, 3, -1, 0, 0.5f};  // [2, 3]
  const float b[] = {0.5f, -2};
  const float x[] = {1, 1, 1, 2, 0, -2};  // [2, 3]
  float y[4];
  ref::linear<float>(LinearArgs{2, 3, 2, x, {DType::f32, w, 2, 3}, {DType::f32, b, 1, 2}, y});
  EXPECT_FLOAT_EQ(y[0], 6.5f);   // 1+2+3 + 0.5
  EXPECT_FLOAT_EQ(y[1], -2.5f);  // -1+0+0.5 - 2
  EXPECT_FLOAT_EQ(y[2], -3.5f);  // 2-6 + 0.5
  EXPECT_FLOAT_EQ(y[3], -5.0f);  // -2-1 - 2
}

TEST(RefLinear, HalfPrecisionWeightsEqualTheirF32Values) {
  for (DType dt : {DType::bf16, DType::f16}) {
    auto stored = testutil::make_weights(37, 97, dt, 1);
    auto as_f32 = testutil::make_weights(37, 97, DType::f32, 1);
    as_f32.values = stored.values;
    as_f32.view.data = as_f32.values.data();
    const auto x = testutil::random_floats(3 * 97, 2);
    std::vector<float> y1(3 * 37), y2(3 * 37);
    ref::linear<float>(LinearArgs{3, 97, 37, x.data(), stored.view, {}, y1.data()});
    ref::linear<float>(LinearArgs{3, 97, 37, x.data(), as_f32.view, {}, y2.data()});
    EXPECT_EQ(y1, y2) << dtype_name(dt);
  }
}

TEST(RefLinear, F32CloseToF64Accumulation) {
  auto w = testutil::make_weights(97, 1025, DType::f32, 3);
  const auto x = testutil::random_floats(7 * 1025, 4);
  std::vector<float> y32(7 * 97), y64(7 * 97);
  ref::linear<float>(LinearArgs{7, 1025, 97, x.data(), w.view, {}, y32.data()});
  ref::linear<double>(LinearArgs{7, 1025, 97, x.data(), w.view, {}, y64.data()});
  EXPECT_LT(testutil::max_rel_diff(y32, y64), 1e-5);
  EXPECT_NE(y32, y64);  // the two modes really differ in rounding
}

TEST(RefLinear, TokenResultIndependentOfPassSize) {
  auto w = testutil::make_weights(33, 64, DType::bf16, 5);
  const auto x = testutil::random_floats(17 * 64, 6);
  std::vector<float> all(17 * 33), one(33);
  ref::linear<float>(LinearArgs{17, 64, 33, x.data(), w.view, {}, all.data()});
  for (int t : {0, 5, 16}) {
    ref::linear<float>(LinearArgs{1, 64, 33, x.data() + t * 64, w.view, {}, one.data()});
    EXPECT_EQ(0, std::memcmp(one.data(), all.data() + t * 33, 33 * sizeof(float))) << "token " << t;
  }
}

TEST(RefLinear, TokenResultIndependentOfItsAddress) {
  // Din = 67: the tokens of a pass start at every alignment, and so does a copy at each offset.
  auto w = testutil::make_weights(33, 67, DType::bf16, 7);
  const auto x = testutil::random_floats(5 * 67, 8);
  for (bool f64 : {false, true}) {
    auto linear = f64 ? ref::linear<double> : ref::linear<float>;
    std::vector<float> all(5 * 33);
    linear(LinearArgs{5, 67, 33, x.data(), w.view, {}, all.data()});
    for (int t = 0; t < 5; ++t)
      for (int offset = 0; offset < 4; ++offset) {
        std::vector<float> in(size_t(offset + 67)), one(33);
        std::copy_n(x.data() + t * 67, 67, in.data() + offset);
        linear(LinearArgs{1, 67, 33, in.data() + offset, w.view, {}, one.data()});
        EXPECT_EQ(0, std::memcmp(one.data(), all.data() + t * 33, 33 * sizeof(float)))
            << "token " << t << " at offset " << offset << (f64 ? " f64" : " f32");
      }
  }
}
