#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

template <typename Acc>
void cca_conv(const CcaConvArgs& a) {
  const int dh = a.head_dim, c_total = a.heads * dh;
  std::vector<Acc> c1_prev(static_cast<size_t>(c_total)), c1(static_cast<size_t>(c_total));
  for (int t = 0; t < a.tokens; ++t) {
    const int64_t row = int64_t(t) * c_total;
    for (int c = 0; c < c_total; ++c) {
      const Acc w0 = Acc(a.w1.at(c, 0)), w1 = Acc(a.w1.at(c, 1)), b = Acc(a.b1.at(0, c));
      c1_prev[size_t(c)] = w0 * Acc(a.prev2[row + c]) + w1 * Acc(a.prev[row + c]) + b;
      c1[size_t(c)] = w0 * Acc(a.prev[row + c]) + w1 * Acc(a.x[row + c]) + b;
    }
    for (int c = 0; c < c_total; ++c) {
      const int base = (c / dh) * dh;  // first channel of c's head
      Acc sum = 0;
      for (int i = 0; i < dh; ++i) {
        const int64_t w_row = int64_t(c) * dh + i;
        sum += Acc(a.w2.at(w_row, 0)) * c1_prev[size_t(base + i)] + Acc(a.w2.at(w_row, 1)) * c1[size_t(base + i)];
      }
      a.y[row + c] = float(sum + Acc(a.b2.at(0, c)));
    }
  }
}

template <typename Acc>
void cca_qk(const CcaQkArgs& a) {
  const int dh = a.head_dim, hq = a.q_heads, hkv = a.kv_heads, g = hq / hkv;
  const int c_total = (hq + hkv) * dh;
  const Acc target = std::sqrt(Acc(dh)), eps = Acc(std::numeric_limits<float>::epsilon());
  std::vector<Acc> q(static_cast<size_t>(hq * dh)), k(static_cast<size_t>(hkv * dh));
  // x <- x * sqrt(Dh) / max(|x|, eps) * scale, one head of Dh values.
  auto normalise = [&](const Acc* x, float* out, Acc scale) {
    Acc sum_sq = 0;
    for (int i = 0; i < dh; ++i) sum_sq += x[i] * x[i];
    const Acc f = target / std::max(std::sqrt(sum_sq), eps) * scale;
    for (int i = 0; i < dh; ++i) out[i] = float(x[i] * f);
  };
  for (int t = 0; t < a.tokens; ++t) {
    const float* qk0 = a.qk0 + int64_t(t) * c_total;
    const float* conv = a.conv + int64_t(t) * c_total;
    const float* k0 = qk0 + hq * dh;
    std::fill(k.begin(), k.end(), Acc(0));
    for (int h = 0; h < hq; ++h) {
      const int j = h / g;
      for (int i = 0; i < dh; ++i) {
        const Acc qres = (Acc(qk0[h * dh + i]) + Acc(k0[j * dh + i])) / Acc(2);
        q[size_t(h * dh + i)] = Acc(conv[h * dh + i]) + qres;
        k[size_t(j * dh + i)] += qres;
      }
    }
    for (int j = 0; j < hkv; ++j)
      for (int i = 0; i < dh; ++i)
        k[size_t(j * dh + i)] = k[size_t(j * dh + i)] / Acc(g) + Acc(conv[(hq + j) * dh + i]);
    for (int h = 0; h < hq; ++h) normalise(&q[size_t(h * dh)], a.q + (int64_t(t) * hq + h) * dh, Acc(1));
    for (int j = 0; j < hkv; ++j)
      normalise(&k[size_t(j * dh)], a.k + (int64_t(t) * hkv + j) * dh, Acc(a.temperature.at(0, j)));
  }
}

template void cca_conv<float>(const CcaConvArgs&);
template void cca_conv<double>(const CcaConvArgs&);
template void cca_qk<float>(const CcaQkArgs&);
template void cca_qk<double>(const CcaQkArgs&);

}  // namespace dllm::ref
