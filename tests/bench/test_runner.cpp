// The benchmark runner on a real (random-weight) model: token accounting, the lossless gate inside
// the benchmark, the mixing divergence, validity rules and a clean stop.
#include "engine/bench/runner.h"

#include <gtest/gtest.h>

#include <set>

#include "engine/backend/backend.h"
#include "engine/model/model.h"
#include "reports/schema.h"

using nlohmann::json;

namespace {

struct Fixture {
  std::unique_ptr<dllm::Model> model = dllm::Model::load("preset:tiny");
  std::unique_ptr<dllm::Backend> backend = dllm::make_backend("cpu");
  dllm::Transformer tf{model->config(), model->weights(), *backend};

  dllm::BenchInputs inputs(const dllm::BenchGrid& grid, int prompts) {
    dllm::BenchInputs in;
    in.points = dllm::expand_grid(grid);
    for (int i = 0; i < prompts; ++i)
      in.prompts.push_back({std::string("p").append(std::to_string(i)),
                            i % 2 ? "odd" : "even",
                            {256, 10 + i, 20 + i, 30},
                            std::nullopt});
    in.settings.warmup = 0;
    in.settings.repetitions = 2;
    in.settings.max_new_tokens = 12;
    in.models["cpu"] = &tf;
    return in;
  }
};

const json& point(const json& r, const std::string& id) {
  for (const json& p : r["points"])
    if (p["id"] == id) return p;
  throw std::runtime_error("no point " + id);
}

}  // namespace

TEST(BenchRunner, GridExpansion) {
  dllm::BenchGrid g;
  g.mix_weights = {1, 0.5};
  g.levels = {"P3", "dense"};
  const auto points = dllm::expand_grid(g);
  EXPECT_EQ(points.size(), 2u * (1 + 2 * 2));  // per sampler: AR + w x levels
  g.batch_sizes = {1, 8};
  g.rollouts = {1, 4};
  // greedy: 2 batch sizes x (AR + 4 TiDAR); stochastic: also x 2 rollouts
  EXPECT_EQ(dllm::expand_grid(g).size(), 2u * 5 + 4u * 5);
  EXPECT_EQ(dllm::expand_grid(g).back().id(), "tidar/stochastic/w0.5/K16/dense/single/cpu/b8/n4");
  g.batch_sizes = {0};
  EXPECT_THROW(dllm::expand_grid(g), std::exception);
  g.batch_sizes = {1};
  EXPECT_EQ(points[1].id(), "tidar/greedy/w1/K16/P3/single/cpu");
  EXPECT_EQ(points[1].tidar.pass_tokens(), 17 * 4);
  EXPECT_EQ(dllm::BenchPoint::from_json(points[1].to_json()).id(), points[1].id());
  g.levels = {"0,99"};
  EXPECT_THROW(dllm::expand_grid(g), std::exception);
  EXPECT_THROW(dllm::parse_sampler("nucleus"), std::exception);
  EXPECT_THROW(dllm::parse_strategy("spec"), std::exception);
  // The two-forward layout has no proposal blocks: one point whatever the levels, levels "none".
  g = {};
  g.samplers = {dllm::SamplerKind::greedy};
  g.mix_weights = {1};
  g.block_sizes = {4};
  g.levels = {"dense", "0,2,4"};
  g.layouts = {dllm::Layout::single_forward, dllm::Layout::two_forward};
  const auto both = dllm::expand_grid(g);
  ASSERT_EQ(both.size(), 1u + 2 + 1);
  EXPECT_EQ(both[3].id(), "tidar/greedy/w1/K4/none/two/cpu");
  EXPECT_EQ(both[3].tidar.pass_tokens(), 5);
  EXPECT_EQ(both[3].tidar.lookahead(), 4);
  EXPECT_EQ(both[1].tidar.lookahead(), 2 * 4 + 1);
}

