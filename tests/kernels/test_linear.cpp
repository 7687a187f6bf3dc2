// kernels/cpu linear against ref::linear: odd and model shapes, every weight dtype, bias, guard
// values around the output, NaN/Inf checks, and batch invariance.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#include "tests/testing.h"

using namespace dllm;

namespace {

constexpr float kGuard = -12345.0f;

}  // namespace

TEST(CpuLinear, MatchesReferenceOnOddAndModelShapes) {
  const int shapes[][3] = {{1, 1, 1}, {3, 7, 37}, {7, 97, 3}, {17, 1025, 37}, {1, 2048, 97}, {306, 128, 264}};
  for (const auto& s : shapes) {
    const int tokens = s[0], in = s[1], out = s[2];
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
      auto w = testutil::make_weights(out, in, dt, uint32_t(in + out));
      auto b = testutil::make_weights(1, out, dt, 7);
      const auto x = testutil::random_floats(size_t(tokens) * in, 3);
      std::vector<float> fast(size_t(tokens) * out + 2, kGuard), ref64(size_t(tokens) * out), ref32(ref64.size());
      cpu::linear(LinearArgs{tokens, in, out, x.data(), w.view, b.view, fast.data() + 1});
      ref::linear<double>(LinearArgs{tokens, in, out, x.data(), w.view, b.view, ref64.data()});
      ref::linear<float>(LinearArgs{tokens, in, out, x.data(), w.view, b.view, ref32.data()});
      EXPECT_EQ(fast.front(), kGuard);
      EXPECT_EQ(fast.back(), kGuard);
      const std::vector<float> got(fast.begin() + 1, fast.end() - 1);
      for (float v : got) ASSERT_TRUE(std::isfinite(v));
      // f32 accumulation over Din terms: error within 2x the reference's own f32 error (+ a floor).
      const double ref_err = testutil::max_rel_diff(ref32, ref64);
      EXPECT_LE(testutil::max_rel_diff(got, ref64), 2 * ref_err + 1e-6)
          << tokens << "x" << in << "x" << out << " " << dtype_name(dt);
    }
  }
}

TEST(CpuLinear, BatchInvariant) {
  auto w = testutil::make_weights(61, 300, DType::bf16, 1);
  const auto x = testutil::random_floats(306 * 300, 2);
  std::vector<float> all(306 * 61), one(61);
  cpu::linear(LinearArgs{306, 300, 61, x.data(), w.view, {}, all.data()});
  for (int t : {0, 16, 17, 305}) {
    cpu::linear(LinearArgs{1, 300, 61, x.data() + t * 300, w.view, {}, one.data()});
    EXPECT_EQ(0, std::memcmp(one.data(), all.data() + t * 61, 61 * sizeof(float))) << "token " << t;
  }
}
