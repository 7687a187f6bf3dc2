#include "ref/ref.h"

namespace dllm::ref {

// The two ops one after the other: act.out holds silu(gate) * up, which the linear reads.
template <typename Acc>
void swiglu_linear(const SwigluLinearArgs& a) {
  swiglu(a.act);
  linear<Acc>(a.linear);
}

template void swiglu_linear<float>(const SwigluLinearArgs&);
template void swiglu_linear<double>(const SwigluLinearArgs&);

}  // namespace dllm::ref
