// The kernel language on the CPU (-DDLLM_GPU=EMU): what kernels/gpu/*.cu use of CUDA/HIP, so the same
// kernel sources run on the host and their tests run on a machine without a GPU. Included by
// vendor.h only.
//
// A launch runs the grid's blocks one after another. The threads of a block are fibers on the
// launching OS thread (emu.cpp): each runs until it reaches __syncthreads() or a warp shuffle, and
// a barrier releases its threads only when every live thread of the block (or lane of the warp) has
// arrived, so shared memory, barriers and shuffles behave as on a device. What the emulator
// reports instead of hanging or guessing:
//   - a barrier or shuffle that not every live thread reaches (divergent __syncthreads, a shuffle
//     with exited lanes): a launch error, as gpuGetLastError() then says;
//   - a launch shape a device refuses (0 or more than 1024 threads, a grid dimension of 0 or beyond
//     the device's limits): a launch error;
//   - host code touching device memory: device allocations are unreadable outside kernels and
//     copies, so such code stops at once with a message naming the address.
//   - stream capture (graphs) that a runtime would refuse: while a stream is being captured, kernel
//     launches, device-to-device copies and memsets on it are recorded; an allocation, a free, a copy
//     to or from the host or a synchronisation fails with Error::capture_unsupported and invalidates
//     the capture, as CUDA's and HIP's thread-local capture mode do. A graph launch replays the
//     recorded work in order.
// The warp size is DLLM_EMU_WARP_SIZE (32 or 64), fixed per build, so warp-size-agnostic code can
// be checked at both widths. The matrix units are emulated with the lane layouts of the hardware
// instructions: NVIDIA's mma.sync m16n8k16 with bf16 inputs (a warp-32 instruction) in the warp-32
// build, AMD's MFMA 16x16x16 with bf16 inputs (wave64) in the warp-64 build; their sums run in a
// fixed order of the emulator's own (below), not necessarily a device's. NVIDIA's cp.async (global
// to shared memory, asynchronous) lands at the latest moment allowed, so reading too early is seen
// (below). Atomics are plain read-modify-writes (blocks run one at a time, and a thread is switched
// out only at a barrier or a shuffle). Not emulated: concurrency between streams (everything runs
// in issue order on the calling thread), and timing (events measure host time).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>

#if !defined(DLLM_EMU_WARP_SIZE) || (DLLM_EMU_WARP_SIZE != 32 && DLLM_EMU_WARP_SIZE != 64)
#error "the emulator needs DLLM_EMU_WARP_SIZE 32 or 64"
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// One block runs at a time, so a block's shared memory can be a function-local static.
#define __shared__ static
#define __align__(n) alignas(n)
#define __launch_bounds__(...)  // a register-allocation hint to a device compiler

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};

// The running thread's coordinates, set by the scheduler before it resumes a thread.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

void __syncthreads();
inline int atomicAdd(int* p, int v) {
  const int old = *p;
  *p += v;
  return old;
}
inline void __threadfence() {}  // one block at a time: nothing to order
[[noreturn]] void __trap();
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

namespace dllm::emu {

enum class Error {
  success,
  invalid_configuration,
  divergent_sync,
  invalid_value,
  out_of_memory,
  capture_unsupported,  // an operation a stream capture cannot record
  capture_invalidated,  // ending a capture that an unsupported operation broke
};
const char* error_string(Error e);
Error last_error();  // and clears it, as gpuGetLastError does

struct DeviceProp {
  char name[256] = {};
  size_t totalGlobalMem = 0;
  int multiProcessorCount = 0;
  int warpSize = 0;
  int major = 0, minor = 0;
};
Error device_count(int* n);
Error device_properties(DeviceProp* p, int device);
Error runtime_version(int* v);
// The host's available and total physical memory: where the emulator's device allocations live.
Error mem_get_info(size_t* free, size_t* total);
Error driver_version(int* v);

// Streams exist for capture only: work runs when it is issued, in issue order (so a non-blocking
// stream, one that does not order with the legacy default stream, is the same as any other).
using Stream = struct StreamState*;
inline constexpr unsigned stream_non_blocking = 1;
Error stream_create_with_flags(Stream* s, unsigned flags);
Error stream_synchronize(Stream s);

enum CopyKind { host_to_device, device_to_host, device_to_device };
Error malloc_device(void** p, size_t bytes);
Error free_device(void* p);
Error memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, Stream s);
Error memset_async(void* p, int value, size_t bytes, Stream s);

