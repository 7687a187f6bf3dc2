#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

// Per row: y = softmax(x / temperature).
template <typename Acc>
void softmax(const SoftmaxArgs& a) {
  for_each_row<Acc>(a.rows, a.dim, a.x, a.y, [&](const Vector<Acc>& x, RowView y) {
    y = softmax_of<Acc>(x / Acc(a.temperature)).template cast<float>();
  });
}

template void softmax<float>(const SoftmaxArgs&);
template void softmax<double>(const SoftmaxArgs&);

}  // namespace dllm::ref
