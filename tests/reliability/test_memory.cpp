// Memory planning (engine/backend/memory.h): sizes, the machine's limits, and the refusal message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/check.h"
#include "engine/backend/kv_cache.h"
#include "engine/backend/memory.h"
#include "engine/model/model.h"
#include "tests/testing.h"

using dllm::parse_memory_size;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dllm::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Memory, ParsesSizes) {
  EXPECT_EQ(parse_memory_size("2G", "--max-memory"), int64_t(2) << 30);
  EXPECT_EQ(parse_memory_size("512M", "--max-memory"), int64_t(512) << 20);
  EXPECT_EQ(parse_memory_size("1.5K", "--max-memory"), 1536);
  EXPECT_EQ(parse_memory_size("1048576", "--max-memory"), 1048576);
  for (const char* bad : {"", "G", "-1G", "0", "2X", "2G extra", "nan", "1e30G"})
    EXPECT_NE(error_of([&] { parse_memory_size(bad, "--max-memory"); }).find("--max-memory must be a positive size"),
              std::string::npos)
        << bad;
}

TEST(Memory, KvCacheNeedMatchesTheCache) {
  const dllm::ModelConfig cfg = dllm::preset_config("tiny");
  const dllm::MemoryNeed need = dllm::memory_need(cfg, 1000, dllm::RunShape{3, 50, 7});
  EXPECT_EQ(need.kv_cache, dllm::KvCache(cfg, 3, 50).bytes());
  const dllm::MemoryNeed half = dllm::memory_need(cfg, 1000, dllm::RunShape{3, 50, 7}, dllm::DType::bf16);
  EXPECT_EQ(half.kv_cache, dllm::KvCache(cfg, 3, 50, dllm::host_memory(), dllm::DType::bf16).bytes());
  EXPECT_EQ(2 * half.kv_cache, need.kv_cache);
  EXPECT_EQ(need.weights, 1000);
  EXPECT_GT(need.workspace, int64_t(7) * cfg.vocab_size * 4);
  EXPECT_EQ(need.total(), need.weights + need.kv_cache + need.workspace);
}

TEST(Memory, AbsurdRunsSaturateInsteadOfWrappingAround) {
  const dllm::ModelConfig cfg = dllm::preset_config("llama3-8b");
  const dllm::MemoryNeed need =
      dllm::memory_need(cfg, 16'000'000'000, dllm::RunShape{1 << 24, int64_t(1) << 40, int64_t(1) << 40});
  EXPECT_EQ(need.kv_cache, INT64_MAX);
  EXPECT_EQ(need.total(), INT64_MAX);
  EXPECT_NE(error_of([&] {
              dllm::check_memory(need, std::nullopt, dllm::MemoryLimit{int64_t(1) << 40, "x"}, "M");
            }),
            "");
}

TEST(Memory, ReadsMemAvailableAndCgroupLimits) {
  const std::string dir = dllm::testutil::fresh_dir("memory");
  std::ofstream(dir + "/meminfo") << "MemTotal: 1000 kB\nMemAvailable:     800 kB\n";
  auto m = dllm::available_memory(dir + "/meminfo", dir + "/none");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, 800 * 1024);
  EXPECT_NE(m->source.find("MemAvailable"), std::string::npos);

  std::ofstream(dir + "/memory.max") << "500000\n";  // cgroup v2: the limit minus current use
  std::ofstream(dir + "/memory.current") << "100000\n";
  m = dllm::available_memory(dir + "/meminfo", dir);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, 400000);
  EXPECT_NE(m->source.find("memory.max"), std::string::npos);

  std::ofstream(dir + "/memory.max") << "max\n";  // unlimited: MemAvailable decides
  EXPECT_EQ(dllm::available_memory(dir + "/meminfo", dir)->bytes, 800 * 1024);

  const std::string v1 = dllm::testutil::fresh_dir("memory_v1");
  std::filesystem::create_directories(v1 + "/memory");
  std::ofstream(v1 + "/memory/memory.limit_in_bytes") << "300000\n";
  std::ofstream(v1 + "/memory/memory.usage_in_bytes") << "1000\n";
  EXPECT_EQ(dllm::available_memory(dir + "/meminfo", v1)->bytes, 299000);
  std::ofstream(v1 + "/memory/memory.limit_in_bytes") << "9223372036854771712\n";  // v1's "no limit"
  EXPECT_EQ(dllm::available_memory(dir + "/meminfo", v1)->bytes, 800 * 1024);

  EXPECT_FALSE(dllm::available_memory(dir + "/none", dir + "/none"));
  EXPECT_TRUE(dllm::available_memory());  // this machine has /proc/meminfo
}

TEST(Memory, RefusesWithTheBreakdownAndTheLimit) {
  const dllm::MemoryNeed need{3 << 20, 1 << 20, 1 << 20};
  std::string e = error_of([&] { dllm::check_memory(need, int64_t(4) << 20, std::nullopt, "M on backend cpu"); });
  EXPECT_NE(e.find("M on backend cpu needs 5.0 MiB (weights 3.0 MiB, KV cache 1.0 MiB, workspace 1.0 MiB), "
                   "more than --max-memory 4.0 MiB"),
            std::string::npos)
      << e;
  e = error_of([&] {
    dllm::check_memory(need, std::nullopt, dllm::MemoryLimit{1 << 20, "MemAvailable in /proc/meminfo"}, "M");
  });
  EXPECT_NE(e.find("more than the 1.0 MiB available (MemAvailable in /proc/meminfo)"), std::string::npos) << e;
  EXPECT_EQ(error_of([&] { dllm::check_memory(need, int64_t(5) << 20, dllm::MemoryLimit{6 << 20, "x"}, "M"); }), "");
}
