// Sections of the benchmark report (reports/README.md) as types, each with to_json/from_json: the
// writer (engine/cli/bench.cpp, engine/bench/runner.cpp), the HTML renderer, compare and merge go
// through them, so each of these keys is spelled in one place (sections.cpp).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reports/stats.h"

namespace dllm::report {

// "settings": how the benchmark measured.
struct Settings {
  int warmup = 1;            // untimed repetitions over the whole suite, first
  int repetitions = 3;       // timed repetitions
  int max_new_tokens = 64;
  float temperature = 0.8f;  // of the stochastic sampler
  uint64_t seed = 0;         // of the stochastic sampler; sequence = prompt index
  double min_seconds = 0.1;  // validity: a repetition must decode for at least this long ...
  int64_t min_tokens = 32;   // ... and generate at least this many tokens
  int min_repetitions = 2;   // and a point needs this many timed repetitions for an interval
  bool operator==(const Settings&) const = default;
};

// "suite": the prompts.
struct Suite {
  std::string path;
  int64_t prompts = 0;
  std::vector<std::string> categories;  // empty: every category
  int limit = 0;                        // the first `limit` selected prompts; 0: all
};

// "shard": the slice of the planned grid a report measured (bench --shard index/count).
struct Shard {
  int index = 0, count = 1;
};

// A measured quantity over the timed repetitions: "decode_tokens_per_s", "speedup_vs_ar.decode", ...
struct Samples {
  stats::Summary summary;
  std::vector<double> samples;
};
Samples samples_of(const std::vector<double>& x);

// A point's "config". The TiDAR fields are present for strategy "tidar" only.
struct PointConfig {
  std::string strategy = "ar", sampler = "greedy", backend = "cpu";
  int batch = 1, rollouts = 1;
  float mix_weight = 1.0f;
  int block_size = 0;
  std::string levels, layout;
  int pass_tokens = 0;
  bool is_tidar() const { return strategy == "tidar"; }
};

// A TiDAR point's "speedup_vs_ar": against its AR baseline, per repetition, and the step-cost model's
// prediction a * t(1) / (forwards per step * t(T)) when t(T) was measured.
struct Prediction {
  double tokens_per_step = 0;  // a
  int pass_tokens = 0;         // T
  double t_pass_over_t1 = 0;   // forwards per step * t(T) / t(1)
  double speedup = 0;
  double measured_over_predicted = 0;
};
struct Speedup {
  std::string baseline;  // the AR point's id
  Samples decode, e2e;
  std::optional<Prediction> predicted;
};

// One entry of a step-cost curve ("step_cost.BACKEND.curve" and its "batched" curves).
struct CurvePoint {
  int tokens = 0;  // T per sequence
  double seconds = 0, min_seconds = 0;  // mean and best pass time
  std::vector<double> samples;          // every timed pass
};

void to_json(nlohmann::json& j, const Settings& s);
void from_json(const nlohmann::json& j, Settings& s);
void to_json(nlohmann::json& j, const Suite& s);
void from_json(const nlohmann::json& j, Suite& s);
void to_json(nlohmann::json& j, const Shard& s);
void from_json(const nlohmann::json& j, Shard& s);
void to_json(nlohmann::json& j, const Samples& s);
void from_json(const nlohmann::json& j, Samples& s);
void to_json(nlohmann::json& j, const Prediction& p);
void from_json(const nlohmann::json& j, Prediction& p);
void to_json(nlohmann::json& j, const Speedup& s);
void from_json(const nlohmann::json& j, Speedup& s);
void to_json(nlohmann::json& j, const CurvePoint& c);
void from_json(const nlohmann::json& j, CurvePoint& c);
void to_json(nlohmann::json& j, const PointConfig& c);
void from_json(const nlohmann::json& j, PointConfig& c);

}  // namespace dllm::report
