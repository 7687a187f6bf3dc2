#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/pass.h"
#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;
using testutil::make_weights;

namespace {

WeightView f32_view(const std::vector<float>& v, int64_t rows, int64_t cols) {
  return WeightView{DType::f32, v.data(), rows, cols};
}

}  // namespace

TEST(RefCcaConv, HandComputedOneHead) {
  // One head of 2 channels: c1 = w1_0 * prev + w1_1 * x + b1, y = W2_0 c1(t-1) + W2_1 c1(t) + b2.
  const std::vector<float> w1 = {1, 2, 3, 4}, b1 = {0.5f, -0.5f};
  // w2 rows c*Dh + i, cols (tap 0, tap 1)
  const std::vector<float> w2 = {1, 0, 0, 1, 0, 2, 1, 1}, b2 = {0.25f, 0};
  const std::vector<float> x = {1, 1}, prev = {2, 0}, prev2 = {0, 1};
  std::vector<float> y(2);
  ref::cca_conv<double>(CcaConvArgs{1, 1, 2, x.data(), prev.data(), prev2.data(), f32_view(w1, 2, 2),
                                    f32_view(b1, 1, 2), f32_view(w2, 4, 2), f32_view(b2, 1, 2), y.data()});
  // c1(t-1) = {1*0 + 2*2 + 0.5, 3*1 + 4*0 - 0.5} = {4.5, 2.5}; c1(t) = {1*2 + 2*1 + 0.5, 0 + 4 - 0.5} = {4.5, 3.5}
  // y0 = 1*4.5 (tap0, i0) + 0*4.5 (tap1, i0) + 0*2.5 (tap0, i1) + 1*3.5 (tap1, i1) + 0.25 = 8.25
  // y1 = 0*4.5 + 2*4.5 + 1*2.5 + 1*3.5 = 15
  EXPECT_FLOAT_EQ(y[0], 8.25f);
  EXPECT_FLOAT_EQ(y[1], 15.0f);
}

TEST(RefCcaConv, FirstTokenSeesBiasOnZeroPadding) {
  // At the start of a sequence both predecessors are zero: c1(t-1) = b1, not 0.
  const int heads = 2, dh = 3, c = heads * dh;
  auto w1 = make_weights(c, 2, DType::f32, 1), b1 = make_weights(1, c, DType::f32, 2);
  auto w2 = make_weights(int64_t(c) * dh, 2, DType::f32, 3), b2 = make_weights(1, c, DType::f32, 4);
  const auto x = testutil::random_floats(size_t(c), 5);
  const std::vector<float> zero(size_t(c), 0.0f);
  std::vector<float> y(static_cast<size_t>(c));
  ref::cca_conv<double>(
      CcaConvArgs{1, heads, dh, x.data(), zero.data(), zero.data(), w1.view, b1.view, w2.view, b2.view, y.data()});
  for (int ch = 0; ch < c; ++ch) {
    const int base = ch / dh * dh;
    double want = b2.values[size_t(ch)];
    for (int i = 0; i < dh; ++i) {
      const double c1_prev = b1.values[size_t(base + i)];
      const double c1 = w1.values[size_t(base + i) * 2 + 1] * x[size_t(base + i)] + b1.values[size_t(base + i)];
      want += w2.values[(size_t(ch) * dh + i) * 2] * c1_prev + w2.values[(size_t(ch) * dh + i) * 2 + 1] * c1;
    }
    EXPECT_NEAR(y[size_t(ch)], want, 1e-5);
  }
}

TEST(RefCcaQk, NormsTemperatureAndMeanTerm) {
  const int hq = 4, hkv = 2, dh = 8, c = (hq + hkv) * dh;
  const auto qk0 = testutil::random_floats(size_t(c), 7);
  const std::vector<float> conv(size_t(c), 0.0f), temp = {0.5f, -2.0f};
  std::vector<float> q(size_t(hq) * dh), k(size_t(hkv) * dh);
  ref::cca_qk<double>(CcaQkArgs{1, hq, hkv, dh, qk0.data(), conv.data(), f32_view(temp, 1, 2), q.data(), k.data()});
  auto norm = [&](const float* v) {
    double s = 0;
    for (int i = 0; i < dh; ++i) s += double(v[i]) * v[i];
    return std::sqrt(s);
  };
  for (int h = 0; h < hq; ++h) {
    EXPECT_NEAR(norm(&q[size_t(h) * dh]), std::sqrt(double(dh)), 1e-5);
    // With a zero conv output q is the direction of (q0[h] + k0[h / G]) / 2.
    const float* q0 = &qk0[size_t(h) * dh];
    const float* k0 = &qk0[size_t(hq + h / 2) * dh];
    std::vector<float> qres(static_cast<size_t>(dh));
    for (int i = 0; i < dh; ++i) qres[size_t(i)] = (q0[i] + k0[i]) / 2;
    const double scale = std::sqrt(double(dh)) / norm(qres.data());
    for (int i = 0; i < dh; ++i) EXPECT_NEAR(q[size_t(h) * dh + i], qres[size_t(i)] * scale, 1e-5);
  }
  for (int j = 0; j < hkv; ++j)
    EXPECT_NEAR(norm(&k[size_t(j) * dh]), std::sqrt(double(dh)) * std::abs(temp[size_t(j)]), 1e-5);
  // k is the mean of its group's qres (G = 2), normalised, times its temperature.
  for (int i = 0; i < dh; ++i) {
    const double m0 =
        ((qk0[size_t(i)] + qk0[size_t(4 * dh + i)]) / 2 + (qk0[size_t(dh + i)] + qk0[size_t(4 * dh + i)]) / 2) / 2;
    EXPECT_GT(k[size_t(i)] * m0 * temp[0], -1e-9);  // same sign as the mean, scaled by a positive temperature
  }
}

