// `dllm-bench probe` and `dllm-bench stepcost` end to end: the probe record has the keys reports
// read, the step-cost curve has one row per size, and bad input fails with a clear error.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/model/model.h"
#include "tests/testing.h"

using dllm::testutil::run_cli;

TEST(CliPerf, ProbeStoresTheLimitsReportsRead) {
  const std::string out = dllm::testutil::fresh_dir("probe") + "/probe.json";
  std::string log;
  ASSERT_EQ(0, run_cli("probe --bytes 4194304 --repetitions 1 --out " + out, &log)) << log;
  std::ifstream f(out);
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_GT(j["read_bandwidth_bytes_per_s"].get<double>(), 0);
  EXPECT_GT(j["peak_flops_per_s"].get<double>(), 0);
  EXPECT_TRUE(j["by_threads"].contains("1"));
}

// Without --out the record goes to the cache folder, made when missing (a fresh machine's first run).
TEST(CliPerf, ProbeMakesTheCacheFolder) {
  const std::string cache = dllm::testutil::fresh_dir("probe-cache") + "/cache";
  const char* saved = std::getenv("XDG_CACHE_HOME");
  const std::string restore = saved ? saved : "";
  setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  unsetenv("DLLM_PROBE");
  std::string log;
  EXPECT_EQ(0, run_cli("probe --bytes 1048576 --repetitions 1", &log)) << log;
  EXPECT_TRUE(std::ifstream(cache + "/dllm-bench/probe.json").good()) << log;
  if (saved)
    setenv("XDG_CACHE_HOME", restore.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
}

TEST(CliPerf, StepCostPrintsOneRowPerSize) {
  std::string log;
  ASSERT_EQ(0, run_cli("stepcost --model preset:tiny --sizes 1,2,17 --context 8 --repetitions 1 --json", &log)) << log;
  const nlohmann::json j = nlohmann::json::parse(log);
  ASSERT_EQ(j["curve"].size(), 3u);
  EXPECT_EQ(j["curve"][2]["tokens"], 17);
  EXPECT_DOUBLE_EQ(j["curve"][0]["ratio_to_t1"].get<double>(), 1.0);
  // Logits on every row: every token costs the same.
  EXPECT_DOUBLE_EQ(j["curve"][2]["flops"].get<double>(), 17 * j["flops_per_token"].get<double>());
}

// --ops: each op's share of the timed passes (the prefill and warm-up left out); with what runs
// outside the ops they make up the whole pass.
TEST(CliPerf, StepCostSplitsPassesByOp) {
  std::string log;
  ASSERT_EQ(0, run_cli("stepcost --model preset:tiny --sizes 1,17 --context 8 --repetitions 3 --ops --json", &log))
      << log;
  const nlohmann::json j = nlohmann::json::parse(log);
  for (const auto& row : j["curve"]) {
    double sum = row["outside_ops_share"].get<double>();
    for (const char* op : {"linear", "attention", "rmsnorm", "swiglu", "rope", "add"})
      EXPECT_GT(row["op_shares"].value(op, 0.0), 0.0) << op;
    for (const auto& [op, share] : row["op_shares"].items()) sum += share.get<double>();
    EXPECT_GT(sum, 0.5);   // the ops are timed inside the passes ...
    EXPECT_LT(sum, 1.02);  // ... and only those passes (not the prefill nor the warm-up)
  }
}

// Prefills, as other engines time a prompt: no cached token, the logits of the last row only.
TEST(CliPerf, StepCostTimesPrefills) {
  std::string log;
  ASSERT_EQ(0,
            run_cli("stepcost --model preset:tiny --sizes 1,16 --context 0 --logits last --repetitions 1 --json", &log))
      << log;
  const nlohmann::json j = nlohmann::json::parse(log);
  EXPECT_EQ(j["context"], 0);
  EXPECT_EQ(j["logits"], "last");
  ASSERT_EQ(j["curve"].size(), 2u);
  EXPECT_GT(j["curve"][1]["seconds"].get<double>(), 0);
  // The LM head runs for the last row only: 15 more tokens cost 15 times the rest of the model.
  const double per_token = j["flops_per_token"].get<double>(), one = j["curve"][0]["flops"].get<double>();
  const double sixteen = j["curve"][1]["flops"].get<double>();
  EXPECT_DOUBLE_EQ(one, per_token);
  EXPECT_LT(sixteen, 16 * per_token);
  const dllm::ModelConfig c = dllm::Model::load("preset:tiny")->config();  // the LM head: V x D multiply-adds
  EXPECT_DOUBLE_EQ(sixteen - one, 15 * (per_token - 2.0 * c.vocab_size * c.hidden_size));
  EXPECT_EQ(1, run_cli("stepcost --model preset:tiny --sizes 1 --logits first", &log));
  EXPECT_NE(log.find("--logits must be all or last"), std::string::npos) << log;
}

TEST(CliPerf, BadInputFailsClearly) {
  std::string log;
  EXPECT_EQ(1, run_cli("stepcost --model preset:tiny --sizes 0,2", &log));
  EXPECT_NE(log.find("at least 1"), std::string::npos) << log;
  EXPECT_EQ(1, run_cli("probe --bytes 10", &log));
  EXPECT_NE(log.find("--bytes"), std::string::npos) << log;
  setenv("DLLM_THREADS", "zero", 1);
  EXPECT_EQ(1, run_cli("stepcost --model preset:tiny --sizes 1 --repetitions 1", &log));
  EXPECT_NE(log.find("DLLM_THREADS"), std::string::npos) << log;
  unsetenv("DLLM_THREADS");
}
