// Device memory and timing for the engine (Backend memory of the GPU backend) and the benchmarks.
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

void* alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  DLLM_GPU_CHECK(gpuMalloc(&p, bytes));
  DLLM_GPU_CHECK(gpuMemset(p, 0, bytes));
  return p;
}

void release(void* p) noexcept {
  if (p) (void)gpuFree(p);  // never throws from destructors; a failed free is reported by the next call
}

void upload(void* dst, const void* src, size_t bytes) {
  if (bytes) DLLM_GPU_CHECK(gpuMemcpy(dst, src, bytes, gpuMemcpyHostToDevice));
}
void download(void* dst, const void* src, size_t bytes) {
  if (bytes) DLLM_GPU_CHECK(gpuMemcpy(dst, src, bytes, gpuMemcpyDeviceToHost));
}
void copy(void* dst, const void* src, size_t bytes) {
  if (bytes) DLLM_GPU_CHECK(gpuMemcpy(dst, src, bytes, gpuMemcpyDeviceToDevice));
}
void synchronize() { DLLM_GPU_CHECK(gpuDeviceSynchronize()); }

Timer::Timer() {
  gpuEvent_t b, e;
  DLLM_GPU_CHECK(gpuEventCreate(&b));
  DLLM_GPU_CHECK(gpuEventCreate(&e));
  begin_ = b, end_ = e;
}
Timer::~Timer() {
  (void)gpuEventDestroy(static_cast<gpuEvent_t>(begin_));
  (void)gpuEventDestroy(static_cast<gpuEvent_t>(end_));
}
void Timer::start() { DLLM_GPU_CHECK(gpuEventRecord(static_cast<gpuEvent_t>(begin_), 0)); }
double Timer::stop_seconds() {
  DLLM_GPU_CHECK(gpuEventRecord(static_cast<gpuEvent_t>(end_), 0));
  DLLM_GPU_CHECK(gpuEventSynchronize(static_cast<gpuEvent_t>(end_)));
  float ms = 0.0f;
  DLLM_GPU_CHECK(gpuEventElapsedTime(&ms, static_cast<gpuEvent_t>(begin_), static_cast<gpuEvent_t>(end_)));
  return double(ms) * 1e-3;
}

}  // namespace dllm::gpu
