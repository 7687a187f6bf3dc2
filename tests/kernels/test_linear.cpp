// kernels/cpu linear against ref::linear: odd and model shapes, every weight dtype, bias, guard
// values around the output, NaN/Inf checks, every ISA path (bitwise equal to each other), batch
// invariance, and thread-count invariance of whole-model logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#include "tests/kernel_checks.h"
#include "tests/testing.h"

using namespace dllm;

// The paths this CPU can run (cpu::runnable_isas: portable, avx2, avx512); each test runs every one.
using cpu::runnable_isas;

TEST(CpuLinear, MatchesReferenceOnOddAndModelShapes) {
  const int shapes[][3] = {{1, 1, 1}, {3, 7, 37}, {7, 97, 3}, {17, 1025, 37}, {1, 2048, 97}, {306, 128, 264}, {5, 16, 5}};
  for (cpu::Isa isa : runnable_isas())
    for (const auto& s : shapes) {
      const int tokens = s[0], in = s[1], out = s[2];
      for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
        auto w = testutil::make_weights(out, in, dt, uint32_t(in + out));
        auto b = testutil::make_weights(1, out, dt, 7);
        const auto x = testutil::random_floats(size_t(tokens) * in, 3);
        testutil::GuardedOutput fast(size_t(tokens) * out);
        std::vector<float> ref64(size_t(tokens) * out), ref32(ref64.size());
        cpu::linear(LinearArgs{tokens, in, out, x.data(), w.view, b.view, fast.data()}, isa);
        ref::linear<double>(LinearArgs{tokens, in, out, x.data(), w.view, b.view, ref64.data()});
        ref::linear<float>(LinearArgs{tokens, in, out, x.data(), w.view, b.view, ref32.data()});
        // f32 accumulation over Din terms
        EXPECT_TRUE(testutil::within_f32_reference_error(fast.values(), ref32, ref64))
            << tokens << "x" << in << "x" << out << " " << dtype_name(dt) << " " << cpu::isa_name(isa);
      }
    }
}

// Every path against the portable one, bit for bit, in every dtype, for pass sizes that take the
// streamed panels (T <= 4) and the blocked ones, with partial register tiles and an odd Din.
TEST(CpuLinear, IsaPathsAreBitwiseEqual) {
  if (runnable_isas().size() == 1) GTEST_SKIP() << "this CPU has only the portable path";
  for (DType dt : {DType::f32, DType::bf16, DType::f16})
    for (int tokens : {1, 3, 5, 20, 64}) {
      auto w = testutil::make_weights(37, 1041, dt, 5);
      auto b = testutil::make_weights(1, 37, dt, 8);
      const auto x = testutil::random_floats(size_t(tokens) * 1041, 6);
      std::vector<float> portable(size_t(tokens) * 37), fast(portable.size());
      cpu::linear(LinearArgs{tokens, 1041, 37, x.data(), w.view, b.view, portable.data()}, cpu::Isa::portable);
      for (cpu::Isa isa : runnable_isas()) {
        cpu::linear(LinearArgs{tokens, 1041, 37, x.data(), w.view, b.view, fast.data()}, isa);
        EXPECT_EQ(0, std::memcmp(fast.data(), portable.data(), fast.size() * sizeof(float)))
            << dtype_name(dt) << " T=" << tokens << " " << cpu::isa_name(isa);
      }
    }
}

TEST(CpuLinear, BatchInvariant) {
  for (cpu::Isa isa : runnable_isas())
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
      auto w = testutil::make_weights(61, 300, dt, 1);
      const auto x = testutil::random_floats(306 * 300, 2);
      std::vector<float> all(306 * 61);
      cpu::linear(LinearArgs{306, 300, 61, x.data(), w.view, {}, all.data()}, isa);
      for (int t : {0, 1, 2, 16, 17, 288, 304, 305})
        for (int size : {1, 2, 3, 4, 5, 7, 18}) {
          if (t + size > 306) continue;
          std::vector<float> part(size_t(size) * 61);
          cpu::linear(LinearArgs{size, 300, 61, x.data() + t * 300, w.view, {}, part.data()}, isa);
          EXPECT_EQ(0, std::memcmp(part.data(), all.data() + t * 61, part.size() * sizeof(float)))
              << "tokens " << t << ".." << t + size << " " << dtype_name(dt) << " " << cpu::isa_name(isa);
        }
    }
}

