// An array of T in a backend's memory (host or device), owned: the workspaces of a forward pass and
// the KV cache live in the memory the backend's ops read.
#pragma once
#include <cstddef>
#include <utility>

#include "engine/backend/backend.h"

namespace dllm {

template <typename T>
class Buffer {
 public:
  explicit Buffer(Memory& memory) : memory_(&memory) {}
  Buffer(Memory& memory, size_t n) : memory_(&memory) { resize(n); }
  ~Buffer() { memory_->release(data_); }
  Buffer(Buffer&& o) noexcept
      : memory_(o.memory_),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;

  // n elements; the storage only grows, and growing does not keep the contents (a fresh buffer is
  // zeroed). Workspaces are rewritten by every pass.
  // Returns whether the storage moved (data() changed).
  bool resize(size_t n) {
    const bool grow = n > capacity_;
    if (grow) {
      memory_->release(data_);
      data_ = nullptr, capacity_ = 0;
      data_ = static_cast<T*>(memory_->alloc(n * sizeof(T)));
      capacity_ = n;
    }
    size_ = n;
    return grow;
  }
  // Resizes to n and copies n host elements in.
  void assign(const T* host, size_t n) {
    resize(n);
    memory_->upload(data_, host, n * sizeof(T));
  }
  // Copies the first n elements out to the host.
  void download(T* host, size_t n) const { memory_->download(host, data_, n * sizeof(T)); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  Memory& memory() const { return *memory_; }

 private:
  Memory* memory_;
  T* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

}  // namespace dllm
