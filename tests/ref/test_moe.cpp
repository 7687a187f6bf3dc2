#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;
using testutil::make_weights;

TEST(RefMoe, TopOneExpertTimesWeightAndBothSkipRoutes) {
  const int d = 6, f = 5, e = 3, t = 4;
  auto gate_up = make_weights(int64_t(e) * 2 * f, d, DType::bf16, 1);
  auto down = make_weights(int64_t(e) * d, f, DType::bf16, 2);
  const auto x = testutil::random_floats(size_t(t) * d, 3);
  const std::vector<int32_t> expert = {2, 0, e, 1};
  const std::vector<float> weight = {0.5f, 0.9f, 0.3f, 1.0f};
  for (SkipRoute skip : {SkipRoute::zero, SkipRoute::identity}) {
    std::vector<float> y(x.size());
    ref::moe<double>(
        MoeArgs{t, d, f, e, skip, x.data(), expert.data(), weight.data(), gate_up.view, down.view, y.data()});
    for (int i = 0; i < t; ++i) {
      const int ex = expert[size_t(i)];
      for (int c = 0; c < d; ++c) {
        double want = 0;
        if (ex == e) {
          want = skip == SkipRoute::identity ? weight[size_t(i)] * x[size_t(i * d + c)] : 0.0;
        } else {
          for (int j = 0; j < f; ++j) {
            double g = 0, u = 0;
            for (int k = 0; k < d; ++k) {
              g += gate_up.values[size_t((ex * 2 * f + j) * d + k)] * x[size_t(i * d + k)];
              u += gate_up.values[size_t((ex * 2 * f + f + j) * d + k)] * x[size_t(i * d + k)];
            }
            want += down.values[size_t((ex * d + c) * f + j)] * (g / (1 + std::exp(-g)) * u);
          }
          want *= weight[size_t(i)];
        }
        EXPECT_NEAR(y[size_t(i * d + c)], want, 1e-5);
      }
    }
  }
}
