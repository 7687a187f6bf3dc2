// The benchmark of AR vs TiDAR decoding (reports/README.md): a grid of configurations run over a prompt
// suite with warm-up and repetitions, interleaved so that every configuration sees the same machine
// state, summarised with intervals, token accounting, quality against AR and validity rules.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/bench/step_cost.h"
#include "engine/bench/suite.h"
#include "engine/decode/tidar_options.h"
#include "engine/model/tokenizer.h"
#include "engine/model/transformer.h"
#include "reports/sections.h"

namespace dllm {

enum class Strategy { ar, tidar };
enum class SamplerKind { greedy, stochastic };       // the AR sampler: argmax, or sampling at a temperature
Strategy parse_strategy(const std::string& name);    // "ar" | "tidar"
SamplerKind parse_sampler(const std::string& name);  // "greedy" | "stochastic"
const char* strategy_name(Strategy s);
const char* sampler_name(SamplerKind s);

// One configuration of the sweep, parsed once: enums and numbers.
struct BenchPoint {
  Strategy strategy = Strategy::ar;
  SamplerKind sampler = SamplerKind::greedy;
  std::string backend = "cpu";
  int batch = 1;       // sequences decoded together (continuous batching)
  int rollouts = 1;    // sampled completions per prompt (stochastic only), sharing the prompt's prefill
  TidarOptions tidar;  // TiDAR only: block size, layout, levels (single forward), mixing weight

  bool is_tidar() const { return strategy == Strategy::tidar; }
  bool lossless() const { return !is_tidar() || tidar.mix_weight == 1.0f; }
  // The levels as the id spells them: "dense", "P3", "P5", a list, or "none" (two-forward layout).
  std::string levels_name() const;
  std::string id() const;  // e.g. "tidar/greedy/w0.75/K16/P3/single/cpu", "/b8", "/n4" when batched
  // The report's "config" of a point (reports/README.md), and back.
  nlohmann::json to_json() const;
  static BenchPoint from_json(const nlohmann::json& config);
};

using BenchSettings = report::Settings;  // the report's "settings" section

struct BenchProgress {
  int done = 0, total = 0;
  std::string point, phase;  // phase: "warm-up" or "rep i/n"
};

struct BenchInputs {
  std::vector<BenchPoint> points;     // reported
  std::vector<BenchPoint> baselines;  // measured for the points' speedups, not reported
  std::vector<SuitePrompt> prompts;
  BenchSettings settings;
  std::map<std::string, Transformer*> models;              // backend name -> the model on that backend
  const Tokenizer* tokenizer = nullptr;                    // the model's, for the examples' text (may be null)
  int64_t weight_bytes = 0;                                // streamed by every forward: the effective bandwidth
  std::map<std::string, std::vector<StepCost>> step_cost;  // backend name -> t(T), for the prediction
  // backend name -> batch size -> t(T) of passes of that many sequences with T tokens each
  std::map<std::string, std::map<int, std::vector<StepCost>>> batched_step_cost;
  std::function<void(const BenchProgress&)> progress;  // may be empty
  const std::atomic<bool>* stop = nullptr;             // set (e.g. by SIGINT) to stop early
};

// Runs the grid and returns the "points" array of the report plus "interrupted", a few side-by-side
// "examples" and the "batch_sweep" (report schema: reports/README.md): measure_points, then
// summarise_points. AR points with the same sampler, backend, batch size and rollouts are the
// baselines for speedup and quality; a TiDAR point without one gets no speedup. `in.baselines` are
// measured beside the points, as their baselines, but not reported (a shard's borrowed baselines).
nlohmann::json run_bench(const BenchInputs& in);

// The grid: AR once per sampler x backend, TiDAR per sampler x w x K x levels x layout x backend.
struct BenchGrid {
  std::vector<Strategy> strategies{Strategy::ar, Strategy::tidar};
  std::vector<SamplerKind> samplers{SamplerKind::greedy, SamplerKind::stochastic};
  std::vector<std::string> backends{"cpu"};
  std::vector<float> mix_weights{1.0f, 0.75f, 0.5f, 0.25f};
  std::vector<int> block_sizes{16};
  std::vector<std::string> levels{"P3"};  // level specs (parse_levels), for the single-forward layout
  std::vector<Layout> layouts{Layout::single_forward};
  std::vector<int> batch_sizes{1};
  std::vector<int> rollouts{1};  // > 1: stochastic points only
};
// Every point of the grid, in a fixed order; throws on a bad value (a level spec, a weight, a size).
std::vector<BenchPoint> expand_grid(const BenchGrid& g);

// Slice `index` of `count` (0 <= index < count) of a planned grid: "--shard I/N".
using Shard = report::Shard;
Shard parse_shard(const std::string& spec);
// The shard's points: the plan's points i with i % count == index, in plan order. The slices of a
// plan are disjoint and together hold every point once.
std::vector<BenchPoint> shard_points(const std::vector<BenchPoint>& plan, Shard shard);
// The AR baselines the TiDAR points of `points` need that `points` lacks (in plan order).
std::vector<BenchPoint> missing_baselines(const std::vector<BenchPoint>& points, const std::vector<BenchPoint>& plan);

}  // namespace dllm
