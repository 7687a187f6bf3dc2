#include "ref/ref.h"

namespace dllm::ref {

// The two ops one after the other: norm.y holds the normalised rows the linear reads.
template <typename Acc>
void norm_linear(const NormLinearArgs& a) {
  rmsnorm<Acc>(a.norm);
  linear<Acc>(a.linear);
}

template void norm_linear<float>(const NormLinearArgs&);
template void norm_linear<double>(const NormLinearArgs&);

}  // namespace dllm::ref
