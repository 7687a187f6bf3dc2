#include <vector>

#include "ref/ref.h"

namespace dllm::ref {

namespace {

// Rows [first, first + n) of a matrix view.
WeightView rows_of(const WeightView& w, int64_t first, int64_t n) {
  WeightView v = w;
  v.data = static_cast<const uint8_t*>(w.data) + size_t(first * w.cols) * dtype_size(w.dtype);
  v.rows = n;
  return v;
}

}  // namespace

template <typename Acc>
void moe(const MoeArgs& a) {
  const int d = a.dim, f = a.ffn;
  std::vector<float> gate(static_cast<size_t>(f)), up(gate.size()), out(static_cast<size_t>(d));
  for (int t = 0; t < a.tokens; ++t) {
    const float* x = a.x + int64_t(t) * d;
    float* y = a.y + int64_t(t) * d;
    const int e = a.expert[t];
    const float w = a.weight[t];
    if (e == a.experts) {  // the skip route
      for (int i = 0; i < d; ++i) y[i] = a.skip == SkipRoute::identity ? float(Acc(w) * Acc(x[i])) : 0.0f;
      continue;
    }
    linear<Acc>(LinearArgs{1, d, f, x, rows_of(a.gate_up, int64_t(e) * 2 * f, f), WeightView{}, gate.data()});
    linear<Acc>(LinearArgs{1, d, f, x, rows_of(a.gate_up, int64_t(e) * 2 * f + f, f), WeightView{}, up.data()});
    swiglu(SwigluArgs{1, f, gate.data(), up.data(), gate.data()});
    linear<Acc>(LinearArgs{1, f, d, gate.data(), rows_of(a.down, int64_t(e) * d, d), WeightView{}, out.data()});
    for (int i = 0; i < d; ++i) y[i] = float(Acc(w) * Acc(out[size_t(i)]));
  }
}

template void moe<float>(const MoeArgs&);
template void moe<double>(const MoeArgs&);

}  // namespace dllm::ref
