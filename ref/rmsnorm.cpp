#include <cmath>

#include "ref/eigen.h"
#include "ref/ref.h"

namespace dllm::ref {

// As in Hugging Face, per row: y = weight * (x * rsqrt(mean(x^2) + eps)).
template <typename Acc>
void rmsnorm(const RmsnormArgs& a) {
  const Vector<Acc> weight = weight_vector<Acc>(a.weight, a.dim);  // [dim]
  for_each_row<Acc>(a.rows, a.dim, a.x, a.y, [&](const Vector<Acc>& x, RowView y) {
    const Acc inv = Acc(1) / std::sqrt(x.squaredNorm() / Acc(a.dim) + Acc(a.eps));
    y = weight.cwiseProduct(x * inv).template cast<float>();
  });
}

template void rmsnorm<float>(const RmsnormArgs&);
template void rmsnorm<double>(const RmsnormArgs&);

}  // namespace dllm::ref