// --shard I/N: disjoint slices that together hold the plan, each with the AR baselines it lacks.
TEST(BenchRunner, ShardsSliceThePlan) {
  dllm::BenchGrid g;
  g.mix_weights = {1, 0.5};
  g.levels = {"P3", "dense"};
  const auto plan = dllm::expand_grid(g);
  std::multiset<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    const auto shard = dllm::shard_points(plan, dllm::parse_shard(std::to_string(i) + "/3"));
    EXPECT_FALSE(shard.empty());
    for (const auto& p : shard) seen.insert(p.id());
    for (const auto& b : dllm::missing_baselines(shard, plan)) {
      EXPECT_FALSE(b.is_tidar());
      for (const auto& p : shard) EXPECT_NE(p.id(), b.id());
    }
    // Every TiDAR point has its baseline in the shard or among the borrowed ones.
    auto measured = shard;
    for (const auto& b : dllm::missing_baselines(shard, plan)) measured.push_back(b);
    for (const auto& p : shard) {
      if (!p.is_tidar()) continue;
      bool found = false;
      for (const auto& b : measured)
        found = found || (b.id() == std::string("ar/") + dllm::sampler_name(p.sampler) + "/cpu");
      EXPECT_TRUE(found) << p.id();
    }
  }
  std::multiset<std::string> all;
  for (const auto& p : plan) all.insert(p.id());
  EXPECT_EQ(seen, all);
  for (const char* bad : {"3/3", "-1/2", "1", "1/0", "a/b", "1/2x"})
    EXPECT_THROW(dllm::parse_shard(bad), std::exception) << bad;
}

