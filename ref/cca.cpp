#include <algorithm>
#include <cmath>
#include <limits>

#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

void cca_state(const CcaStateArgs& a) {
  const int qw = a.q_width, c = a.q_width + a.k_width, vh = a.value_width;
  // Ring entry of a cache slot of token t's sequence: [C + Vh].
  auto entry = [&](int t, int32_t slot) {
    return a.ring + int64_t(a.seq[t]) * a.seq_stride + int64_t(slot % a.ring_size) * (c + vh);
  };
  // c0 [C] and, when vd is given, the delayed value [Vh] of token t's predecessor s.
  auto gather = [&](int t, const RecurrentSource& s, float* c0, float* vd) {
    if (s.kind == RecurrentSource::Kind::pass) {
      std::copy_n(a.q0 + int64_t(s.index) * qw, qw, c0);
      std::copy_n(a.k0 + int64_t(s.index) * a.k_width, a.k_width, c0 + qw);
      if (vd) std::copy_n(a.vd + int64_t(s.index) * vh, vh, vd);
    } else if (s.kind == RecurrentSource::Kind::cache) {
      const float* e = entry(t, s.index);
      std::copy_n(e, c, c0);
      if (vd) std::copy_n(e + c, vh, vd);
    } else {
      std::fill_n(c0, c, 0.0f);
      if (vd) std::fill_n(vd, vh, 0.0f);
    }
  };
  for (int t = 0; t < a.tokens; ++t) {
    float* qk0 = a.qk0 + int64_t(t) * c;
    float* v = a.v + int64_t(t) * 2 * vh;
    std::copy_n(a.q0 + int64_t(t) * qw, qw, qk0);
    std::copy_n(a.k0 + int64_t(t) * a.k_width, a.k_width, qk0 + qw);
    std::copy_n(a.v_cur + int64_t(t) * vh, vh, v);
    gather(t, a.prev1[t], a.c0_prev + int64_t(t) * c, v + vh);
    gather(t, a.prev2[t], a.c0_prev2 + int64_t(t) * c, nullptr);
  }
  for (int t = 0; t < a.tokens; ++t) {  // after every gather: the reads see the ring as it was
    if (a.slot[t] < 0) continue;
    float* e = entry(t, a.slot[t]);
    std::copy_n(a.qk0 + int64_t(t) * c, c, e);
    std::copy_n(a.vd + int64_t(t) * vh, vh, e + c);
  }
}

// Per token and channel c of head h (channels h*Dh .. h*Dh + Dh - 1):
//   c1(t)[c]  = w1[c, 0] c0(t-1)[c] + w1[c, 1] c0(t)[c] + b1[c]   (and c1(t-1) from c0(t-2), c0(t-1))
//   y(t)[c]   = sum_i w2[c*Dh + i, 0] c1(t-1)[h*Dh + i] + w2[c*Dh + i, 1] c1(t)[h*Dh + i] + b2[c]
template <typename Acc>
void cca_conv(const CcaConvArgs& a) {
  const int dh = a.head_dim, c_total = a.heads * dh;
  const Matrix<Acc> w1 = weight_matrix<Acc>(a.w1);  // [C, 2]
  const Vector<Acc> b1 = weight_vector<Acc>(a.b1, c_total), b2 = weight_vector<Acc>(a.b2, c_total);
  // w2 [C * Dh, 2] split by tap: row c of each is channel c's weights over its head's Dh inputs.
  Matrix<Acc> w2_prev(c_total, dh), w2_cur(c_total, dh);  // [C, Dh] each
  for (int c = 0; c < c_total; ++c)
    for (int i = 0; i < dh; ++i) {
      w2_prev(c, i) = Acc(a.w2.at(int64_t(c) * dh + i, 0));
      w2_cur(c, i) = Acc(a.w2.at(int64_t(c) * dh + i, 1));
    }
  for (int t = 0; t < a.tokens; ++t) {
    const Vector<Acc> x = row_in<Acc>(a.x, t, c_total), prev = row_in<Acc>(a.prev, t, c_total),
                      prev2 = row_in<Acc>(a.prev2, t, c_total);
    const Vector<Acc> c1_prev = w1.col(0).cwiseProduct(prev2) + w1.col(1).cwiseProduct(prev) + b1;  // [C]
    const Vector<Acc> c1 = w1.col(0).cwiseProduct(prev) + w1.col(1).cwiseProduct(x) + b1;           // [C]
    Vector<Acc> y(c_total);
    for (int h = 0; h < a.heads; ++h) {
      const int first = h * dh;  // the head's channels
      y.segment(first, dh) = w2_prev.middleRows(first, dh) * c1_prev.segment(first, dh) +
                             w2_cur.middleRows(first, dh) * c1.segment(first, dh) + b2.segment(first, dh);
    }
    row(a.y, t, c_total) = y.template cast<float>();
  }
}

// Per token: the mean term m = (q0_h + k0_{h/G}) / 2 of each query head h, then
//   q_h = conv_h + m_h,  k_j = mean of m_h over j's G query heads + conv_{Hq + j},
// and each head normalised to norm sqrt(Dh) (times the temperature for k).
template <typename Acc>
void cca_qk(const CcaQkArgs& a) {
  const int dh = a.head_dim, hq = a.q_heads, hkv = a.kv_heads, g = hq / hkv;
  const int c_total = (hq + hkv) * dh;
  const Acc target = std::sqrt(Acc(dh)), eps = Acc(std::numeric_limits<float>::epsilon());
  // out <- x * sqrt(Dh) / max(|x|, eps) * scale, one head of Dh values.
  auto normalise = [&](const Vector<Acc>& x, RowView out, Acc scale) {
    const Acc f = target / std::max(x.norm(), eps) * scale;
    out = (x * f).template cast<float>();
  };
  for (int t = 0; t < a.tokens; ++t) {
    const Vector<Acc> qk0 = row_in<Acc>(a.qk0, t, c_total), conv = row_in<Acc>(a.conv, t, c_total);  // [C]
    Vector<Acc> k_sum = Vector<Acc>::Zero(hkv * dh);  // [Hkv * Dh] the mean terms of each kv head's group
    for (int h = 0; h < hq; ++h) {
      const int j = h / g;
      const Vector<Acc> mean = (qk0.segment(h * dh, dh) + qk0.segment((hq + j) * dh, dh)) / Acc(2);
      normalise(conv.segment(h * dh, dh) + mean, row(a.q, int64_t(t) * hq + h, dh), Acc(1));
      k_sum.segment(j * dh, dh) += mean;
    }
    for (int j = 0; j < hkv; ++j)
      normalise(k_sum.segment(j * dh, dh) / Acc(g) + conv.segment((hq + j) * dh, dh),
                row(a.k, int64_t(t) * hkv + j, dh), Acc(a.temperature.at(0, j)));
  }
}

template void cca_conv<float>(const CcaConvArgs&);
template void cca_conv<double>(const CcaConvArgs&);
template void cca_qk<float>(const CcaQkArgs&);
template void cca_qk<double>(const CcaQkArgs&);

}  // namespace dllm::ref
