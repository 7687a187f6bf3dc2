// kernels/cpu/threads: the ranges cover [0, n) exactly once, nested and concurrent calls complete.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "kernels/cpu/threads.h"

using namespace dllm;

TEST(CpuThreads, RangesCoverEachIndexOnce) {
  for (int64_t n : {0, 1, 5, 64, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    cpu::parallel_for(n, 4, [&](int64_t b, int64_t e) {
      EXPECT_EQ(b % 4, 0);
      for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
}

TEST(CpuThreads, NestedAndConcurrentCallsComplete) {
  std::atomic<int64_t> total{0};
  auto work = [&] {
    cpu::parallel_for(100, 1, [&](int64_t b, int64_t e) {
      cpu::parallel_for(e - b, 1, [&](int64_t ib, int64_t ie) { total += ie - ib; });  // nested: inline
    });
  };
  std::thread other(work);
  work();
  other.join();
  EXPECT_EQ(total.load(), 200);
}
