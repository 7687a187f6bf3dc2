// Device memory, timing and graphs for the engine (Backend memory of the GPU backend) and the
// benchmarks. Everything goes to one stream, gpu::stream(), in issue order.
#include <exception>
#include <functional>

#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

gpuStream_t stream() {
  // A non-blocking stream: nothing issued to the legacy default stream (by a library, say) waits for
  // it or joins a capture on it; everything of ours goes to this one stream, in issue order.
  static const gpuStream_t s = [] {
    gpuStream_t created;
    DLLM_GPU_CHECK(gpuStreamCreateWithFlags(&created, gpuStreamNonBlocking));
    return created;
  }();
  return s;
}

void* alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  DLLM_GPU_CHECK(gpuMalloc(&p, bytes));
  DLLM_GPU_CHECK(gpuMemsetAsync(p, 0, bytes, stream()));
  return p;
}

void release(void* p) noexcept {
  if (p) (void)gpuFree(p);  // never throws from destructors; a failed free is reported by the next call
}

// Host copies wait for the stream, so the host buffer is free (upload) or filled (download) on return.
void upload(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  DLLM_GPU_CHECK(gpuMemcpyAsync(dst, src, bytes, gpuMemcpyHostToDevice, stream()));
  DLLM_GPU_CHECK(gpuStreamSynchronize(stream()));
}
void download(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  DLLM_GPU_CHECK(gpuMemcpyAsync(dst, src, bytes, gpuMemcpyDeviceToHost, stream()));
  DLLM_GPU_CHECK(gpuStreamSynchronize(stream()));
}
void copy(void* dst, const void* src, size_t bytes) {
  if (bytes) DLLM_GPU_CHECK(gpuMemcpyAsync(dst, src, bytes, gpuMemcpyDeviceToDevice, stream()));
}
void synchronize() { DLLM_GPU_CHECK(gpuStreamSynchronize(stream())); }

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
void Timer::start() { DLLM_GPU_CHECK(gpuEventRecord(static_cast<gpuEvent_t>(begin_), stream())); }
double Timer::stop_seconds() {
  DLLM_GPU_CHECK(gpuEventRecord(static_cast<gpuEvent_t>(end_), stream()));
  DLLM_GPU_CHECK(gpuEventSynchronize(static_cast<gpuEvent_t>(end_)));
  float ms = 0.0f;
  DLLM_GPU_CHECK(gpuEventElapsedTime(&ms, static_cast<gpuEvent_t>(begin_), static_cast<gpuEvent_t>(end_)));
  return double(ms) * 1e-3;
}

Graph::Graph(const std::function<void()>& issue) {
  DLLM_GPU_CHECK(gpuStreamBeginCapture(stream(), gpuStreamCaptureModeThreadLocal));
  gpuGraph_t graph = nullptr;
  try {
    issue();
  } catch (...) {
    // The capture is left open by the throw: close it (its graph, if any, is discarded).
    if (gpuStreamEndCapture(stream(), &graph) == gpuSuccess && graph) (void)gpuGraphDestroy(graph);
    (void)gpuGetLastError();
    throw;
  }
  DLLM_GPU_CHECK(gpuStreamEndCapture(stream(), &graph));
  graph_ = graph;
  gpuGraphExec_t exec = nullptr;
  DLLM_GPU_CHECK(gpuGraphInstantiateWithFlags(&exec, graph, 0));
  exec_ = exec;
}

Graph::~Graph() {
  if (exec_) (void)gpuGraphExecDestroy(static_cast<gpuGraphExec_t>(exec_));
  if (graph_) (void)gpuGraphDestroy(static_cast<gpuGraph_t>(graph_));
}

void Graph::launch() {
  DLLM_GPU_CHECK(gpuGraphLaunch(static_cast<gpuGraphExec_t>(exec_), stream()));
  DLLM_GPU_LAUNCHED("graph");
}

}  // namespace dllm::gpu
