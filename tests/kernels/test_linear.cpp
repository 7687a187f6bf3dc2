// kernels/cpu linear beyond its op cases (opcases/linear.cpp): an output does not depend on which
// weight rows share its call.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/simd.h"
#include "tests/testing.h"

using namespace dllm;

// An output does not depend on which rows share its call (so not on the thread split nor on where
// its 16-row block starts): rows computed in ranges with odd bounds equal the whole call, bitwise.
TEST(CpuLinear, RowRangeInvariant) {
  for (cpu::Isa isa : cpu::runnable_isas())
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
