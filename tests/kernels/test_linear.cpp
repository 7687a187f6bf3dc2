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

namespace {

// The paths this CPU can run: portable always, AVX2 where cpuid has it.
std::vector<cpu::Isa> runnable_isas() {
  std::vector<cpu::Isa> isas = {cpu::Isa::portable};
  if (cpu::best_isa() == cpu::Isa::avx2) isas.push_back(cpu::Isa::avx2);
  return isas;
}

}  // namespace

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

TEST(CpuLinear, IsaPathsAreBitwiseEqual) {
  if (cpu::best_isa() != cpu::Isa::avx2) GTEST_SKIP() << "this CPU has only the portable path";
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    auto w = testutil::make_weights(37, 1041, dt, 5);
    const auto x = testutil::random_floats(20 * 1041, 6);
    std::vector<float> avx(20 * 37), portable(avx.size());
    cpu::linear(LinearArgs{20, 1041, 37, x.data(), w.view, {}, avx.data()}, cpu::Isa::avx2);
    cpu::linear(LinearArgs{20, 1041, 37, x.data(), w.view, {}, portable.data()}, cpu::Isa::portable);
    EXPECT_EQ(0, std::memcmp(avx.data(), portable.data(), avx.size() * sizeof(float))) << dtype_name(dt);
  }
}

TEST(CpuLinear, BatchInvariant) {
  for (cpu::Isa isa : runnable_isas()) {
    auto w = testutil::make_weights(61, 300, DType::bf16, 1);
    const auto x = testutil::random_floats(306 * 300, 2);
    std::vector<float> all(306 * 61), one(61);
    cpu::linear(LinearArgs{306, 300, 61, x.data(), w.view, {}, all.data()}, isa);
    for (int t : {0, 1, 2, 16, 17, 304, 305}) {
      for (int size : {1, 2, 3, 4, 7}) {
        if (t + size > 306) continue;
        std::vector<float> part(size_t(size) * 61);
        cpu::linear(LinearArgs{size, 300, 61, x.data() + t * 300, w.view, {}, part.data()}, isa);
        EXPECT_EQ(0, std::memcmp(part.data(), all.data() + t * 61, part.size() * sizeof(float)))
            << "tokens " << t << ".." << t + size << " " << cpu::isa_name(isa);
      }
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
