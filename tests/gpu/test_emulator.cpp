// The CPU emulator of the kernel language (DLLM_GPU=EMU builds only): the checks it promises in
// kernels/gpu/emu/emu.h, and warp collectives with the bits a device's butterfly gives.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/dtype.h"
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

// One matrix instruction of one warp on A [16, 16], B [16, kN] and C [16, kN] (row-major floats, A and
// B rounded to bf16), D [16, kN] out, each lane's fragments built element by element from the ISA's
// formulas.
#if DLLM_EMU_WARP_SIZE == 32
// mma.sync m16n8k16 (PTX ISA; g = l / 4, q = l % 4; two bf16 per register, the lower index in the low
// half): a_i (i = 0..7) is A[g + 8 (i % 4 >= 2)][2q + i % 2 + 8 (i >= 4)], b_i (i = 0..3) is
// B[2q + i % 2 + 8 (i >= 2)][g], and c_i and d_i (i = 0..3) are C[g + 8 (i >= 2)][2q + i % 2].
constexpr int kN = 8;
__global__ void matrix_op_once(const float* A, const float* B, const float* C, float* D) {
  const int l = int(threadIdx.x), g = l / 4, q = l % 4;
  uint32_t a[4] = {}, b[2] = {};
  for (int i = 0; i < 8; ++i) {
    const int row = g + 8 * (i % 4 >= 2), col = 2 * q + i % 2 + 8 * (i >= 4);
    a[i / 2] |= uint32_t(f32_to_bf16(A[row * 16 + col])) << (16 * (i % 2));
  }
  for (int i = 0; i < 4; ++i) {
    const int row = 2 * q + i % 2 + 8 * (i >= 2);
    b[i / 2] |= uint32_t(f32_to_bf16(B[row * kN + g])) << (16 * (i % 2));
  }
  float c[4];
  for (int i = 0; i < 4; ++i) c[i] = C[(g + 8 * (i >= 2)) * kN + 2 * q + i % 2];
  gpu_mma_16x8x16_bf16(a, b, c);
  for (int i = 0; i < 4; ++i) D[(g + 8 * (i >= 2)) * kN + 2 * q + i % 2] = c[i];
}
#else
// v_mfma_f32_16x16x16bf16_1k (CDNA2 and CDNA3 ISAs; r = l % 16, s = l / 16; four bf16 in two registers, the lower
// index in the low half): a_i (i = 0..3) is A[r][4s + i], b_i is B[4s + i][r], and c_i and d_i are
// C[4s + i][r].
constexpr int kN = 16;
__global__ void matrix_op_once(const float* A, const float* B, const float* C, float* D) {
  const int l = int(threadIdx.x), r = l % 16, s = l / 16;
  uint32_t a[2] = {}, b[2] = {};
  for (int i = 0; i < 4; ++i) {
    a[i / 2] |= uint32_t(f32_to_bf16(A[r * 16 + 4 * s + i])) << (16 * (i % 2));
    b[i / 2] |= uint32_t(f32_to_bf16(B[(4 * s + i) * kN + r])) << (16 * (i % 2));
  }
  float c[4];
  for (int i = 0; i < 4; ++i) c[i] = C[(4 * s + i) * kN + r];
  gpu_mfma_16x16x16_bf16(a, b, c);
  for (int i = 0; i < 4; ++i) D[(4 * s + i) * kN + r] = c[i];
}
#endif

#if DLLM_EMU_WARP_SIZE == 32
// cp.async, seen from thread t of one block of kCopyThreads: three groups of one 16-byte copy each
// (src's floats 4t .. 4t + 3, then the same of the second row, then a copy with nothing to read), and
// what t reads of them along the way: seen[t][0] before any wait, [1] and [2] after waiting for all
// but the 2 most recent groups, [3] and [4] after waiting for all, [5] the next thread's first copy
// after a barrier.
constexpr int kCopyThreads = 64, kCopySeen = 6;
__global__ void cp_async_steps(const float* src, float* seen) {
  __shared__ float s[3][4 * kCopyThreads];
  const int t = int(threadIdx.x);
  float* out = seen + t * kCopySeen;
  for (int g = 0; g < 3; ++g) {
    gpu_cp_async_16(&s[g][4 * t], src + (g % 2) * 4 * kCopyThreads + 4 * t, g < 2);
    gpu_cp_async_commit();
  }
  out[0] = s[0][4 * t];
  gpu_cp_async_wait<2>();
  out[1] = s[0][4 * t], out[2] = s[1][4 * t];
  gpu_cp_async_wait<0>();
  out[3] = s[1][4 * t + 3], out[4] = s[2][4 * t];
  __syncthreads();
  out[5] = s[0][4 * ((t + 1) % kCopyThreads)];
}