// Graphs: what a stream issued between begin and end capture, replayed by graph_launch.
enum CaptureMode { capture_mode_thread_local };
using Graph = struct RecordedWork*;
using GraphExec = struct RecordedWork*;
Error stream_begin_capture(Stream s, CaptureMode mode);
Error stream_end_capture(Stream s, Graph* g);  // capture_invalidated (and no graph) if it was broken
Error graph_instantiate(GraphExec* e, Graph g, unsigned long long flags);
Error graph_launch(GraphExec e, Stream s);
Error graph_destroy(Graph g);
Error graph_exec_destroy(GraphExec e);

using Event = struct EventTime*;
Error event_create(Event* e);
Error event_destroy(Event e);
Error event_record(Event e, Stream s);
Error event_synchronize(Event e);
Error event_elapsed_ms(float* ms, Event begin, Event end);

// How many blocks of a kernel one multiprocessor holds at once: the emulator runs one block at a time.
template <class... Params>
Error occupancy_max_active_blocks(int* blocks, void (*)(Params...), int /*block_threads*/, size_t /*dynamic_shared*/) {
  *blocks = 1;
  return Error::success;
}

float shfl_xor(float v, int mask);
int shfl_xor(int v, int mask);
#if DLLM_EMU_WARP_SIZE == 32
// One m16n8k16 bf16 mma.sync of the 32 lanes of a warp (gpu_mma_16x8x16_bf16 in vendor.h, the layout
// there): a warp collective like a shuffle. Each output is c, then its 16 products added in k order,
// each sum rounded to nearest f32 (a product of two bf16 is exact in f32, barring underflow). A device
// adds the products in an order and precision of its own: its last bits may differ.
void mma_16x8x16_bf16(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]);
#else
// One 16x16x16 bf16 MFMA of the 64 lanes of a warp (gpu_mfma_16x16x16_bf16 in vendor.h, the layout
// there): a warp collective like a shuffle; each output is c, then its 16 products added in k order,
// each sum rounded to nearest f32. A device's order and precision may differ in the last bits.
void mfma_16x16x16_bf16(const uint32_t (&a)[2], const uint32_t (&b)[2], float (&c)[4]);
#endif
// cp.async (gpu_cp_async_* in vendor.h): a thread's 16-byte copy from global to shared memory lands
// when that thread waits for its group, the latest moment a device allows; until then the 16 bytes
// hold NaN. So a kernel that reads a copy before waiting for it, or before the barrier that follows
// other threads' waits, or that issues a copy into a buffer another thread still reads, computes
// NaNs. valid false: the copy writes zeros and reads nothing (a device's source size 0).
void cp_async_16(void* shared_dst, const void* global_src, bool valid);
void cp_async_commit();           // closes the thread's group of copies issued since the last
void cp_async_wait(int pending);  // lands all but the thread's `pending` most recent groups
#if DLLM_EMU_WARP_SIZE == 32
// ldmatrix .x4, or .x4 .trans (gpu_ldmatrix_x4 in vendor.h, the layout there): a warp collective;
// each lane gives one row's address and receives its part of the four matrices (transposed: trans).
void ldmatrix_x4(uint32_t (&r)[4], const void* row, bool trans);
#endif

// A kernel launch: runs body once per thread of every block of the grid, or records it while the
// stream is being captured (the launch error, if any, is kept for last_error()).
void launch(dim3 grid, dim3 block, std::function<void()> body);

// DLLM_LAUNCH's emulation: launcher(grid, block, kernel)(args...) runs kernel(args...) on every
// thread, each with its own copy of the arguments (parameters are passed by value, as on a device).
template <class... Params>
auto launcher(dim3 grid, dim3 block, void (*kernel)(Params...)) {
  return [=](auto&&... args) {
    std::tuple<std::decay_t<Params>...> values(std::forward<decltype(args)>(args)...);
    launch(grid, block, [kernel, values = std::move(values)] { std::apply(kernel, values); });
  };
}

}  // namespace dllm::emu