TEST(BenchRunner, LosslessPointsMatchArAndMixingIsMeasured) {
  Fixture f;
  dllm::BenchGrid g;
  g.block_sizes = {4};
  g.levels = {"0,2,4"};
  g.mix_weights = {1, 0.25};
  dllm::BenchInputs in = f.inputs(g, 3);
  in.step_cost["cpu"] = dllm::measure_step_cost(f.tf, {1, 5, 20}, 8, 2);
  const json r = dllm::run_bench(in);
  EXPECT_FALSE(r["interrupted"].get<bool>());
  for (const std::string sampler : {"greedy", "stochastic"}) {
    const json& lossless = point(r, "tidar/" + sampler + "/w1/K4/0,2,4/single/cpu");
    EXPECT_EQ(lossless["quality"]["vs_ar"]["exact_match"], 3) << sampler;
    EXPECT_EQ(lossless["quality"]["vs_ar"]["verdicts"]["bug"], 0);
    EXPECT_FALSE(lossless["quality"].contains("mixing"));
    EXPECT_TRUE(lossless["accounting"]["deterministic_across_repetitions"].get<bool>());
    EXPECT_EQ(lossless["decode_tokens_per_s"]["samples"].size(), 2u);
    EXPECT_EQ(lossless["speedup_vs_ar"]["baseline"], "ar/" + sampler + "/cpu");
    EXPECT_GT(lossless["speedup_vs_ar"]["predicted"]["speedup"].get<double>(), 0);
    EXPECT_EQ(lossless["config"]["pass_tokens"], 5 * 4);
    const json& mixed = point(r, "tidar/" + sampler + "/w0.25/K4/0,2,4/single/cpu");
    const json& mix = mixed["quality"]["mixing"];
    EXPECT_GT(mix["positions"].get<int>(), 0);
    EXPECT_GT(mix["kl_mean"].get<double>(), 0);  // w = 0.25 really moves the distribution
    EXPECT_GT(mix["tv_mean"].get<double>(), 0);
    EXPECT_LE(mix["same_top1_rate"].get<double>(), 1.0);
  }
  // Accounting: the AR point commits one token per forward after the first.
  const json& ar = point(r, "ar/greedy/cpu");
  EXPECT_NEAR(ar["accounting"]["tokens_per_step"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(ar["per_category"]["even"]["generated_tokens"].get<double>() +
                ar["per_category"]["odd"]["generated_tokens"].get<double>(),
            ar["accounting"]["generated_tokens"].get<double>());
  // The examples carry each step's commit; they add up to the output.
  for (const json& o : r["examples"][0]["outputs"]) {
    int sum = 0;
    for (int n : o["committed_per_step"]) sum += n;
    EXPECT_EQ(sum, int(o["tokens"].size())) << o["point"];
  }
}

TEST(BenchRunner, BatchSweepAndRollouts) {
  Fixture f;
  dllm::BenchGrid g;
  g.samplers = {dllm::SamplerKind::stochastic};
  g.mix_weights = {1};
  g.block_sizes = {4};
  g.levels = {"0,4"};
  g.batch_sizes = {1, 3};
  g.rollouts = {1, 2};
  dllm::BenchInputs in = f.inputs(g, 4);
  in.batched_step_cost["cpu"][3] = dllm::measure_step_cost(f.tf, {1, 10}, 8, 2, 3);
  const json r = dllm::run_bench(in);
  // Batched points decode what unbatched points decode, and TiDAR equals AR at every batch size.
  const json& alone = point(r, "ar/stochastic/cpu");
  const json& batched = point(r, "ar/stochastic/cpu/b3");
  EXPECT_EQ(alone["accounting"]["generated_tokens"], batched["accounting"]["generated_tokens"]);
  for (const std::string id :
       {"tidar/stochastic/w1/K4/0,4/single/cpu/b3", "tidar/stochastic/w1/K4/0,4/single/cpu/b3/n2"}) {
    const json& p = point(r, id);
    EXPECT_EQ(p["quality"]["vs_ar"]["exact_match"], p["quality"]["vs_ar"]["prompts"]) << id;
    EXPECT_GT(p["speedup_vs_ar"]["predicted"]["speedup"].get<double>(), 0) << id;  // from the batch-3 curve
  }
  EXPECT_EQ(point(r, "ar/stochastic/cpu/n2")["per_prompt"].size(), 8u);  // 4 prompts x 2 rollouts
  ASSERT_EQ(r["batch_sweep"].size(), 2u);                                // with and without rollouts
  EXPECT_EQ(r["batch_sweep"][0]["points"].size(), 2u);                   // batch 1 and 3
}

TEST(BenchRunner, ShortRunsAreMarkedInvalidNotAveraged) {
  Fixture f;
  dllm::BenchGrid g;
  g.strategies = {dllm::Strategy::ar};
  g.samplers = {dllm::SamplerKind::greedy};
  dllm::BenchInputs in = f.inputs(g, 1);
  in.settings.min_seconds = 1e6;
  in.settings.min_tokens = 0;
  in.settings.repetitions = 1;
  const json r = dllm::run_bench(in);
  const json& p = r["points"][0];
  EXPECT_FALSE(p["valid"].get<bool>());
  EXPECT_EQ(p["invalid_reasons"].size(), 2u);  // too short, and fewer repetitions than min_repetitions
}

// A point whose suite decodes in less than min_seconds runs the suite again within a timed
// repetition until the repetition has lasted min_seconds, so it is valid; the token accounting still
// describes one pass over the suite.
TEST(BenchRunner, FastPointsRunTheSuiteInRounds) {
  Fixture f;
  dllm::BenchGrid g;
  g.strategies = {dllm::Strategy::ar};
  g.samplers = {dllm::SamplerKind::greedy};
  dllm::BenchInputs in = f.inputs(g, 2);
  // A suite of 2 prompts x 12 tokens of preset:tiny takes about 0.2 ms on a 2-core Zen 4: 0.05 s takes
  // a few hundred rounds, under the 1000-round cap below which a repetition counts (0.2 s no longer
  // fitted once the CPU kernels got faster).
  in.settings.min_seconds = 0.05;
  in.settings.min_tokens = 0;
  const json r = dllm::run_bench(in);
  const json& p = r["points"][0];
  EXPECT_TRUE(p["valid"].get<bool>()) << p["invalid_reasons"];
  ASSERT_EQ(p["rounds"].size(), 2u);
  for (const json& rounds : p["rounds"]) EXPECT_GT(rounds.get<int>(), 1);
  int64_t one_pass = 0;
  for (const json& q : p["per_prompt"]) one_pass += q["generated_tokens"].get<int64_t>();
  EXPECT_EQ(p["accounting"]["generated_tokens"], one_pass);
}

TEST(BenchRunner, StopKeepsFinishedRepetitions) {
  Fixture f;
  dllm::BenchGrid g;
  g.samplers = {dllm::SamplerKind::greedy};
  g.mix_weights = {1};
  g.block_sizes = {4};
  g.levels = {"dense"};
  dllm::BenchInputs in = f.inputs(g, 2);
  std::atomic<bool> stop{false};
  in.stop = &stop;
  int calls = 0;
  // Stop during the second timed repetition: the first stays, nothing partial is kept.
  in.progress = [&](const dllm::BenchProgress&) {
    if (++calls == 2 * 2 + 1) stop = true;
  };
  const json r = dllm::run_bench(in);
  EXPECT_TRUE(r["interrupted"].get<bool>());
  for (const json& p : r["points"]) EXPECT_EQ(p["repetitions"], 1) << p["id"];
}
