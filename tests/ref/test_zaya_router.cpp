#include <gtest/gtest.h>

#include <cmath>

#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;
using testutil::make_weights;

namespace {

struct Router {
  static constexpr int d = 12, r = 8, e = 4;
  testutil::StoredWeights down = make_weights(r, d, DType::f32, 1), down_b = make_weights(1, r, DType::f32, 2),
                          scale = make_weights(1, r, DType::f32, 3), norm = make_weights(1, r, DType::f32, 4),
                          fc1 = make_weights(r, r, DType::f32, 5), fc1_b = make_weights(1, r, DType::f32, 6),
                          fc2 = make_weights(r, r, DType::f32, 7), fc2_b = make_weights(1, r, DType::f32, 8),
                          out = make_weights(e + 1, r, DType::f32, 9, 3.0f);
  std::vector<float> bias = std::vector<float>(e + 1, 0.0f);

  ZayaRouterArgs args(int tokens, const float* x, const float* state_in, float* state_out, int32_t* expert,
                      float* weight) const {
    ZayaRouterArgs a;
    a.tokens = tokens, a.dim = d, a.router_dim = r, a.experts = e;
    a.x = x, a.state_in = state_in;
    a.down = down.view, a.down_bias = down_b.view, a.state_scale = scale.view, a.norm = norm.view;
    a.fc1 = fc1.view, a.fc1_bias = fc1_b.view, a.fc2 = fc2.view, a.fc2_bias = fc2_b.view, a.out = out.view;
    a.balancing_bias = WeightView{DType::f32, bias.data(), 1, e + 1};
    a.state_out = state_out, a.expert = expert, a.weight = weight;
    return a;
  }
};

}  // namespace

TEST(RefZayaRouter, PicksArgmaxWithUnrenormalisedProbability) {
  Router rt;
  const int t = 16;
  const auto x = testutil::random_floats(size_t(t) * Router::d, 10);
  std::vector<float> state(size_t(t) * Router::r), w(t);
  std::vector<int32_t> ex(t);
  ref::zaya_router<double>(rt.args(t, x.data(), nullptr, state.data(), ex.data(), w.data()));
  // state_out is the router input u = W_down x + b.
  std::vector<float> u(state.size());
  ref::linear<double>(LinearArgs{t, Router::d, Router::r, x.data(), rt.down.view, rt.down_b.view, u.data()});
  EXPECT_LT(testutil::max_rel_diff(state, u), 1e-6);
  for (int i = 0; i < t; ++i) {
    EXPECT_GE(ex[size_t(i)], 0);
    EXPECT_LE(ex[size_t(i)], Router::e);
    EXPECT_GT(w[size_t(i)], 1.0f / (Router::e + 1) - 1e-6f);  // the top probability of 5 classes
    EXPECT_LT(w[size_t(i)], 1.0f);
  }
}

TEST(RefZayaRouter, BalancingBiasChangesChoiceNotWeightAndSelectsSkip) {
  Router rt;
  const int t = 8;
  const auto x = testutil::random_floats(size_t(t) * Router::d, 11);
  std::vector<float> state(size_t(t) * Router::r), w0(t), w1(t);
  std::vector<int32_t> e0(t), e1(t);
  ref::zaya_router<double>(rt.args(t, x.data(), nullptr, state.data(), e0.data(), w0.data()));
  rt.bias[Router::e] = 10.0f;  // force the skip route
  ref::zaya_router<double>(rt.args(t, x.data(), nullptr, state.data(), e1.data(), w1.data()));
  for (int i = 0; i < t; ++i) {
    EXPECT_EQ(e1[size_t(i)], Router::e);
    if (e0[size_t(i)] == Router::e)
      EXPECT_EQ(w0[size_t(i)], w1[size_t(i)]);
    else
      EXPECT_LT(w1[size_t(i)], w0[size_t(i)]);  // the skip route's own probability, not the max
  }
}

TEST(RefZayaRouter, CarriesScaledStateFromThePreviousLayer) {
  Router rt;
  const int t = 3;
  const auto x = testutil::random_floats(size_t(t) * Router::d, 12);
  const auto prev = testutil::random_floats(size_t(t) * Router::r, 13);
  std::vector<float> s0(prev.size()), s1(prev.size()), w(t);
  std::vector<int32_t> ex(t);
  ref::zaya_router<double>(rt.args(t, x.data(), nullptr, s0.data(), ex.data(), w.data()));
  ref::zaya_router<double>(rt.args(t, x.data(), prev.data(), s1.data(), ex.data(), w.data()));
  for (size_t i = 0; i < s0.size(); ++i) EXPECT_NEAR(s1[i], s0[i] + prev[i] * rt.scale.values[i % Router::r], 1e-5);
}
