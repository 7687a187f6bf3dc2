#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

// y[t] = W x[t] + bias in Acc, one matrix-vector product per token: a token's result never depends
// on the other tokens of the call.
template <typename Acc>
void linear(const LinearArgs& a) {
  const Matrix<Acc> w = weight_matrix<Acc>(a.weight);          // [Dout, Din]
  const Vector<Acc> bias = weight_vector<Acc>(a.bias, a.out);  // [Dout]
  for (int t = 0; t < a.tokens; ++t) {
    const Vector<Acc> y = w * row_in<Acc>(a.x, t, a.in) + bias;
    row(a.y, t, a.out) = y.template cast<float>();
  }
}

template void linear<float>(const LinearArgs&);
template void linear<double>(const LinearArgs&);

}  // namespace dllm::ref