// ldmatrix .x4 (TRANS: .trans), seen from one warp: 32 rows of 8 16-bit elements in shared memory,
// row (7 - t % 8) of matrix t / 8 at lane t's address (the addresses need not be in order), element
// (j, i, c) holding 64 j + 8 i + c; each lane writes its four registers.
template <bool TRANS>
__global__ void ldmatrix_once(uint32_t* got) {
  alignas(16) __shared__ uint16_t m[32][8];
  const int t = int(threadIdx.x);
  for (int c = 0; c < 8; ++c) m[t][c] = uint16_t(8 * t + c);  // row t is (j, i) = (t / 8, t % 8)
  __syncthreads();
  uint32_t r[4];
  gpu_ldmatrix_x4<TRANS>(r, m[8 * (t / 8) + 7 - t % 8]);
  for (int j = 0; j < 4; ++j) got[4 * t + j] = r[j];
}
#endif

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

// The emulated matrix instruction (mma.sync at warp 32, MFMA at warp 64) against D = C + A B summed in
// k order (emu.h's promise), bitwise: the lane layout through operands whose every element lands in a
// different output (A the identity and B of distinct values; A of distinct values and B picking row n
// or n + 8 (mod 16) into output column n; A and B zero, so D is C), then random bf16 values.
TEST(GpuEmulator, MatrixInstructionHasTheIsaLayout) {
  constexpr size_t kA = 16 * 16, kB = 16 * kN, kC = 16 * kN;
  struct Operands {
    std::string what;
    std::vector<float> a, b, c;  // [16, 16], [16, kN], [16, kN]
  };
  std::vector<Operands> cases;
  auto zeros = [](size_t n) { return std::vector<float>(n, 0.0f); };
  Operands identity{"A identity, B distinct", zeros(kA), zeros(kB), zeros(kC)};
  for (int i = 0; i < 16; ++i) identity.a[size_t(i * 16 + i)] = 1.0f;
  for (size_t e = 0; e < kB; ++e) identity.b[e] = float(e + 1);
  cases.push_back(identity);
  for (int half = 0; half < 2; ++half) {
    Operands pick{"A distinct, B picks rows " + std::to_string(8 * half) + "..", zeros(kA), zeros(kB), zeros(kC)};
    for (size_t e = 0; e < kA; ++e) pick.a[e] = float(e + 1);  // integers to 256: exact in bf16
    for (int n = 0; n < kN; ++n) pick.b[size_t((n + 8 * half) % 16 * kN + n)] = 1.0f;
    cases.push_back(pick);
  }
  Operands only_c{"A and B zero, C distinct", zeros(kA), zeros(kB), zeros(kC)};
  for (size_t e = 0; e < kC; ++e) only_c.c[e] = float(e) + 0.5f;
  cases.push_back(only_c);
  Operands random{"random", testutil::random_floats(kA, 3, 2.0f), testutil::random_floats(kB, 4, 2.0f),
                  testutil::random_floats(kC, 5, 2.0f)};
  for (float& v : random.a) v = bf16_to_f32(f32_to_bf16(v));
  for (float& v : random.b) v = bf16_to_f32(f32_to_bf16(v));
  cases.push_back(random);

  float* a = device_floats(kA);
  float* b = device_floats(kB);
  float* c = device_floats(kC);
  float* d = device_floats(kC);
  for (const Operands& o : cases) {
    gpu::upload(a, o.a.data(), kA * sizeof(float));
    gpu::upload(b, o.b.data(), kB * sizeof(float));
    gpu::upload(c, o.c.data(), kC * sizeof(float));
    DLLM_LAUNCH(1, DLLM_EMU_WARP_SIZE, matrix_op_once)(a, b, c, d);
    DLLM_GPU_LAUNCHED("matrix_op_once");
    std::vector<float> got(kC);
    gpu::download(got.data(), d, kC * sizeof(float));
    for (int i = 0; i < 16; ++i)
      for (int n = 0; n < kN; ++n) {
        float want = o.c[size_t(i * kN + n)];
        for (int k = 0; k < 16; ++k) want += o.a[size_t(i * 16 + k)] * o.b[size_t(k * kN + n)];
        EXPECT_EQ(got[size_t(i * kN + n)], want) << o.what << ": D[" << i << "][" << n << "]";
      }
  }
  for (float* p : {a, b, c, d}) gpu::release(p);
}

