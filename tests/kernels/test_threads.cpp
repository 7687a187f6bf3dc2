// kernels/cpu/threads: the ranges cover [0, n) exactly once, nested and concurrent calls complete,
// and whole-model logits do not depend on the thread count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "kernels/cpu/threads.h"
#include "tests/testing.h"

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

// Whole-model logits are bitwise equal with 1, 2 and 3 kernel threads (each output has one owner
// and a fixed order).
TEST(CpuThreads, LogitsAreThreadCountInvariant) {
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