TEST(RefCcaQk, ZeroVectorStaysFinite) {
  const int hq = 2, hkv = 1, dh = 4, c = (hq + hkv) * dh;
  const std::vector<float> zero(size_t(c), 0.0f), temp = {1.0f};
  std::vector<float> q(size_t(hq) * dh, 1.0f), k(size_t(dh), 1.0f);
  ref::cca_qk<float>(CcaQkArgs{1, hq, hkv, dh, zero.data(), zero.data(), f32_view(temp, 1, 1), q.data(), k.data()});
  for (float v : q) EXPECT_EQ(v, 0.0f);
  for (float v : k) EXPECT_EQ(v, 0.0f);
}

TEST(RefCcaState, GathersFromPassRingAndZeroThenStores) {
  // Two sequences, ring of 4 entries of C + Vh = 3 + 1 floats (q width 2, k width 1, Vh 1).
  const int qw = 2, kw = 1, vh = 1, w = qw + kw + vh, ring = 4;
  const int64_t stride = int64_t(ring) * w;
  std::vector<float> rings(size_t(2 * stride));
  for (size_t i = 0; i < rings.size(); ++i) rings[i] = 100.0f + float(i);  // entry r of seq s: 100 + s*16 + r*4 ..
  using Kind = RecurrentSource::Kind;
  // Token 0: sequence 1 after slots 4, 5 (ring entries 1, 0); it is stored at slot 6 (entry 2).
  // Token 1: follows token 0; t-2 is slot 5; stored at slot 8 (entry 0: its old content is slot 4's,
  // which token 0 reads: the read sees the old value). Token 2: sequence 0, first token, scratch.
  const std::vector<RecurrentSource> prev1 = {{Kind::cache, 5}, {Kind::pass, 0}, {Kind::zero, 0}};
  const std::vector<RecurrentSource> prev2 = {{Kind::cache, 4}, {Kind::cache, 5}, {Kind::zero, 0}};
  const std::vector<int32_t> seq = {1, 1, 0}, slot = {6, 8, kScratchSlot};
  const std::vector<float> q0 = {1, 2, 3, 4, 5, 6}, k0 = {7, 8, 9}, v_cur = {10, 11, 12}, vd = {13, 14, 15};
  std::vector<float> qk0(9), c0p(9), c0pp(9), v(6);
  std::vector<float> after = rings;
  CcaStateArgs a;
  a.tokens = 3, a.q_width = qw, a.k_width = kw, a.value_width = vh;
  a.q0 = q0.data(), a.k0 = k0.data(), a.v_cur = v_cur.data(), a.vd = vd.data();
  a.prev1 = prev1.data(), a.prev2 = prev2.data(), a.seq = seq.data(), a.slot = slot.data();
  a.ring = after.data(), a.seq_stride = stride, a.ring_size = ring;
  a.qk0 = qk0.data(), a.c0_prev = c0p.data(), a.c0_prev2 = c0pp.data(), a.v = v.data();
  ref::cca_state(a);
  auto entry = [&](int s, int r) { return rings.begin() + s * stride + r * w; };
  EXPECT_EQ(qk0, (std::vector<float>{1, 2, 7, 3, 4, 8, 5, 6, 9}));
  EXPECT_EQ(std::vector<float>(c0p.begin(), c0p.begin() + 3), std::vector<float>(entry(1, 1), entry(1, 1) + 3));
  EXPECT_EQ(std::vector<float>(c0pp.begin(), c0pp.begin() + 3), std::vector<float>(entry(1, 0), entry(1, 0) + 3));
  EXPECT_EQ(std::vector<float>(c0p.begin() + 3, c0p.begin() + 6), (std::vector<float>{1, 2, 7}));  // token 0's c0
  EXPECT_EQ(std::vector<float>(c0pp.begin() + 3, c0pp.begin() + 6), std::vector<float>(entry(1, 1), entry(1, 1) + 3));
  EXPECT_EQ(std::vector<float>(c0p.begin() + 6, c0p.end()), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(std::vector<float>(c0pp.begin() + 6, c0pp.end()), (std::vector<float>{0, 0, 0}));
  // v = [v_cur(t); vd(t-1)]: slot 5's delayed value, token 0's, zero.
  EXPECT_EQ(v, (std::vector<float>{10, *(entry(1, 1) + 3), 11, 13, 12, 0}));
  // Stores: slot 6 -> entry 2 and slot 8 -> entry 0 of sequence 1; nothing else changed.
  std::vector<float> want = rings;
  const std::vector<float> e6 = {1, 2, 7, 13}, e8 = {3, 4, 8, 14};
  std::copy(e6.begin(), e6.end(), want.begin() + stride + 2 * w);
  std::copy(e8.begin(), e8.end(), want.begin() + stride + 0 * w);
  EXPECT_EQ(after, want);
}
