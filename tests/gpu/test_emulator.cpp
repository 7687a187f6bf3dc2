// The CPU emulator of the kernel language (DLLM_GPU=EMU builds only): the checks it promises in
// kernels/gpu/emu/emu.h, and warp collectives with the bits a device's butterfly gives.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "core/check.h"
#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

__global__ void store_at(float* p, int i) {
  if (threadIdx.x == 0) p[i] = 1.0f;
}
__global__ void barrier_in_half_the_block(float* p) {
  if (threadIdx.x < blockDim.x / 2) __syncthreads();
  p[threadIdx.x] = 1.0f;
}
__global__ void shuffle_in_one_lane(float* p) {
  if (threadIdx.x == 0) p[0] = gpu_shfl_xor(1.0f, 1);
}
__global__ void block_sum_of(const float* x, float* out) {
  __shared__ float scratch[1024 / 32];
  const float s = gpu::block_sum(x[blockIdx.x * blockDim.x + threadIdx.x], scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

float* device_floats(size_t n) { return static_cast<float*>(gpu::alloc(n * sizeof(float))); }

}  // namespace

TEST(GpuEmulator, HostCodeTouchingDeviceMemoryDies) {
  float* p = device_floats(64);
  EXPECT_DEATH(p[3] = 1.0f, "host code touched device memory");
  gpu::release(p);
}

TEST(GpuEmulator, KernelAccessPastAnAllocationDies) {
  float* p = device_floats(64);  // 256 bytes: the guard page starts right after p[63]
  DLLM_LAUNCH(1, 64, store_at)(p, 63);
  DLLM_GPU_LAUNCHED("store_at");
  EXPECT_DEATH(DLLM_LAUNCH(1, 64, store_at)(p, 64), "past the end of a device allocation of 256 bytes");
  gpu::release(p);
}

TEST(GpuEmulator, DivergentBarrierAndShuffleAreLaunchErrors) {
  float* p = device_floats(256);
  DLLM_LAUNCH(1, 256, barrier_in_half_the_block)(p);
  EXPECT_THROW(DLLM_GPU_LAUNCHED("barrier_in_half_the_block"), Error);
  DLLM_LAUNCH(1, 64, shuffle_in_one_lane)(p);
  EXPECT_THROW(DLLM_GPU_LAUNCHED("shuffle_in_one_lane"), Error);
  DLLM_LAUNCH(1, 64, store_at)(p, 0);  // the error was read: the next launch is clean
  EXPECT_NO_THROW(DLLM_GPU_LAUNCHED("store_at"));
  gpu::release(p);
}

TEST(GpuEmulator, LaunchShapesADeviceRefusesAreErrors) {
  float* p = device_floats(1);
  for (dim3 block : {dim3(0), dim3(1025), dim3(32, 33)}) {
    DLLM_LAUNCH(1, block, store_at)(p, 0);
    EXPECT_THROW(DLLM_GPU_LAUNCHED("store_at"), Error) << block.x << "x" << block.y;
  }
  DLLM_LAUNCH(dim3(1, 65536), 64, store_at)(p, 0);
  EXPECT_THROW(DLLM_GPU_LAUNCHED("store_at"), Error);
  gpu::release(p);
}

TEST(GpuEmulator, CopiesCheckTheirDeviceSide) {
  float* p = device_floats(8);
  std::vector<float> host(16, 2.0f);
  EXPECT_THROW(gpu::upload(p, host.data(), 16 * sizeof(float)), Error);             // past the 8-float allocation
  EXPECT_THROW(gpu::download(host.data(), host.data() + 8, sizeof(float)), Error);  // source is host memory
  gpu::upload(p, host.data(), 8 * sizeof(float));
  gpu::download(host.data() + 8, p, 8 * sizeof(float));
  EXPECT_EQ(host[15], 2.0f);
  gpu::release(p);
}

// block_sum: each warp's butterfly (lane l adds lane l^m for m = W/2 ... 1), then the warp sums in
// order. The emulated shuffles must give exactly these bits, for the warp size of this build.
TEST(GpuEmulator, BlockSumHasTheButterflyBits) {
  const int warp = DLLM_EMU_WARP_SIZE, threads = 256, blocks = 3;
  const std::vector<float> x = testutil::random_floats(size_t(threads * blocks), 7, 100.0f);
  float* xd = device_floats(x.size());
  float* out = device_floats(blocks);
  gpu::upload(xd, x.data(), x.size() * sizeof(float));
  DLLM_LAUNCH(blocks, threads, block_sum_of)(xd, out);
  DLLM_GPU_LAUNCHED("block_sum_of");
  std::vector<float> got(blocks);
  gpu::download(got.data(), out, blocks * sizeof(float));
  for (int b = 0; b < blocks; ++b) {
    float total = 0.0f;
    for (int w = 0; w < threads / warp; ++w) {
      std::vector<float> v(x.begin() + b * threads + w * warp, x.begin() + b * threads + (w + 1) * warp);
      for (int m = warp / 2; m > 0; m /= 2) {
        std::vector<float> next(v.size());
        for (int l = 0; l < warp; ++l) next[size_t(l)] = v[size_t(l)] + v[size_t(l ^ m)];
        v = next;
      }
      total += v[0];
    }
    EXPECT_EQ(got[size_t(b)], total) << "block " << b;
  }
  gpu::release(xd);
  gpu::release(out);
}

// Stream capture refuses, as CUDA's and HIP's thread-local mode do, what a graph cannot hold: an
// allocation, a copy to or from the host, a synchronisation. The graph is not made, and no capture is
// left open (work issued afterwards runs at once).
TEST(GpuEmulator, CaptureRefusesAllocationsHostCopiesAndSyncs) {
  float* p = device_floats(4);
  std::vector<float> host(4, 0.0f);
  const std::vector<std::function<void()>> refused = {
      [] { gpu::release(gpu::alloc(16)); },
      [&] { gpu::download(host.data(), p, sizeof(float)); },
      [&] { gpu::upload(p, host.data(), sizeof(float)); },
      [] { gpu::synchronize(); },
  };
  for (size_t i = 0; i < refused.size(); ++i) {
    EXPECT_THROW(gpu::Graph g(refused[i]), Error) << "operation " << i;
    DLLM_LAUNCH(1, 64, store_at)(p, int(i));
    DLLM_GPU_LAUNCHED("store_at");
    gpu::download(host.data(), p, 4 * sizeof(float));
    EXPECT_EQ(host[i], 1.0f) << "a launch after refused operation " << i << " did not run";
  }
  gpu::release(p);
}
