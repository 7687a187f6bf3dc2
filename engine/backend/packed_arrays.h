// Several small arrays packed into one buffer, with a host twin: a forward pass's inputs (token ids,
// positions, visibility, draws ...) go to the backend in one upload and its outputs (tokens, counts)
// come back in one download, instead of one copy (and, on a GPU, one synchronisation) per array.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/backend/buffer.h"

namespace dllm {

class PackedArrays {
 public:
  explicit PackedArrays(Memory& memory) : device_(memory) {}

  // A new layout: add() places arrays one after another, each at a kAlign-byte boundary, and returns
  // its byte offset; reserve() then sizes the backend buffer.
  void clear() { bytes_ = 0; }
  template <typename T>
  size_t add(size_t n) {
    const size_t offset = (bytes_ + kAlign - 1) / kAlign * kAlign;
    bytes_ = offset + n * sizeof(T);
    return offset;
  }
  // Returns whether the backend buffer moved (its array pointers changed).
  bool reserve() {
    host_.resize((bytes_ + kAlign - 1) / kAlign);
    return device_.resize(bytes_);
  }

  template <typename T>
  T* host(size_t offset) {
    return reinterpret_cast<T*>(host_bytes() + offset);
  }
  template <typename T>
  T* device(size_t offset) {
    return reinterpret_cast<T*>(device_.data() + offset);
  }
  void upload() { device_.memory().upload(device_.data(), host_bytes(), bytes_); }
  void download() { device_.download(host_bytes(), bytes_); }

 private:
  static constexpr size_t kAlign = alignof(std::max_align_t);  // enough for every op argument type
  unsigned char* host_bytes() { return reinterpret_cast<unsigned char*>(host_.data()); }

  std::vector<std::max_align_t> host_;  // bytes_ bytes, aligned like every array in them
  Buffer<unsigned char> device_;
  size_t bytes_ = 0;
};

}  // namespace dllm
