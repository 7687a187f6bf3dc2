#include "kernels/gpu/device.h"
#include "kernels/gpu/vendor.h"

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
  gpuRuntimeGetVersion(&runtime);
  gpuDriverGetVersion(&driver);
  for (int i = 0; i < count; ++i) {
    gpuDeviceProp p;
    if (gpuGetDeviceProperties(&p, i) != gpuSuccess) continue;
    out.push_back(DeviceInfo{p.name, size_t(p.totalGlobalMem), p.multiProcessorCount, p.warpSize,
                             runtime, driver});
  }
  if (out.empty() && why_none) *why_none = "no GPU device is visible";
  return out;
}

}  // namespace dllm::gpu
