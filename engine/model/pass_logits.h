// The logits one forward computed for its requested rows, left where the backend computed them
// ([rows, V]; device memory on a GPU). Each row's token came back with the pass ([rows] ints,
// computed where the logits are: the argmax, or a draw under the row's RowDraw, which covers AR
// sampling and every TiDAR verification rule), so decoding reads no logits at all; a whole row
// crosses to the host only when a caller asks for it (shared rollout prefills, hooks, tools).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/backend/buffer.h"

namespace dllm {

class PassLogits {
 public:
  explicit PassLogits(Memory& memory) : device_(memory) {}

  int rows() const { return int(argmax_.size()); }
  int vocab() const { return vocab_; }
  int32_t argmax(int r) const { return argmax_.at(size_t(r)); }
  // The token row r draws under the RowDraw the forward was given for it (its argmax without one).
  int32_t token(int r) const { return token_.at(size_t(r)); }
  // How far the draw's mix moved row r's target distribution ({0, 0, 1} without a mix partner).
  MixDivergence divergence(int r) const { return divergence_.empty() ? MixDivergence{} : divergence_.at(size_t(r)); }
  // Row r [V] where the backend holds it (device memory on a GPU): a mix partner for a later pass.
  const float* device_row(int r) const;
  // Row r [V] in host memory: read in place from host memory, downloaded once per pass otherwise.
  const float* row(int r) const;
  // Rows handed to the host since this object was made (each pass's row counts once).
  int64_t rows_read() const { return rows_read_; }

  // The Transformer's side: the [rows, V] storage a forward writes, then the argmaxes and tokens it
  // computed.
  Buffer<float>& storage(int rows, int vocab);
  void set_tokens(std::vector<int32_t> argmax, std::vector<int32_t> token, std::vector<MixDivergence> divergence);

 private:
  Buffer<float> device_;  // [rows, V] in the backend's memory
  int vocab_ = 0;
  std::vector<int32_t> argmax_, token_;    // [rows] each
  std::vector<MixDivergence> divergence_;  // [rows], or empty when no row was mixed
  mutable std::vector<float> host_;        // [rows, V] downloaded rows (device memory only)
  mutable std::vector<bool> on_host_;      // [rows]
  mutable int64_t rows_read_ = 0;
};

}  // namespace dllm
