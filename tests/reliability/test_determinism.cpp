// Determinism: the same seed gives the same tokens and the same report numbers (timings aside),
// run after run and whatever the thread count (DLLM_THREADS, read by the CPU kernels' thread pool;
// a build whose kernels run single-threaded must of course agree too).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/testing.h"

using dllm::testutil::run_cli;
using nlohmann::json;

namespace {

// Drops what measures time (and what is derived from it: rates, speedups, validity); keeps counts,
// tokens, acceptance and quality.
json without_timings(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (const json& v : j) out.push_back(without_timings(v));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (const auto& [k, v] : j.items()) {
    const bool timing = k.ends_with("_s") || k.find("time") != std::string::npos ||
                        k.find("speedup") != std::string::npos || k.find("seconds") != std::string::npos ||
                        k == "samples" || k == "valid" || k == "invalid_reasons" || k == "rounds" ||
                        k == "provenance" || k == "step_cost" || k == "kernel_parity" || k == "google_benchmark" ||
                        k == "batch_sweep";
    if (!timing) out[k] = without_timings(v);
  }
  return out;
}

// Runs dllm-bench with DLLM_THREADS set; returns its output.
std::string run_with_threads(const std::string& args, const char* threads) {
  setenv("DLLM_THREADS", threads, 1);
  std::string out;
  const int rc = run_cli(args, &out);
  unsetenv("DLLM_THREADS");
  EXPECT_EQ(rc, 0) << args << "\n" << out;
  return out;
}

json run_json(const std::string& args, const char* threads) {
  return json::parse(run_with_threads(args, threads), nullptr, false);
}

}  // namespace

TEST(Determinism, SameSeedSameTokensAndMetricsAcrossRunsAndThreadCounts) {
  for (const std::string strategy : {"ar", "tidar --block-size 4 --levels 0,2,4"}) {
    const std::string common =
        "generate --model preset:tiny --prompt hello --max-new-tokens 24 --temperature 0.9 "
        "--top-p 0.95 --json --strategy " +
        strategy;
    const std::string args = common + " --seed 11";
    const json first = run_json(args, "1");
    ASSERT_FALSE(first.is_discarded());
    EXPECT_FALSE(first["tokens"].empty());
    for (const char* threads : {"1", "2"}) {
      const json again = run_json(args, threads);
      EXPECT_EQ(again["tokens"], first["tokens"]) << strategy << " DLLM_THREADS=" << threads;
      EXPECT_EQ(without_timings(again["metrics"]), without_timings(first["metrics"])) << strategy;
    }
    EXPECT_NE(run_json(common + " --seed 12", "1")["tokens"], first["tokens"]) << "the seed must matter";
  }
}

TEST(Determinism, SameSeedSameReportNumbersAcrossRunsAndThreadCounts) {
  const std::string dir = dllm::testutil::fresh_dir("determinism");
  const std::string args =
      "bench --model preset:tiny --limit 2 --max-new-tokens 12 --repetitions 2 --warmup 0 "
      "--block-sizes 4 --levels 0,2,4 --mix-weights 1,0.5 --step-cost none --html none --quiet --out ";
  json reports[3];
  const char* threads[3] = {"1", "1", "2"};
  for (int i = 0; i < 3; ++i) {
    const std::string path = dir + "/r" + std::to_string(i) + ".json";
    run_with_threads(args + path, threads[i]);
    std::ifstream f(path);
    reports[i] = json::parse(f, nullptr, false);
    ASSERT_FALSE(reports[i].is_discarded()) << path;
  }
  const json base = without_timings(reports[0]);
  ASSERT_FALSE(base["points"].empty());
  EXPECT_EQ(without_timings(reports[1]), base) << "two runs with the same seed";
  EXPECT_EQ(without_timings(reports[2]), base) << "DLLM_THREADS=2";
}
