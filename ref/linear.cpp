#include <Eigen/Core>

#include "ref/ref.h"

namespace dllm::ref {

// y[t, o] = sum_i x[t, i] * W[o, i] + bias[o], summed in order i = 0, 1, ... in Acc.
template <typename Acc>
void linear(const LinearArgs& a) {
  Eigen::Matrix<Acc, Eigen::Dynamic, 1> w_row(a.in);
  for (int o = 0; o < a.out; ++o) {
    for (int i = 0; i < a.in; ++i) w_row[i] = Acc(a.weight.at(o, i));
    const Acc bias = a.bias.empty() ? Acc(0) : Acc(a.bias.at(0, o));
    for (int t = 0; t < a.tokens; ++t) {
      const float* x = a.x + int64_t(t) * a.in;
      Acc sum = 0;
      for (int i = 0; i < a.in; ++i) sum += w_row[i] * Acc(x[i]);
      a.y[int64_t(t) * a.out + o] = float(sum + bias);
    }
  }
}

template void linear<float>(const LinearArgs&);
template void linear<double>(const LinearArgs&);

}  // namespace dllm::ref