// An output does not depend on which rows share its call (so not on the thread split nor on where
// its 16-row block starts): rows computed in ranges with odd bounds equal the whole call, bitwise.
TEST(CpuLinear, RowRangeInvariant) {
  for (cpu::Isa isa : runnable_isas())
    for (DType dt : {DType::f32, DType::bf16, DType::f16})
      for (int tokens : {1, 4, 17}) {
        auto w = testutil::make_weights(61, 320, dt, 3);
        const auto x = testutil::random_floats(size_t(tokens) * 320, 4);
        std::vector<float> all(size_t(tokens) * 61);
        cpu::linear(LinearArgs{tokens, 320, 61, x.data(), w.view, {}, all.data()}, isa);
        const int bounds[] = {0, 5, 23, 37, 61};
        for (int b = 0; b + 1 < 5; ++b) {
          const int first = bounds[b], rows = bounds[b + 1] - first;
          WeightView part_w = w.view;
          part_w.data = static_cast<const char*>(w.view.data) + int64_t(first) * 320 * int64_t(dtype_size(dt));
          part_w.rows = rows;
          std::vector<float> part(size_t(tokens) * rows);
          cpu::linear(LinearArgs{tokens, 320, rows, x.data(), part_w, {}, part.data()}, isa);
          for (int t = 0; t < tokens; ++t)
            EXPECT_EQ(0, std::memcmp(&part[size_t(t) * rows], &all[size_t(t) * 61 + first], rows * sizeof(float)))
                << "rows " << first << ".." << first + rows << " T=" << tokens << " " << dtype_name(dt) << " "
                << cpu::isa_name(isa);
        }
      }
}

// Whole-model logits are bitwise equal with 1, 2 and 3 kernel threads (each output has one owner
// and a fixed order).
TEST(CpuLinear, ThreadCountInvariant) {
  const std::string dir = testutil::fresh_dir("threads");
  std::string first;
  for (const char* n : {"1", "2", "3"}) {
    setenv("DLLM_THREADS", n, 1);
    const std::string out = dir + "/logits" + n + ".json";
    std::string log;
    ASSERT_EQ(0, testutil::run_cli("logits --model preset:tiny --tokens 1,2,3,4,5,6,7,8,9 --out " + out, &log)) << log;
    std::stringstream s;
    s << std::ifstream(out).rdbuf();
    if (first.empty()) first = s.str();
    EXPECT_EQ(first, s.str()) << "DLLM_THREADS=" << n;
  }
  unsetenv("DLLM_THREADS");
}

// DLLM_ISA picks the path of a whole run: the model's logits are bitwise equal on every path, and a
// path this CPU lacks (or a misspelt one) is refused with a message naming the variable.
TEST(CpuLinear, DllmIsaPicksThePath) {
  const std::string dir = testutil::fresh_dir("isa");
  std::string first;
  for (cpu::Isa isa : runnable_isas()) {
    setenv("DLLM_ISA", cpu::isa_name(isa), 1);
    const std::string out = dir + "/logits-" + cpu::isa_name(isa) + ".json";
    std::string log;
    ASSERT_EQ(0, testutil::run_cli("logits --model preset:tiny --tokens 1,2,3,4,5,6,7,8,9 --out " + out, &log)) << log;
    std::stringstream s;
    s << std::ifstream(out).rdbuf();
    if (first.empty()) first = s.str();
    EXPECT_EQ(first, s.str()) << "DLLM_ISA=" << cpu::isa_name(isa);
  }
  setenv("DLLM_ISA", "avx1024", 1);
  std::string log;
  EXPECT_NE(0, testutil::run_cli("logits --model preset:tiny --tokens 1,2 --out " + dir + "/bad.json", &log));
  EXPECT_NE(std::string::npos, log.find("DLLM_ISA=avx1024 is not a kernel path")) << log;
  unsetenv("DLLM_ISA");
}
