// The benchmark of AR vs TiDAR decoding (DESIGN §5): a grid of configurations run over a prompt
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
#include "engine/decode/tidar_decoder.h"

namespace dllm {

// One configuration of the sweep.
struct BenchPoint {
  std::string strategy = "ar";     // ar | tidar
  std::string sampler = "greedy";  // greedy | stochastic
  std::string backend = "cpu";
  int batch = 1;     // sequences decoded together (continuous batching)
  int rollouts = 1;  // sampled completions per prompt (stochastic only), sharing the prompt's prefill
  // TiDAR only:
  float mix_weight = 1.0f;  // 1 = lossless
  int block_size = 16;      // K
  std::string levels = "dense";
  Layout layout = Layout::single_forward;

  bool lossless() const { return strategy == "ar" || mix_weight == 1.0f; }
  std::string id() const;  // e.g. "tidar/greedy/w0.75/K16/P3/single/cpu", "/b8", "/n4" when batched
  nlohmann::json to_json() const;
};

struct BenchSettings {
  int warmup = 1;            // untimed repetitions over the whole suite, first
  int repetitions = 3;       // timed repetitions
  int max_new_tokens = 64;
  float temperature = 0.8f;  // of the stochastic sampler
  uint64_t seed = 0;         // of the stochastic sampler; sequence = prompt index
  double min_seconds = 0.1;  // validity: a repetition must decode for at least this long ...
  int64_t min_tokens = 32;   // ... and generate at least this many tokens
  int min_repetitions = 2;   // and a point needs this many timed repetitions for an interval
};

struct BenchProgress {
  int done = 0, total = 0;
  std::string point, phase;  // phase: "warm-up" or "rep i/n"
};

struct BenchInputs {
  std::vector<BenchPoint> points;
  std::vector<SuitePrompt> prompts;
  BenchSettings settings;
  std::map<std::string, Transformer*> models;  // backend name -> the model on that backend
  int64_t weight_bytes = 0;                     // streamed by every forward: the effective bandwidth
  std::map<std::string, std::vector<StepCost>> step_cost;  // backend name -> t(T), for the prediction
  // backend name -> batch size -> t(T) of passes of that many sequences with T tokens each
  std::map<std::string, std::map<int, std::vector<StepCost>>> batched_step_cost;
  std::function<void(const BenchProgress&)> progress;      // may be empty
  const std::atomic<bool>* stop = nullptr;                 // set (e.g. by SIGINT) to stop early
};

// Runs the grid and returns the "points" array of the report plus "interrupted", a few side-by-side
// "examples" and the "batch_sweep" (report schema: reports/README.md). AR points with the same
// sampler, backend, batch size and rollouts are the baselines for speedup and quality; a TiDAR point
// without one gets no speedup.
nlohmann::json run_bench(const BenchInputs& in);

// The grid: AR once per sampler x backend, TiDAR per sampler x w x K x levels x layout x backend.
struct BenchGrid {
  std::vector<std::string> strategies{"ar", "tidar"}, samplers{"greedy", "stochastic"}, backends{"cpu"};
  std::vector<float> mix_weights{1.0f, 0.75f, 0.5f, 0.25f};
  std::vector<int> block_sizes{16};
  std::vector<std::string> levels{"P3"};
  std::vector<Layout> layouts{Layout::single_forward};
  std::vector<int> batch_sizes{1};
  std::vector<int> rollouts{1};  // > 1: stochastic points only
};
std::vector<BenchPoint> expand_grid(const BenchGrid& g);

// Tokens of one TiDAR forward for a point: (K + 1) x (1 + levels) for the single forward, K + 1
// (per forward, two forwards per step) for the two-forward layout.
int pass_tokens(const BenchPoint& p);

}  // namespace dllm