#if DLLM_EMU_WARP_SIZE == 32
// The emulated cp.async lands a thread's copies when it waits for their group, not before (until
// then they read as NaN), all but the N most recent groups at wait<N>, zeros for a copy with nothing
// to read, and other threads' copies after the barrier that follows their waits.
TEST(GpuEmulator, CpAsyncLandsWhenItsGroupIsAwaited) {
  std::vector<float> host(8 * kCopyThreads);
  for (size_t i = 0; i < host.size(); ++i) host[i] = float(i) + 1.0f;
  float* src = device_floats(host.size());
  float* seen = device_floats(kCopyThreads * kCopySeen);
  gpu::upload(src, host.data(), host.size() * sizeof(float));
  DLLM_LAUNCH(1, kCopyThreads, cp_async_steps)(src, seen);
  DLLM_GPU_LAUNCHED("cp_async_steps");
  std::vector<float> got(kCopyThreads * kCopySeen);
  gpu::download(got.data(), seen, got.size() * sizeof(float));
  for (int t = 0; t < kCopyThreads; ++t) {
    const float* g = &got[size_t(t * kCopySeen)];
    EXPECT_TRUE(std::isnan(g[0])) << "thread " << t << " read its copy before waiting";
    EXPECT_EQ(g[1], host[size_t(4 * t)]) << "thread " << t;
    EXPECT_TRUE(std::isnan(g[2])) << "thread " << t << ": wait<2> landed a group of the 2 most recent";
    EXPECT_EQ(g[3], host[size_t(4 * kCopyThreads + 4 * t + 3)]) << "thread " << t;
    EXPECT_EQ(g[4], 0.0f) << "thread " << t << ": a copy with nothing to read writes zeros";
    EXPECT_EQ(g[5], host[size_t(4 * ((t + 1) % kCopyThreads))]) << "thread " << t;
  }
  gpu::release(src);
  gpu::release(seen);
}

// The emulated ldmatrix .x4 follows the PTX ISA's layout: lane l (g = l / 4, q = l % 4) gets in
// register j the elements (g, 2q) and (g, 2q + 1) of matrix j, or with .trans (2q, g) and (2q + 1, g),
// whose row i is at lane 8 j + i's address; the low half holds the first.
TEST(GpuEmulator, LdmatrixHasTheIsaLayout) {
  auto* got = static_cast<uint32_t*>(gpu::alloc(32 * 4 * sizeof(uint32_t)));
  const auto element = [](int j, int i, int c) {  // row i of matrix j is lane 8 j + i's: m[8 j + 7 - i]
    return uint32_t(8 * (8 * j + 7 - i) + c);
  };
  for (const bool trans : {false, true}) {
    if (trans)
      DLLM_LAUNCH(1, 32, ldmatrix_once<true>)(got);
    else
      DLLM_LAUNCH(1, 32, ldmatrix_once<false>)(got);
    DLLM_GPU_LAUNCHED("ldmatrix_once");
    std::vector<uint32_t> host(32 * 4);
    gpu::download(host.data(), got, host.size() * sizeof(uint32_t));
    for (int l = 0; l < 32; ++l)
      for (int j = 0; j < 4; ++j) {
        const int g = l / 4, q = l % 4;
        const uint32_t want = trans ? element(j, 2 * q, g) | element(j, 2 * q + 1, g) << 16
                                    : element(j, g, 2 * q) | element(j, g, 2 * q + 1) << 16;
        EXPECT_EQ(host[size_t(4 * l + j)], want) << (trans ? ".trans" : "") << " lane " << l << ", matrix " << j;
      }
  }
  gpu::release(got);
}
#endif
