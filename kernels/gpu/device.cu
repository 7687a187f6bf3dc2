#include "kernels/gpu/device.h"
#include "kernels/gpu/common.h"

namespace dllm::gpu {

std::vector<DeviceInfo> visible_devices(std::string* why_none) {
  std::vector<DeviceInfo> out;
  int count = 0;
  const gpuError_t err = gpuGetDeviceCount(&count);
  if (err != gpuSuccess) {
    if (why_none) *why_none = gpuGetErrorString(err);
    return out;
  }
  int runtime = 0, driver = 0;
  if (gpuRuntimeGetVersion(&runtime) != gpuSuccess) runtime = 0;  // unknown; provenance only
  if (gpuDriverGetVersion(&driver) != gpuSuccess) driver = 0;
  for (int i = 0; i < count; ++i) {
    gpuDeviceProp p;
    if (gpuGetDeviceProperties(&p, i) != gpuSuccess) continue;
    out.push_back(DeviceInfo{p.name, size_t(p.totalGlobalMem), p.multiProcessorCount, p.warpSize, runtime, driver});
  }
  if (out.empty() && why_none) *why_none = "no GPU device is visible";
  return out;
}

DeviceMemory device_memory() {
  DeviceMemory m;
  DLLM_GPU_CHECK(gpuMemGetInfo(&m.free, &m.total));
  return m;
}

bool emulated() {
#if defined(DLLM_EMU)
  return true;
#else
  return false;
#endif
}

namespace {

// Device 0's properties, read once (launch shapes).
const gpuDeviceProp& device0() {
  static const gpuDeviceProp props = [] {
    gpuDeviceProp p;
    DLLM_GPU_CHECK(gpuGetDeviceProperties(&p, 0));
    return p;
  }();
  return props;
}

}  // namespace

int device_warp_size() { return device0().warpSize; }

int device_multiprocessors() { return device0().multiProcessorCount; }

}  // namespace dllm::gpu
