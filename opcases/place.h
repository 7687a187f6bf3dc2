// Where an op case's arrays live (the host, or a GPU's memory), and the arrays of one call: inputs
// copied from the host, outputs with guard words on both sides that catch out-of-bounds writes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "opcases/random.h"

namespace dllm::opcases {

// The memory a kernel reads and writes. Every call throws on failure.
class Place {
 public:
  virtual ~Place() = default;
  virtual void* alloc(size_t bytes) = 0;  // zeroed
  virtual void release(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;    // host -> place
  virtual void download(void* dst, const void* src, size_t bytes) = 0;  // place -> host
  virtual bool host() const { return false; }
};
Place& host_place();
Place& gpu_place();  // kernels/gpu's memory: GPU builds only

// n 4-byte outputs with kGuard sentinel words on each side. The sentinel is a NaN with a payload no
// kernel produces, so an output the kernel forgets stays NaN (and an int32 output a wrong number).
class GuardedArray {
 public:
  static constexpr size_t kGuard = 256;
  static constexpr uint32_t kSentinel = 0x7fbadbadu;
  GuardedArray(Place& place, size_t n);                        // the outputs start as the sentinel
  GuardedArray(Place& place, const std::vector<float>& init);  // in-place ops: they start as init
  ~GuardedArray();
  GuardedArray(const GuardedArray&) = delete;
  GuardedArray& operator=(const GuardedArray&) = delete;
  float* data() { return data_ + kGuard; }
  size_t size() const { return n_; }
  // The outputs' bits; *breach names the first overwritten guard word (left empty when intact).
  std::vector<uint32_t> read(std::string* breach) const;

 private:
  void fill(const std::vector<uint32_t>& middle);  // allocates: guard, middle, guard
  Place& place_;
  size_t n_;
  float* data_ = nullptr;
};

// One output array of a call, read back.
struct Output {
  std::string name;
  bool integer = false;  // int32 values (compared exactly)
  std::vector<uint32_t> bits;
  float at(size_t i) const;
  std::vector<float> floats() const;
};

// The arrays of one call on a place, owned until the Arena goes.
class Arena {
 public:
  explicit Arena(Place& place) : place_(place) {}
  Place& place() const { return place_; }
  // A copy of host values on the place.
  template <typename T>
  T* in(const std::vector<T>& host) {
    return static_cast<T*>(copy_in(host.data(), host.size() * sizeof(T)));
  }
  // n zeros on the place (the benchmarks': timing does not depend on the values)
  template <typename T>
  T* zeros(size_t n) {
    return static_cast<T*>(copy_in(nullptr, n * sizeof(T)));
  }
  WeightView in(const StoredWeights& w);  // w's bytes on the place
  WeightView in(const WeightView& host);  // the view itself on the host (read only), else a copy
  // Guarded outputs, compared with the reference's in the order they were made.
  float* out(const std::string& name, size_t n);
  float* inout(const std::string& name, const std::vector<float>& init);  // in place: starts as init
  int32_t* out_ints(const std::string& name, size_t n);
  // Guarded scratch of the kernel: its guards are checked, its contents not compared.
  float* scratch(const std::string& name, size_t n);
  // The outputs after the call; a guard breach of any array (scratch too) is added to *breaches.
  std::vector<Output> read(std::vector<std::string>* breaches) const;

 private:
  struct Array {
    std::string name;
    bool integer, compared;
    std::unique_ptr<GuardedArray> data;
  };
  void* copy_in(const void* host, size_t bytes);  // a new array holding host's bytes (zeros for null)
  float* add(const std::string& name, bool integer, bool compared, std::unique_ptr<GuardedArray> data);
  Place& place_;
  std::vector<std::shared_ptr<void>> inputs_;
  std::vector<Array> arrays_;
};

}  // namespace dllm::opcases
