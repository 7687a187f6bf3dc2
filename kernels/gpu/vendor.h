// The one place that spells hip* or cuda*: everything else in kernels/gpu uses the gpu* names below,
// so one .cu source builds with nvcc (NVIDIA) and hipcc/clang (AMD), and as plain C++ on the CPU
// emulator of the kernel language (DLLM_EMU, kernels/gpu/emu/emu.h: the GPU tests without a GPU).
// Debian's HIP-on-NVIDIA headers do not compile with CUDA 13, so the CUDA build maps these names
// straight onto the CUDA runtime.
#pragma once

#if defined(DLLM_EMU)
#include "core/dtype.h"
#include "kernels/gpu/emu/emu.h"
#define gpuError_t ::dllm::emu::Error
#define gpuSuccess ::dllm::emu::Error::success
#define gpuGetErrorString ::dllm::emu::error_string
#define gpuGetLastError ::dllm::emu::last_error
#define gpuGetDeviceCount ::dllm::emu::device_count
#define gpuDeviceProp ::dllm::emu::DeviceProp
#define gpuGetDeviceProperties ::dllm::emu::device_properties
#define gpuRuntimeGetVersion ::dllm::emu::runtime_version
#define gpuMemGetInfo ::dllm::emu::mem_get_info
#define gpuDriverGetVersion ::dllm::emu::driver_version
#define gpuMalloc ::dllm::emu::malloc_device
#define gpuFree ::dllm::emu::free_device
#define gpuMemcpyHostToDevice ::dllm::emu::host_to_device
#define gpuMemcpyDeviceToHost ::dllm::emu::device_to_host
#define gpuMemcpyDeviceToDevice ::dllm::emu::device_to_device
#define gpuStream_t ::dllm::emu::Stream
#define gpuStreamCreateWithFlags ::dllm::emu::stream_create_with_flags
#define gpuStreamNonBlocking ::dllm::emu::stream_non_blocking
#define gpuStreamSynchronize ::dllm::emu::stream_synchronize
#define gpuMemcpyAsync ::dllm::emu::memcpy_async
#define gpuMemsetAsync ::dllm::emu::memset_async
#define gpuStreamCaptureModeThreadLocal ::dllm::emu::capture_mode_thread_local
#define gpuStreamBeginCapture ::dllm::emu::stream_begin_capture
#define gpuStreamEndCapture ::dllm::emu::stream_end_capture
#define gpuGraph_t ::dllm::emu::Graph
#define gpuGraphExec_t ::dllm::emu::GraphExec
#define gpuGraphInstantiateWithFlags ::dllm::emu::graph_instantiate
#define gpuGraphLaunch ::dllm::emu::graph_launch
#define gpuGraphDestroy ::dllm::emu::graph_destroy
#define gpuGraphExecDestroy ::dllm::emu::graph_exec_destroy
#define gpuEvent_t ::dllm::emu::Event
#define gpuEventCreate ::dllm::emu::event_create
#define gpuEventDestroy ::dllm::emu::event_destroy
#define gpuEventRecord ::dllm::emu::event_record
#define gpuEventSynchronize ::dllm::emu::event_synchronize
#define gpuEventElapsedTime ::dllm::emu::event_elapsed_ms
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor ::dllm::emu::occupancy_max_active_blocks
#define DLLM_WARP_SIZE DLLM_EMU_WARP_SIZE
inline float gpu_shfl_xor(float v, int mask) { return ::dllm::emu::shfl_xor(v, mask); }
inline int gpu_shfl_xor(int v, int mask) { return ::dllm::emu::shfl_xor(v, mask); }
// Round-to-nearest product and sum that are never fused into one multiply-add (x86-64's baseline has
// no FMA, and the emulator is built without it).
inline float gpu_mul_rn(float a, float b) { return a * b; }
inline float gpu_add_rn(float a, float b) { return a + b; }
// IEEE half to f32 (exact): the devices convert in one instruction, the emulator in software.
inline float gpu_f16_to_f32(uint16_t h) { return ::dllm::f16_to_f32(h); }
#define DLLM_LAUNCH(grid, block, ...) ::dllm::emu::launcher((grid), (block), __VA_ARGS__)
// Matrix units, with their instructions' lane layouts: NVIDIA's mma.sync is a warp-32 instruction,
// the warp-32 emulator has it, and cp.async, which the mma kernels use beside it; AMD's bf16 MFMA is
// wave64, the warp-64 emulator has it.
#if DLLM_EMU_WARP_SIZE == 32
#define DLLM_BUILD_HAS_MMA_BF16 1
#define DLLM_DEVICE_HAS_MMA_BF16 1
inline void gpu_mma_16x8x16_bf16(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]) {
  ::dllm::emu::mma_16x8x16_bf16(a, b, c);
}
inline void gpu_cp_async_16(void* shared_dst, const void* global_src, bool valid) {
  ::dllm::emu::cp_async_16(shared_dst, global_src, valid);
}
inline void gpu_cp_async_commit() { ::dllm::emu::cp_async_commit(); }
template <int PENDING>
inline void gpu_cp_async_wait() {
  ::dllm::emu::cp_async_wait(PENDING);
}
template <bool TRANS>
inline void gpu_ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  ::dllm::emu::ldmatrix_x4(r, row, TRANS);
}
#else
#define DLLM_DEVICE_HAS_MFMA_BF16 1
inline void gpu_mfma_16x16x16_bf16(const uint32_t (&a)[2], const uint32_t (&b)[2], float (&c)[4]) {
  ::dllm::emu::mfma_16x16x16_bf16(a, b, c);
}
#endif
#elif defined(DLLM_HIP)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>
#define gpuError_t hipError_t
#define gpuSuccess hipSuccess
#define gpuGetErrorString hipGetErrorString
#define gpuGetLastError hipGetLastError
#define gpuGetDeviceCount hipGetDeviceCount
#define gpuDeviceProp hipDeviceProp_t
#define gpuGetDeviceProperties hipGetDeviceProperties
#define gpuRuntimeGetVersion hipRuntimeGetVersion
#define gpuMemGetInfo hipMemGetInfo
#define gpuDriverGetVersion hipDriverGetVersion
#define gpuMalloc hipMalloc
#define gpuFree hipFree
#define gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define gpuStream_t hipStream_t
#define gpuStreamCreateWithFlags hipStreamCreateWithFlags
#define gpuStreamNonBlocking hipStreamNonBlocking
#define gpuStreamSynchronize hipStreamSynchronize
#define gpuMemcpyAsync hipMemcpyAsync
#define gpuMemsetAsync hipMemsetAsync
#define gpuStreamCaptureModeThreadLocal hipStreamCaptureModeThreadLocal
#define gpuStreamBeginCapture hipStreamBeginCapture
#define gpuStreamEndCapture hipStreamEndCapture
#define gpuGraph_t hipGraph_t
#define gpuGraphExec_t hipGraphExec_t
#define gpuGraphInstantiateWithFlags hipGraphInstantiateWithFlags
#define gpuGraphLaunch hipGraphLaunch
#define gpuGraphDestroy hipGraphDestroy
#define gpuGraphExecDestroy hipGraphExecDestroy
#define gpuEvent_t hipEvent_t
#define gpuEventCreate hipEventCreate
#define gpuEventDestroy hipEventDestroy
#define gpuEventRecord hipEventRecord
#define gpuEventSynchronize hipEventSynchronize
#define gpuEventElapsedTime hipEventElapsedTime
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor hipOccupancyMaxActiveBlocksPerMultiprocessor
// Wavefront size of the architecture being compiled: 64 on CDNA. The host pass never uses it (launch
// shapes are multiples of 64, and kernels derive warps per block from it on the device).
#if defined(__AMDGCN_WAVEFRONT_SIZE)
#define DLLM_WARP_SIZE __AMDGCN_WAVEFRONT_SIZE
#else
#define DLLM_WARP_SIZE 64
#endif
__device__ inline float gpu_shfl_xor(float v, int mask) { return __shfl_xor(v, mask); }
__device__ inline int gpu_shfl_xor(int v, int mask) { return __shfl_xor(v, mask); }
__device__ inline float gpu_mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float gpu_add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float gpu_f16_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
// Matrix cores (MFMA with bf16 inputs, f32 accumulation): the device pass being compiled runs them on
// CDNA2 and CDNA3 (gfx90a, gfx94x: DLLM_DEVICE_HAS_MFMA_BF16).
#if defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#define DLLM_DEVICE_HAS_MFMA_BF16 1
// D = A B + C, one 16x16x16 matrix-core op over the 64 lanes of a wave (A 16x16, B 16x16, C and D
// 16x16). Lane l, with r = l % 16 and s = l / 16, holds four bf16 in two registers, the lower k in
// the low half: a = A[r][4s .. 4s + 3], b = B[4s .. 4s + 3][r]; and c[i] = C[4s + i][r].
__device__ inline void gpu_mfma_16x16x16_bf16(const uint32_t (&a)[2], const uint32_t (&b)[2], float (&c)[4]) {
  typedef short short4_vec __attribute__((ext_vector_type(4)));
  typedef float float4_vec __attribute__((ext_vector_type(4)));
  short4_vec av, bv;
  __builtin_memcpy(&av, a, 8);
  __builtin_memcpy(&bv, b, 8);
  float4_vec acc = {c[0], c[1], c[2], c[3]};
  acc = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(av, bv, acc, 0, 0, 0);
  c[0] = acc[0], c[1] = acc[1], c[2] = acc[2], c[3] = acc[3];
}
#endif
#else
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define gpuError_t cudaError_t
#define gpuSuccess cudaSuccess
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuDeviceProp cudaDeviceProp
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuRuntimeGetVersion cudaRuntimeGetVersion
#define gpuMemGetInfo cudaMemGetInfo
#define gpuDriverGetVersion cudaDriverGetVersion
#define gpuMalloc cudaMalloc
#define gpuFree cudaFree
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuStream_t cudaStream_t
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemsetAsync cudaMemsetAsync
#define gpuStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define gpuStreamBeginCapture cudaStreamBeginCapture
#define gpuStreamEndCapture cudaStreamEndCapture
#define gpuGraph_t cudaGraph_t
#define gpuGraphExec_t cudaGraphExec_t
#define gpuGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define gpuGraphLaunch cudaGraphLaunch
#define gpuGraphDestroy cudaGraphDestroy
#define gpuGraphExecDestroy cudaGraphExecDestroy
#define gpuEvent_t cudaEvent_t
#define gpuEventCreate cudaEventCreate
#define gpuEventDestroy cudaEventDestroy
#define gpuEventRecord cudaEventRecord
#define gpuEventSynchronize cudaEventSynchronize
#define gpuEventElapsedTime cudaEventElapsedTime
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define DLLM_WARP_SIZE 32
__device__ inline float gpu_shfl_xor(float v, int mask) { return __shfl_xor_sync(0xffffffffu, v, mask); }
__device__ inline int gpu_shfl_xor(int v, int mask) { return __shfl_xor_sync(0xffffffffu, v, mask); }
__device__ inline float gpu_mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float gpu_add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float gpu_f16_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
// Tensor cores (mma.sync m16n8k16, bf16 inputs, f32 accumulation): the build has them
// (DLLM_BUILD_HAS_MMA_BF16, host and device passes); the device pass being compiled runs them from
// sm_80 (DLLM_DEVICE_HAS_MMA_BF16).
#define DLLM_BUILD_HAS_MMA_BF16 1
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define DLLM_DEVICE_HAS_MMA_BF16 1
// D = A B + C, one 16x8x16 tensor-core op over the 32 lanes of a warp (A 16x16, B 16x8, C and D
// 16x8). Lane l, with g = l / 4 and q = l % 4, holds two bf16 per register, the lower column or row
// in the low half: a[r] = A[g + 8 (r % 2)][2q + 8 (r / 2) + {0, 1}], b[r] = B[2q + 8 r + {0, 1}][g];
// and c[i] = C[g + 8 (i / 2)][2q + i % 2].
__device__ inline void gpu_mma_16x8x16_bf16(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
// cp.async (sm_80+): 16 bytes from global to shared memory without passing through registers, in the
// background. A thread's copies since its last commit form a group; wait<N> returns once all but its
// N most recent groups have landed (then a barrier makes them visible to the block). valid false:
// zeros, nothing read. .cg: cached in L2 only, as streamed weights should be.
__device__ inline void gpu_cp_async_16(void* shared_dst, const void* global_src, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(global_src), "r"(valid ? 16 : 0)
               : "memory");
}
__device__ inline void gpu_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int PENDING>
__device__ inline void gpu_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING) : "memory");
}
// ldmatrix .x4 (sm_75+), a warp collective: four 8x8 matrices of 16-bit elements from shared memory,
// row i of matrix j (16 bytes, 16-byte aligned) at lane 8 j + i's `row`. Lane l, with g = l / 4 and
// q = l % 4, receives in r[j] two elements of M_j, the first in the low half: M_j[g][2q] and
// M_j[g][2q + 1], the mma's B register for an [n][k] block stored row by row in n; or with TRANS,
// M_j[2q][g] and M_j[2q + 1][g], the B register for a [k][n] block stored row by row in k.
template <bool TRANS>
__device__ inline void gpu_ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(row));
  if constexpr (TRANS)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(at)
                 : "memory");
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(at)
                 : "memory");
}
#endif
#endif

// Either vendor's bf16 matrix units, in the device pass being compiled (the mma linear and the tiles
// attention kernels).
#if defined(DLLM_DEVICE_HAS_MMA_BF16) || defined(DLLM_DEVICE_HAS_MFMA_BF16)
#define DLLM_DEVICE_HAS_MATRIX_BF16 1
#endif

namespace dllm::gpu {
// The stream every launch and copy of kernels/gpu goes to (memory.cu): one explicit stream, so a
// pass's work can be captured as a graph (the legacy default stream cannot be).
gpuStream_t stream();
}  // namespace dllm::gpu

// DLLM_LAUNCH(grid, block, kernel)(args...): a kernel launch on gpu::stream(). The kernel comes last
// so a template name with commas needs no parentheses.
#if !defined(DLLM_LAUNCH)
#define DLLM_LAUNCH(grid, block, ...) __VA_ARGS__<<<(grid), (block), 0, ::dllm::gpu::stream()>>>
#endif
