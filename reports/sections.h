// Sections of the benchmark report (reports/README.md) as types, each with to_json/from_json: the
// writer (engine/cli/bench.cpp, engine/bench/runner.cpp), the HTML renderer, compare and merge go
// through them, so each of these keys is spelled in one place (sections.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reports/stats.h"

namespace dllm::report {

// "settings": how the benchmark measured.
struct Settings {
  int warmup = 1;       // untimed repetitions over the whole suite, first
  int repetitions = 3;  // timed repetitions
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
  std::vector<std::string> categories;     // empty: every category
  int limit = 0;                           // the first `limit` selected prompts; 0: all
  std::string chat_format;                 // bench --chat: the chat format of the prompts; empty: none
  std::optional<std::string> chat_system;  // and the system turn, when given
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
  int tokens = 0;                       // T per sequence
  double seconds = 0, min_seconds = 0;  // mean and best pass time
  std::vector<double> samples;          // every timed pass
};

// A point's "accounting": tokens, forwards, latency and where the time went, over the first timed
// repetition's outputs (times over every repetition).
struct StepLatency {
  double p50 = 0, p90 = 0, p99 = 0;
  int64_t steps = 0;
};
struct TimeSplit {
  double forward_fraction = 0, sampling_and_host_fraction = 0;
};
struct MoeTraffic {
  double experts_per_layer_per_forward = 0, weight_bytes_per_forward = 0;
};
struct Accounting {
  int64_t generated_tokens = 0, forwards = 0;
  double tokens_per_forward = 0, tokens_per_step = 0, time_to_first_token_s = 0;
  StepLatency step_latency_s;
  TimeSplit time_split;
  double weight_bytes_per_s = 0;
  std::optional<MoeTraffic> moe;                           // MoE models
  std::optional<std::vector<int64_t>> accepted_histogram;  // TiDAR: steps that accepted n drafts, n = 0..K
  std::optional<std::vector<double>> slot_acceptance;      // TiDAR: P(draft i accepted | verified)
  bool deterministic_across_repetitions = true;
};

// A point's "quality": task accuracy, equality with its AR baseline, logit-mixing divergence.
struct CategoryAccuracy {
  int64_t correct = 0, scored = 0;
  double accuracy = 0;
};
// The text around a divergence (models with a tokenizer): a few tokens before it, common to both
// outputs, and a few from it on in the AR output and in the point's.
struct DivergenceText {
  std::string before, ar, point;
};
struct Divergence {
  std::string prompt_id;
  int64_t first_divergence = 0;
  std::string verdict;                        // near_tie | bug | lossy
  std::optional<double> ar_top1_top2_margin;  // lossless points
  std::optional<DivergenceText> text;
};
struct Verdicts {
  int64_t exact = 0, near_tie = 0, bug = 0, lossy = 0;
};
struct VsAr {
  int64_t prompts = 0, exact_match = 0;
  double exact_match_rate = 0, match_length_fraction_mean = 0;
  Verdicts verdicts;
  std::vector<Divergence> divergences;
};
struct Mixing {
  int64_t positions = 0;
  double kl_mean = 0, kl_max = 0, tv_mean = 0, same_top1_rate = 0;
};
struct Quality {
  std::map<std::string, CategoryAccuracy> task_accuracy;  // category ("all" too) -> accuracy; empty: no answers
  std::optional<VsAr> vs_ar;
  std::optional<Mixing> mixing;
};

// One TiDAR configuration of the "batch_sweep": speedup against batch size, and the crossover.
struct BatchSweepRow {
  int batch = 1;
  double speedup = 0, speedup_ci95 = 0, tokens_per_s = 0, per_sequence_tokens_per_s = 0;
  bool valid = false;
};
struct BatchSweep {
  std::string configuration;  // the points' id without the batch part
  std::vector<BatchSweepRow> points;
  std::optional<int> crossover_batch;  // the smallest batch at which TiDAR is no faster than AR
};

// A point's "per_category" entry, over the first timed repetition (decode rate over all of them).
struct CategoryStats {
  double generated_tokens = 0, forwards = 0, tokens_per_forward = 0, decode_tokens_per_s = 0, answers_correct = 0;
};

// One of the report's "examples": a prompt and each point's output with the commit of every step.
struct ExampleOutput {
  std::string point;  // the point's id
  std::vector<int32_t> tokens;
  std::vector<int> committed_per_step;
  std::optional<std::vector<std::string>> segments;  // the text of each step's commit (byte tokenizer)
};
struct Example {
  std::string prompt_id;
  std::vector<int32_t> prompt_tokens;
  std::optional<std::string> prompt_text;
  std::vector<ExampleOutput> outputs;
};

// "routing_locality" (MoE models): the distinct experts a pass of T consecutive suite tokens touches
// per layer, measured from the router's own choices, beside uniform routing
// (engine/bench/routing_locality.h).
struct ExpertsPerPass {
  int tokens = 0;       // T
  int64_t windows = 0;  // passes of T tokens measured
  double experts_per_layer = 0, uniform_experts_per_layer = 0;
  double expert_bytes = 0, uniform_expert_bytes = 0;  // expert weight bytes one pass reads, all layers
};
// "step_cost_models": the step-cost curve of another model on the same machine and backend (bench
// --step-cost-models), e.g. a memory-bound shape beside a small shipped model whose t(1) is overhead.
struct ModelStepCost {
  std::string model, backend;  // spec (preset:NAME or folder) and the backend it ran on
  double weight_bytes = 0, flops_per_token = 0;
  int context = 0;  // cached tokens under each timed pass
  std::vector<CurvePoint> curve;
};
struct RoutingLocality {
  std::string backend;
  int experts = 0;           // E, routed experts per layer (the skip route aside)
  int row_tokens = 0;        // suite documents are packed into rows of this many tokens
  int64_t suite_tokens = 0;  // tokens routed
  std::vector<ExpertsPerPass> passes;
};

// A peer comparison record ("dllm-bench/peer", reports/peer.schema.json; tools/peer-llamacpp writes
// it): another engine (the peer, llama.cpp) and dllm-bench ("ours") on the same weights, the same
// thread count, batch 1, measured in interleaved rounds. `dllm-bench report` renders it as the "peer"
// section.
struct PeerRates {
  // tokens per second, one value per round (each the median of that round's repetitions)
  std::vector<double> peer, ours;
  double peer_median() const;
  double ours_median() const;
  double ratio() const { return ours_median() / peer_median(); }  // > 1: dllm-bench is faster
};
struct PeerPass {
  int tokens = 0;  // T: one pass of T prompt tokens from an empty cache, logits of the last only
  PeerRates rates;
};
struct PeerDtypeResult {
  std::string dtype;         // of every weight matrix, in both files (norms: f32 in the GGUF, same values)
  int64_t weight_bytes = 0;  // of the checkpoint: what one decode step reads
  PeerRates decode;          // AR decode at batch 1 (llama-bench tg vs dllm-bench generate)
  std::vector<PeerPass> passes;
};
struct PeerEngine {
  std::string name, version, build;
  std::vector<std::string> commands;  // what ran, as typed
};
struct PeerHost {
  std::string cpu;
  std::vector<std::string> flags;  // the SIMD extensions of /proc/cpuinfo that matter to the kernels
  int logical_cpus = 0;
  std::string kernel;
  double load_start = 0, load_max = 0;  // 1-minute load average before the run, and the most seen before a measure
};
struct MachineLimits {  // from `dllm-bench probe`
  double read_bandwidth_bytes_per_s = 0, peak_flops_per_s = 0;
};
struct Peer {
  std::string date_utc;
  PeerHost host;
  std::optional<MachineLimits> limits;
  std::string model_shape;  // a preset's name: the shape of the random weights
  int64_t parameters = 0;
  int64_t layer_parameters = 0;    // in the transformer blocks: what every token of a pass multiplies
  int64_t lm_head_parameters = 0;  // vocabulary x width: what the pass's last token multiplies too
  uint64_t weights_seed = 0;
  int threads = 1, batch = 1, rounds = 1;
  int repetitions = 1;    // per round and measurement, the median kept
  int decode_tokens = 0;  // generated per decode run
  PeerEngine peer, ours;
  std::vector<PeerDtypeResult> results;
  // Whether other processes shared the CPUs: a load before the run, or more during it than the run's
  // own threads account for (they count in the load average too).
  bool busy() const { return host.load_start >= 0.5 || host.load_max >= threads + 1; }
  // FLOPs of the matrix products of a T-token pass with one logits row: 2 per layer parameter and
  // token, the LM head once (attention scores, small at these contexts, left out).
  double pass_flops(int tokens) const {
    return 2.0 * double(layer_parameters) * tokens + 2.0 * double(lm_head_parameters);
  }
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
void to_json(nlohmann::json& j, const Accounting& a);
void from_json(const nlohmann::json& j, Accounting& a);
void to_json(nlohmann::json& j, const Quality& q);
void from_json(const nlohmann::json& j, Quality& q);
void to_json(nlohmann::json& j, const BatchSweep& b);
void from_json(const nlohmann::json& j, BatchSweep& b);
void to_json(nlohmann::json& j, const CategoryStats& c);
void from_json(const nlohmann::json& j, CategoryStats& c);
void to_json(nlohmann::json& j, const ExampleOutput& o);
void from_json(const nlohmann::json& j, ExampleOutput& o);
void to_json(nlohmann::json& j, const Example& e);
void from_json(const nlohmann::json& j, Example& e);
void to_json(nlohmann::json& j, const ExpertsPerPass& e);
void from_json(const nlohmann::json& j, ExpertsPerPass& e);
void to_json(nlohmann::json& j, const ModelStepCost& m);
void from_json(const nlohmann::json& j, ModelStepCost& m);
void to_json(nlohmann::json& j, const RoutingLocality& r);
void from_json(const nlohmann::json& j, RoutingLocality& r);
void to_json(nlohmann::json& j, const PointConfig& c);
void from_json(const nlohmann::json& j, PointConfig& c);
// from_json checks what the schema cannot say: one value per round on both sides, every rate finite
// and above 0, each dtype and pass size once.
void to_json(nlohmann::json& j, const Peer& p);
void from_json(const nlohmann::json& j, Peer& p);

}  // namespace dllm::report
