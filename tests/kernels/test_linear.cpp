// kernels/cpu linear beyond its op cases (opcases/linear.cpp): an output does not depend on which
// weight rows share its call.
#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

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

// The tiles layout holds the same weights: element (r, c) reads back from it, and every path gives
// the same bits from it as from the rows layout, in AR passes and in panel passes.
TEST(CpuLinear, TilesLayoutGivesTheRowsLayoutsBits) {
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    auto w = testutil::make_weights(68, 1040, dt, 5);
    ASSERT_TRUE(cpu::tileable(w.view));
    std::vector<uint8_t> storage(w.bytes.size());
    const WeightView tiles = cpu::tile_weights(w.view, storage.data());
    EXPECT_EQ(tiles.layout, WeightLayout::tiles);
    for (int64_t r : {0, 3, 4, 37, 67})
      for (int64_t c : {0, 15, 16, 1000, 1039}) ASSERT_EQ(tiles.at(r, c), w.view.at(r, c)) << r << ", " << c;
    for (cpu::Isa isa : cpu::runnable_isas())
      for (int tokens : {1, 3, 4, 5, 17}) {
        const auto x = testutil::random_floats(size_t(tokens) * 1040, 6);
        std::vector<float> from_rows(size_t(tokens) * 68), from_tiles(from_rows.size());
        cpu::linear(LinearArgs{tokens, 1040, 68, x.data(), w.view, {}, from_rows.data()}, isa);
        cpu::linear(LinearArgs{tokens, 1040, 68, x.data(), tiles, {}, from_tiles.data()}, isa);
        EXPECT_EQ(0, std::memcmp(from_rows.data(), from_tiles.data(), from_rows.size() * sizeof(float)))
            << "T=" << tokens << " " << dtype_name(dt) << " " << cpu::isa_name(isa);
      }
  }
}

// Only whole groups of 4 rows and pieces of 16 columns tile; anything else is refused by name.
TEST(CpuLinear, TilesNeedWholeGroupsAndPieces) {
  auto odd_rows = testutil::make_weights(6, 32, DType::bf16, 1),
       odd_cols = testutil::make_weights(8, 40, DType::bf16, 1);
  EXPECT_FALSE(cpu::tileable(odd_rows.view));
  EXPECT_FALSE(cpu::tileable(odd_cols.view));
  std::vector<uint8_t> storage(odd_cols.bytes.size());
  try {
    cpu::tile_weights(odd_cols.view, storage.data());
    ADD_FAILURE() << "tile_weights took a [8, 40] matrix";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 16"), std::string::npos) << e.what();
  }
}
