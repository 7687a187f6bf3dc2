// The reference's Eigen vocabulary: vectors and row-major matrices in the accumulation type Acc,
// views of the Args' float arrays row by row, and stored weights converted to Acc.
//
// Summation order. Every reduction (sum, dot, norm, max, matrix-vector product) runs on an owned
// Vector or Matrix, never straight on a view of the caller's memory: Eigen's vectorised order over
// an owned object depends on its shape alone, while over a view it also depends on the address
// (Eigen starts its packets at the first aligned element), which would make a token's result depend
// on where the token sits in a pass. Copy a row in with row_in<Acc>, then reduce it.
#pragma once
#include <Eigen/Core>
#include <cstdint>

#include "core/dtype.h"

namespace dllm::ref {

template <typename Acc>
using Vector = Eigen::Matrix<Acc, Eigen::Dynamic, 1>;
template <typename Acc>
using Matrix = Eigen::Matrix<Acc, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowView = Eigen::Map<Eigen::VectorXf>;
using ConstRowView = Eigen::Map<const Eigen::VectorXf>;

// Row r of a row-major [rows, n] float array, viewed in place.
inline ConstRowView row(const float* x, int64_t r, int64_t n) { return ConstRowView(x + r * n, n); }
inline RowView row(float* x, int64_t r, int64_t n) { return RowView(x + r * n, n); }

// Row r of a row-major [rows, n] float array, copied into Acc: the form reductions run on.
template <typename Acc>
Vector<Acc> row_in(const float* x, int64_t r, int64_t n) {
  return row(x, r, n).cast<Acc>();
}

// A stored weight matrix [rows, cols] in Acc, element by element through WeightView::at (exact:
// every stored dtype converts to f32 without rounding).
template <typename Acc>
Matrix<Acc> weight_matrix(const WeightView& w) {
  Matrix<Acc> m(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) m(r, c) = Acc(w.at(r, c));
  return m;
}

// A stored weight vector (a [1, n] view) in Acc; n zeros for an empty view (an absent bias).
template <typename Acc>
Vector<Acc> weight_vector(const WeightView& w, int64_t n) {
  if (w.empty()) return Vector<Acc>::Zero(n);
  return weight_matrix<Acc>(w).transpose();
}

// softmax(z) = exp(z - max z) / sum exp(z - max z).
template <typename Acc>
Vector<Acc> softmax_of(const Vector<Acc>& z) {
  const Vector<Acc> e = (z.array() - z.maxCoeff()).exp();
  return e / e.sum();
}

// The row-wise skeleton of the per-row ops (rmsnorm, softmax): f(x, y) for each row r of
// [rows, dim] x and y, with x a copy of row r in Acc (so y may alias x) and y a view of row r of y.
template <typename Acc, typename RowFn>
void for_each_row(int rows, int dim, const float* x, float* y, RowFn f) {
  for (int r = 0; r < rows; ++r) f(row_in<Acc>(x, r, dim), row(y, r, dim));
}

}  // namespace dllm::ref
