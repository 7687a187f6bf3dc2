#include "opcases/place.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/check.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

class HostPlace : public Place {
 public:
  // Zeroed by writing, not calloc's untouched pages: those all map the one zero page, which a
  // benchmark would read from the cache instead of from memory.
  void* alloc(size_t bytes) override {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return std::memset(p, 0, bytes);
  }
  void release(void* p) noexcept override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  bool host() const override { return true; }
};

}  // namespace

Place& host_place() {
  static HostPlace place;
  return place;
}

#ifdef DLLM_HAVE_GPU
namespace {
class GpuPlace : public Place {
 public:
  void* alloc(size_t bytes) override { return gpu::alloc(bytes); }
  void release(void* p) noexcept override { gpu::release(p); }
  void upload(void* dst, const void* src, size_t bytes) override { gpu::upload(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { gpu::download(dst, src, bytes); }
};
}  // namespace

Place& gpu_place() {
  static GpuPlace place;
  return place;
}
#endif

GuardedArray::GuardedArray(Place& place, size_t n) : place_(place), n_(n) { fill(std::vector<uint32_t>(n, kSentinel)); }

GuardedArray::GuardedArray(Place& place, const std::vector<float>& init) : place_(place), n_(init.size()) {
  std::vector<uint32_t> bits(n_);
  std::memcpy(bits.data(), init.data(), n_ * 4);
  fill(bits);
}

void GuardedArray::fill(const std::vector<uint32_t>& middle) {
  std::vector<uint32_t> host(n_ + 2 * kGuard, kSentinel);
  std::copy(middle.begin(), middle.end(), host.begin() + long(kGuard));
  data_ = static_cast<float*>(place_.alloc(host.size() * 4));
  place_.upload(data_, host.data(), host.size() * 4);
}

GuardedArray::~GuardedArray() { place_.release(data_); }

std::vector<uint32_t> GuardedArray::read(std::string* breach) const {
  std::vector<uint32_t> host(n_ + 2 * kGuard);
  place_.download(host.data(), data_, host.size() * 4);
  for (size_t i = 0; i < kGuard && breach->empty(); ++i) {
    if (host[kGuard - 1 - i] != kSentinel)
      *breach = "write " + std::to_string(i + 1) + " values before the output";
    else if (host[kGuard + n_ + i] != kSentinel)
      *breach = "write " + std::to_string(i + 1) + " values past the output";
  }
  return std::vector<uint32_t>(host.begin() + long(kGuard), host.begin() + long(kGuard + n_));
}

float Output::at(size_t i) const {
  float f;
  std::memcpy(&f, &bits[i], 4);
  return f;
}

std::vector<float> Output::floats() const {
  std::vector<float> v(bits.size());
  std::memcpy(v.data(), bits.data(), bits.size() * 4);
  return v;
}

void* Arena::copy_in(const void* host, size_t bytes) {
  Place* place = &place_;
  std::shared_ptr<void> p(place->alloc(bytes), [place](void* q) { place->release(q); });
  if (host) place->upload(p.get(), host, bytes);
  inputs_.push_back(p);
  return p.get();
}

WeightView Arena::in(const StoredWeights& w) {
  WeightView v = w.view;
  v.data = copy_in(w.bytes.data(), w.bytes.size());
  return v;
}

WeightView Arena::in(const WeightView& host) {
  if (place_.host()) return host;
  WeightView v = host;
  v.data = copy_in(host.data, size_t(host.rows * host.cols) * dtype_size(host.dtype));
  return v;
}

float* Arena::add(const std::string& name, bool integer, bool compared, std::unique_ptr<GuardedArray> data) {
  float* p = data->data();
  arrays_.push_back(Array{name, integer, compared, std::move(data)});
  return p;
}

float* Arena::out(const std::string& name, size_t n) {
  return add(name, false, true, std::make_unique<GuardedArray>(place_, n));
}
float* Arena::inout(const std::string& name, const std::vector<float>& init) {
  return add(name, false, true, std::make_unique<GuardedArray>(place_, init));
}
int32_t* Arena::out_ints(const std::string& name, size_t n) {
  return reinterpret_cast<int32_t*>(add(name, true, true, std::make_unique<GuardedArray>(place_, n)));
}
float* Arena::scratch(const std::string& name, size_t n) {
  return add(name, false, false, std::make_unique<GuardedArray>(place_, n));
}

std::vector<Output> Arena::read(std::vector<std::string>* breaches) const {
  std::vector<Output> outs;
  for (const Array& a : arrays_) {
    std::string breach;
    std::vector<uint32_t> bits = a.data->read(&breach);
    if (!breach.empty()) breaches->push_back(a.name + ": " + breach);
    if (a.compared) outs.push_back(Output{a.name, a.integer, std::move(bits)});
  }
  return outs;
}

}  // namespace dllm::opcases
