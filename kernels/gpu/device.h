// What GPUs this process sees (for `dllm-bench info` and report provenance). Host-only interface.
#pragma once
#include <string>
#include <vector>

namespace dllm::gpu {

struct DeviceInfo {
  std::string name;
  size_t memory_bytes = 0;
  int multiprocessors = 0;
  int warp_size = 0;
  int runtime_version = 0, driver_version = 0;
};

// Empty when no device is visible; never throws (the reason goes to *why_none when non-null).
std::vector<DeviceInfo> visible_devices(std::string* why_none = nullptr);

// Free and total memory of device 0 now (throws on a runtime error): what a run's plan is checked
// against before anything is allocated.
struct DeviceMemory {
  size_t free = 0, total = 0;
};
DeviceMemory device_memory();

// Whether the "device" is the CPU emulator of the kernel language (a DLLM_GPU=EMU build).
bool emulated();

}  // namespace dllm::gpu
