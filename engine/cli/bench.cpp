// dllm-bench bench: AR vs TiDAR throughput over a prompt suite and a sweep of configurations, the
// step-cost curve, and the JSON + HTML report (reports/README.md).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/backend/backend.h"
#include "engine/bench/kernel_parity.h"
#include "engine/bench/provenance.h"
#include "engine/bench/routing_locality.h"
#include "engine/bench/runner.h"
#include "engine/cli/commands.h"
#include "engine/cli/common.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "engine/model/config.h"
#include "engine/model/tokenizer.h"
#include "reports/html.h"
#include "reports/schema.h"

#ifndef DLLM_DEFAULT_PROMPTS
#define DLLM_DEFAULT_PROMPTS "datasets/tasks/heldout.jsonl"
#endif
#ifndef DLLM_TEXT_PROMPTS
#define DLLM_TEXT_PROMPTS "datasets/text/suite.jsonl"
#endif

namespace dllm::cli {

namespace {

using nlohmann::json;

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once
}

// What to run, as the user asked: a --spec JSON file first, then flags on top.
struct Plan {
  BenchGrid grid;
  BenchSettings settings;
  std::string prompts;  // empty: chosen for the model's tokenizer (default_prompts)
  std::vector<std::string> categories;
  int limit = 14;
  std::vector<int> step_cost_sizes{1, 2, 4, 8, 16, 17, 32, 68, 128, 306};
  int step_cost_reps = 5;
  std::vector<std::string> step_cost_models;  // other models whose step-cost curve the report shows
  Shard shard;                                // the slice of the grid this run measures
  std::optional<SuiteChat> chat;              // --chat: the text prompts as chats
};

std::vector<float> floats_of(const std::vector<std::string>& items, const std::string& what) {
  std::vector<float> out;
  for (const std::string& s : items) {
    size_t used = 0;
    float v = 0;
    try {
      v = std::stof(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DLLM_CHECK(used == s.size() && !s.empty(), what, ": '", s, "' is not a number");
    out.push_back(v);
  }
  return out;
}

// Parses each item with `parse` (one of parse_layout, parse_strategy, parse_sampler).
template <typename Parse>
auto parsed(const std::vector<std::string>& items, Parse parse) {
  std::vector<decltype(parse(std::string()))> out;
  for (const std::string& s : items) out.push_back(parse(s));
  return out;
}

// Reads the keys of a sweep spec (reports/README.md "Sweep spec"); unknown keys are errors.
void apply_spec(const std::string& path, Plan& plan) {
  std::ifstream f(path);
  DLLM_CHECK(f, path, ": cannot read the sweep spec");
  const json j = json::parse(f, nullptr, false);
  DLLM_CHECK(!j.is_discarded() && j.is_object(), path, ": not a JSON object (see reports/README.md, Sweep spec)");
  auto strings = [&](const std::string& key) {
    DLLM_CHECK(j[key].is_array(), path, ": '", key, "' must be an array");
    std::vector<std::string> out;
    for (const json& v : j[key]) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    return out;
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    try {
      if (k == "strategies")
        plan.grid.strategies = parsed(strings(k), parse_strategy);
      else if (k == "samplers")
        plan.grid.samplers = parsed(strings(k), parse_sampler);
      else if (k == "backends")
        plan.grid.backends = strings(k);
      else if (k == "mix_weights")
        plan.grid.mix_weights = floats_of(strings(k), path + ": mix_weights");
      else if (k == "block_sizes")
        plan.grid.block_sizes = v.get<std::vector<int>>();
      else if (k == "levels")
        plan.grid.levels = strings(k);
      else if (k == "layouts")
        plan.grid.layouts = parsed(strings(k), parse_layout);
      else if (k == "batch_sizes")
        plan.grid.batch_sizes = v.get<std::vector<int>>();
      else if (k == "rollouts")
        plan.grid.rollouts = v.get<std::vector<int>>();
      else if (k == "warmup")
        plan.settings.warmup = v.get<int>();
      else if (k == "repetitions")
        plan.settings.repetitions = v.get<int>();
      else if (k == "max_new_tokens")
        plan.settings.max_new_tokens = v.get<int>();
      else if (k == "temperature")
        plan.settings.temperature = v.get<float>();
      else if (k == "seed")
        plan.settings.seed = v.get<uint64_t>();
      else if (k == "prompts")
        plan.prompts = v.get<std::string>();
      else if (k == "categories")
        plan.categories = strings(k);
      else if (k == "limit")
        plan.limit = v.get<int>();
      else if (k == "step_cost")
        plan.step_cost_sizes = v.get<std::vector<int>>();
      else
        fail(path, ": unknown key '", k, "' (see reports/README.md, Sweep spec)");
    } catch (const json::exception& e) {
      fail(path, ": '", k, "' has the wrong type: ", e.what());
    }
  }
}

void apply_flags(const Args& a, Plan& plan) {
  if (a.has("--strategies")) plan.grid.strategies = parsed(split_list(a.str("--strategies", "")), parse_strategy);
  if (a.has("--samplers")) plan.grid.samplers = parsed(split_list(a.str("--samplers", "")), parse_sampler);
  if (a.has("--backends")) plan.grid.backends = split_list(a.str("--backends", ""));
  if (a.has("--mix-weights"))
    plan.grid.mix_weights = floats_of(split_list(a.str("--mix-weights", "")), "--mix-weights");
  if (a.has("--block-sizes")) {
    plan.grid.block_sizes.clear();
    for (int32_t k : a.int_list("--block-sizes")) plan.grid.block_sizes.push_back(k);
  }
  if (a.has("--levels")) {  // specs contain commas, so they are separated by ':'
    plan.grid.levels.clear();
    std::stringstream in(a.str("--levels", ""));
    for (std::string s; std::getline(in, s, ':');) plan.grid.levels.push_back(s);
  }
  if (a.has("--layouts")) plan.grid.layouts = parsed(split_list(a.str("--layouts", "")), parse_layout);
  if (a.has("--batch-sizes")) {
    plan.grid.batch_sizes.clear();
    for (int32_t b : a.int_list("--batch-sizes")) plan.grid.batch_sizes.push_back(b);
  }
  if (a.has("--rollouts")) {
    plan.grid.rollouts.clear();
    for (int32_t n : a.int_list("--rollouts")) plan.grid.rollouts.push_back(n);
  }
  BenchSettings& s = plan.settings;
  s.warmup = int(a.integer("--warmup", s.warmup, 0, 100));
  s.repetitions = int(a.integer("--repetitions", s.repetitions, 1, 1000));
  s.max_new_tokens = int(a.integer("--max-new-tokens", s.max_new_tokens, 1, INT32_MAX));
  s.temperature = float(a.number("--temperature", s.temperature, 1e-6, 100));
  s.seed = uint64_t(a.integer("--seed", int64_t(s.seed), 0, INT64_MAX));
  s.min_seconds = a.number("--min-seconds", s.min_seconds, 0, 1e9);
  s.min_tokens = a.integer("--min-tokens", s.min_tokens, 0, INT64_MAX);
  plan.prompts = a.str("--prompts", plan.prompts);
  if (a.has("--categories")) plan.categories = split_list(a.str("--categories", ""));
  plan.limit = int(a.integer("--limit", plan.limit, 0, INT32_MAX));
  if (a.has("--step-cost")) {
    plan.step_cost_sizes.clear();
    if (a.str("--step-cost", "") != "none")
      for (int32_t t : a.int_list("--step-cost")) plan.step_cost_sizes.push_back(t);
  }
  plan.step_cost_reps = int(a.integer("--step-cost-reps", plan.step_cost_reps, 1, 1000));
  if (a.has("--step-cost-models")) plan.step_cost_models = split_list(a.str("--step-cost-models", ""));
  if (a.has("--shard")) plan.shard = parse_shard(a.str("--shard", ""));
  plan.chat = suite_chat(a);
}

// A progress bar on a terminal; plain lines (one per point and phase) otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : tty_(isatty(STDERR_FILENO)), quiet_(quiet) {}
  void operator()(const BenchProgress& p) {
    if (quiet_) return;
    if (tty_) {
      const int width = 30, filled = p.total ? width * p.done / p.total : width;
      std::fprintf(stderr, "\r\033[K[%s%s] %3d%% %d/%d %s %s", std::string(size_t(filled), '#').c_str(),
                   std::string(size_t(width - filled), '.').c_str(), p.total ? 100 * p.done / p.total : 100, p.done,
                   p.total, p.point.c_str(), p.phase.c_str());
      std::fflush(stderr);
    } else if (p.point + p.phase != last_) {
      std::fprintf(stderr, "bench %d/%d %s %s\n", p.done, p.total, p.point.c_str(), p.phase.c_str());
    }
    last_ = p.point + p.phase;
  }
  void finish() {
    if (tty_ && !quiet_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool tty_, quiet_;
  std::string last_;
};

void print_summary(const json& report) {
  // Batched points have no separate decode phase (prefills overlap other sequences' steps): their
  // decode rate is the end-to-end rate.
  std::printf("%-44s %6s %8s %16s %16s %16s %8s\n", "configuration", "valid", "tok/fwd", "decode tok/s", "e2e tok/s",
              "speedup vs AR", "exact");
  for (const json& p : report["points"]) {
    if (!p.contains("decode_tokens_per_s")) {
      std::printf("%-44s %6s (no complete repetition)\n", p["id"].get<std::string>().c_str(), "no");
      continue;
    }
    const auto d = p["decode_tokens_per_s"].get<report::Samples>().summary;
    const auto e = p["e2e_tokens_per_s"].get<report::Samples>().summary;
    const auto q = p["quality"].get<report::Quality>();
    char tps[40], e2e[40], sp[40] = "-", ex[16] = "-";
    std::snprintf(tps, sizeof tps, "%.1f ± %.1f", d.mean, d.ci95);
    std::snprintf(e2e, sizeof e2e, "%.1f ± %.1f", e.mean, e.ci95);
    if (p.contains("speedup_vs_ar")) {
      const auto s = p["speedup_vs_ar"].get<report::Speedup>().decode.summary;
      std::snprintf(sp, sizeof sp, "%.2fx ± %.2f", s.mean, s.ci95);
    }
    if (q.vs_ar)
      std::snprintf(ex, sizeof ex, "%lld/%lld", (long long)q.vs_ar->exact_match, (long long)q.vs_ar->prompts);
    std::printf("%-44s %6s %8.2f %16s %16s %16s %8s\n", p["id"].get<std::string>().c_str(),
                p["valid"].get<bool>() ? "yes" : "NO", p["accounting"].get<report::Accounting>().tokens_per_forward,
                tps, e2e, sp, ex);
  }
}

// Routing locality (MoE models): suite documents packed into rows of this many tokens, within zaya's
// CCA ring (KvCache::kRecurrentRing - 2), up to kRoutingTokens tokens in all.
constexpr int kRoutingRowTokens = 120;
constexpr int64_t kRoutingTokens = 2048;

// The points this run measures: the planned grid (or this shard's slice of it) with the AR baselines
// its TiDAR points need, every TiDAR point validated against the model, every prompt against the
// farthest reach of the passes; and the largest run shape, for the memory check.
struct PlannedPoints {
  std::vector<BenchPoint> points, baselines;
  std::vector<SuitePrompt> prompts;
  RunShape shape;
};

// The suite a model gets without --prompts: the task prompts of the shipped byte-level models, or
// for a model with a text tokenizer (a tokenizer.json or tokenizer.model) the realistic text suite.
std::string default_prompts(const Tokenizer* tok) {
  return tok && !dynamic_cast<const ByteTokenizer*>(tok) ? DLLM_TEXT_PROMPTS : DLLM_DEFAULT_PROMPTS;
}

PlannedPoints plan_points(const Plan& plan, const ModelConfig& cfg, const Tokenizer* tok) {
  PlannedPoints pp;
  const std::vector<BenchPoint> grid = expand_grid(plan.grid);
  pp.points = shard_points(grid, plan.shard);
  DLLM_CHECK(!pp.points.empty(), "--shard ", plan.shard.index, "/", plan.shard.count, ": the grid has only ",
             grid.size(), " points, so this slice is empty: use at most ", grid.size(), " shards");
  pp.baselines = missing_baselines(pp.points, grid);
  pp.prompts = load_suite(plan.prompts, plan.categories, tok, plan.chat ? &*plan.chat : nullptr);
  if (plan.limit > 0 && int(pp.prompts.size()) > plan.limit) pp.prompts.resize(size_t(plan.limit));
  int64_t longest = 1;
  int lookahead = 0;
  pp.shape = RunShape{1, 0, 1};  // the largest point: most sequences, longest context, largest pass
  for (const SuitePrompt& p : pp.prompts) longest = std::max<int64_t>(longest, int64_t(p.ids.size()));
  for (const std::vector<BenchPoint>* list : {&pp.points, &pp.baselines})
    for (const BenchPoint& p : *list) {
      if (p.is_tidar()) p.tidar.validate(cfg);
      const int sequences = p.batch * p.rollouts;
      const int reach = p.is_tidar() ? p.tidar.lookahead() : 0;
      lookahead = std::max(lookahead, reach);
      pp.shape.sequences = std::max(pp.shape.sequences, sequences);
      pp.shape.pass_tokens =
          std::max<int64_t>(pp.shape.pass_tokens, int64_t(sequences) * (p.is_tidar() ? p.tidar.pass_tokens() : 1));
      pp.shape.context = std::max<int64_t>(pp.shape.context, longest + plan.settings.max_new_tokens + reach);
    }
  pp.shape.pass_tokens = std::max(pp.shape.pass_tokens, longest);  // the prefill
  if (cfg.arch == Arch::zaya)                                      // the routing-locality rows
    pp.shape.pass_tokens = std::max<int64_t>(pp.shape.pass_tokens, std::min(kRoutingRowTokens, cfg.context_length()));
  for (const SuitePrompt& p : pp.prompts) {
    GenerateRequest r;
    r.prompt = p.ids;
    r.max_new_tokens = plan.settings.max_new_tokens;
    try {
      validate_request(r, cfg, lookahead);
    } catch (const Error& e) {
      fail(plan.prompts, ": prompt '", p.id, "': ", e.what());
    }
  }
  return pp;
}

json provenance_of(const Args& a, int argc, char** argv, const Model& model, const Plan& plan,
                   const std::map<std::string, std::unique_ptr<Backend>>& backends) {
  ProvenanceInputs pi;
  for (int i = 0; i < argc; ++i) pi.command_line.push_back(argv[i]);
  pi.model_source = model.source();
  pi.weights_seed = uint64_t(a.integer("--weights-seed", 0, 0, INT64_MAX));
  pi.model_config = config_to_json(model.config());
  pi.mask_token_key = model.config().mask_token_key;
  pi.dataset_path = plan.prompts;
  pi.seeds = {plan.settings.seed};
  for (const std::string& b : plan.grid.backends) {
    if (!pi.backend.empty()) pi.backend += ',';
    pi.backend += b;
    if (const auto d = backends.at(b)->device()) {
      if (pi.gpu.is_null())
        pi.gpu = {{"name", d->name},
                  {"memory_bytes", d->memory_bytes},
                  {"multiprocessors", d->multiprocessors},
                  {"warp_size", d->warp_size},
                  {"runtime_version", d->runtime_version},
                  {"driver_version", d->driver_version},
                  {"emulated", d->emulated},
                  {"backends", json::array()}};
      pi.gpu["backends"].push_back(b);
    }
  }
  pi.probe_path = a.str("--probe", "");
  return collect_provenance(pi);
}

// Google Benchmark runs to import, checked before the long run.
json read_gbench(const Args& a) {
  json imported = json::array();
  for (const std::string& path : split_list(a.str("--gbench", ""))) {
    std::ifstream f(path);
    DLLM_CHECK(f, path, ": cannot read the Google Benchmark output");
    const json gb = json::parse(f, nullptr, false);
    DLLM_CHECK(
        !gb.is_discarded() && gb.is_object() && gb.contains("benchmarks") && gb["benchmarks"].is_array(), path,
        ": not Google Benchmark JSON (run a bench/ binary with --benchmark_out=FILE --benchmark_out_format=json)");
    for (const json& b : gb["benchmarks"])
      if (b.contains("name") && b.contains("real_time") && b.contains("time_unit")) imported.push_back(b);
  }
  return imported;
}

std::vector<report::CurvePoint> curve_points(const std::vector<StepCost>& curve) {
  std::vector<report::CurvePoint> c;
  for (const StepCost& s : curve) c.push_back(report::CurvePoint{s.tokens, s.seconds, s.min_seconds, s.samples});
  return c;
}
json curve_json(const std::vector<StepCost>& curve) { return curve_points(curve); }

// `sizes` sorted, without repeats.
std::vector<int> sorted_unique(std::vector<int> sizes) {
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// Appends the pass sizes of the TiDAR points among `points` to `sizes`.
void add_pass_sizes(const std::vector<BenchPoint>& points, std::vector<int>& sizes) {
  for (const BenchPoint& p : points)
    if (p.is_tidar()) sizes.push_back(p.tidar.pass_tokens());
}

// The step-cost curves t(T) of every backend, into `in` (for the predictions) and as the report's
// "step_cost": single-sequence passes of the plan's sizes, and passes of each batch size holding the
// measured points' TiDAR pass sizes.
json measure_step_costs(const Plan& plan, const ModelConfig& cfg, BenchInputs& in, bool quiet) {
  json step_cost = json::object();
  std::vector<int> sizes;
  for (int t : plan.step_cost_sizes)
    if (t >= 1 && 64 + t <= cfg.context_length()) sizes.push_back(t);
  sizes = sorted_unique(sizes);
  if (sizes.empty()) return step_cost;
  const int context = 64;  // cached tokens under the timed passes: a short prompt plus some output
  std::vector<int> pass_sizes{1};
  add_pass_sizes(in.points, pass_sizes);
  add_pass_sizes(in.baselines, pass_sizes);
  pass_sizes = sorted_unique(pass_sizes);
  for (const auto& [b, tf] : in.models) {
    if (!quiet) std::fprintf(stderr, "step-cost curve on %s: T = %d..%d\n", b.c_str(), sizes.front(), sizes.back());
    in.step_cost[b] = measure_step_cost(*tf, sizes, context, plan.step_cost_reps);
    step_cost[b] = {{"context", context}, {"curve", curve_json(in.step_cost[b])}};
    json batched = json::object();
    for (int batch : plan.grid.batch_sizes) {
      if (batch == 1) continue;
      in.batched_step_cost[b][batch] = measure_step_cost(*tf, pass_sizes, context, plan.step_cost_reps, batch);
      batched[std::to_string(batch)] = curve_json(in.batched_step_cost[b][batch]);
    }
    if (!batched.empty()) step_cost[b]["batched"] = batched;
  }
  return step_cost;
}

// "step_cost_models": each of the plan's other models (random weights for a preset) on the first
// backend, at T = 1, 16, 64 and the points' TiDAR pass sizes; each is loaded, measured and freed in
// turn, its memory checked first.
json measure_model_step_costs(const Args& a, const Plan& plan, const std::vector<BenchPoint>& points, Backend& backend,
                              bool quiet) {
  json out = json::array();
  std::vector<int> sizes{1, 16, 64};
  add_pass_sizes(points, sizes);
  sizes = sorted_unique(sizes);
  const int context = 64;
  for (const std::string& spec : plan.step_cost_models) {
    const ModelSummary summary = describe_model(spec);
    std::vector<int> fit = sizes;
    std::erase_if(fit, [&](int t) { return context + t > summary.config.context_length(); });
    DLLM_CHECK(!fit.empty(), "--step-cost-models ", spec, ": the model's context is too short for a timed pass");
    check_run_fits(a, summary, RunShape{1, context + fit.back(), fit.back()}, backend);
    if (!quiet) std::fprintf(stderr, "step-cost curve of %s on %s\n", spec.c_str(), backend.name().c_str());
    auto model = Model::load(spec, uint64_t(a.integer("--weights-seed", 0, 0, INT64_MAX)));
    Transformer tf(model->config(), model->weights(), backend);
    out.push_back(report::ModelStepCost{spec, backend.name(), double(summary.weight_bytes),
                                        2.0 * double(summary.parameters), context,
                                        curve_points(measure_step_cost(tf, fit, context, plan.step_cost_reps))});
  }
  return out;
}

// "routing_locality" (MoE models only): the distinct experts per layer of passes of T consecutive
// tokens of the suite (every prompt with its answer, up to kRoutingTokens tokens), on the first
// backend, beside uniform routing. Null for a dense model.
json measure_routing(const Plan& plan, const ModelConfig& cfg, BenchInputs& in, bool quiet) {
  if (cfg.arch != Arch::zaya) return nullptr;
  std::vector<std::vector<int32_t>> documents;
  int64_t tokens = 0;
  for (const SuitePrompt& p :
       load_suite(plan.prompts, plan.categories, in.tokenizer, plan.chat ? &*plan.chat : nullptr)) {
    if (tokens >= kRoutingTokens) break;
    std::vector<int32_t>& doc = documents.emplace_back(p.ids);
    if (p.answer) doc.insert(doc.end(), p.answer->begin(), p.answer->end());
    if (!cfg.eos_token_ids.empty()) doc.push_back(cfg.eos_token_ids.front());
    tokens += int64_t(doc.size());
  }
  const int row_tokens = std::min(kRoutingRowTokens, cfg.context_length());
  std::vector<int> sizes{1, 2, 4, 8, 16, 17, 32, 68};
  add_pass_sizes(in.points, sizes);
  std::erase_if(sizes, [&](int t) { return t > row_tokens; });
  sizes = sorted_unique(sizes);
  const auto& [backend, model] = *in.models.begin();
  if (!quiet) std::fprintf(stderr, "routing locality on %s: %lld suite tokens\n", backend.c_str(), (long long)tokens);
  return report::RoutingLocality{backend, cfg.num_experts, row_tokens, tokens,
                                 measure_routing_locality(*model, documents, sizes, row_tokens)};
}

// The report's "suite": what was decoded, with the chat format the prompts were put in.
report::Suite suite_of(const Plan& plan, int64_t prompts) {
  report::Suite s;
  s.path = plan.prompts, s.prompts = prompts, s.categories = plan.categories, s.limit = plan.limit;
  if (plan.chat) s.chat_format = chat_format_name(plan.chat->chat_template.format), s.chat_system = plan.chat->system;
  return s;
}

// The report (reports/README.md): the run's description around the runner's points.
json summarise(const Plan& plan, const PlannedPoints& pp, const ModelSummary& summary, json provenance, json step_cost,
               json model_step_costs, json routing, json points, json gbench, json kernel_parity) {
  json out = {{"schema", "dllm-bench/report"},
              {"schema_version", kReportSchemaVersion},
              {"kind", "bench"},
              {"provenance", std::move(provenance)},
              {"settings", plan.settings},
              {"suite", suite_of(plan, int64_t(pp.prompts.size()))},
              {"model",
               {{"parameters", summary.parameters},
                {"weight_bytes", summary.weight_bytes},
                {"flops_per_token", 2.0 * double(summary.parameters)}}},
              {"step_cost", std::move(step_cost)}};
  if (!model_step_costs.empty()) out["step_cost_models"] = std::move(model_step_costs);
  if (!routing.is_null()) out["routing_locality"] = std::move(routing);
  out.update(points);
  if (plan.shard.count > 1) out["shard"] = plan.shard;
  out["google_benchmark"] = std::move(gbench);
  out["kernel_parity"] = std::move(kernel_parity);
  return out;
}

void write_report(const json& report, const std::string& out, const std::string& html) {
  validate_report(report);  // never write a record the schema rejects
  write_file_atomic(out, report.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
  if (html != "none") write_file_atomic(html, render_html({report}));
  print_summary(report);
  std::printf("report: %s\n", std::filesystem::absolute(out).c_str());
  if (html != "none") std::printf("html:   %s\n", std::filesystem::absolute(html).c_str());
}

// 130 when interrupted, 3 when a lossless point diverged from AR (a bug), else 0.
int exit_code(const json& report) {
  bool bug = false;
  for (const json& p : report["points"])
    if (p.contains("quality"))
      if (const auto v = p["quality"].get<report::Quality>().vs_ar) bug = bug || v->verdicts.bug > 0;
  if (report["interrupted"].get<bool>()) {
    std::fprintf(stderr, "interrupted: the report holds the repetitions that finished\n");
    return 130;
  }
  if (bug) std::fprintf(stderr, "a lossless configuration diverged from AR: see quality.vs_ar.divergences\n");
  return bug ? 3 : 0;
}

}  // namespace

// plan -> measure -> summarise -> write.
int run_bench(int argc, char** argv) {
  Args a(
      "bench",
      "Benchmarks AR vs TiDAR decoding over a prompt suite and a grid of configurations (flags or a\n"
      "--spec JSON file; flags override the spec), measures the step-cost curve t(T), and writes the\n"
      "JSON report and its HTML rendering. Ctrl-C stops after the current prompt and writes what\n"
      "finished. Exit code 3 when a lossless configuration diverged from AR (a bug), 130 when interrupted.",
      concat(
          {{{"--model", "DIR|preset:NAME", "checkpoint folder or built-in preset (default: the shipped tiny-tidar)"},
            {"--weights-seed", "S", "seed of a preset's random weights (default 0)"},
            {"--max-memory", "SIZE", "refuse to start when weights + KV cache + workspace exceed SIZE (e.g. 2G, 512M)"},
            {"--check-weights", "", "scan every weight for NaN/Inf on load and name the first bad tensor"},
            {"--spec", "FILE", "sweep spec JSON (reports/README.md); flags given too override it"},
            {"--prompts", "FILE",
             "JSONL prompt suite (default " DLLM_DEFAULT_PROMPTS
             ", or for a model with a tokenizer.json or tokenizer.model " DLLM_TEXT_PROMPTS ")"},
            {"--categories", "LIST", "only these categories of the suite"}},
           kSuiteChatFlags,
           {{"--limit", "N", "the first N selected prompts (default 14; 0 = all)"},
            {"--strategies", "LIST", "ar,tidar (default both)"},
            {"--samplers", "LIST", "greedy,stochastic (default both)"},
            {"--mix-weights", "LIST", "TiDAR verify weights w; 1 = lossless (default 1,0.75,0.5,0.25)"},
            {"--block-sizes", "LIST", "TiDAR K values (default 16)"},
            {"--levels", "SPECS", "proposal level sets separated by ':' e.g. P3:dense:zyphra:0,4,16 (default P3)"},
            {"--layouts", "LIST", "single,two (default single)"},
            {"--backends", "LIST", "backends to run on (default cpu)"},
            {"--batch-sizes", "LIST", "sequences decoded together, e.g. 1,2,4,8,16,32,64 (default 1)"},
            {"--rollouts", "LIST", "sampled completions per prompt sharing its prefill (stochastic only; default 1)"},
            {"--warmup", "N", "untimed repetitions first (default 1)"},
            {"--repetitions", "N", "timed repetitions (default 3)"},
            {"--max-new-tokens", "N", "tokens per prompt at most (default 64)"},
            {"--temperature", "T", "temperature of the stochastic sampler (default 0.8)"},
            {"--seed", "S", "seed of the stochastic sampler (default 0)"},
            {"--min-seconds", "S",
             "seconds a timed repetition lasts at least: a faster point runs the suite again within it (default 0.1)"},
            {"--min-tokens", "N", "validity: minimum tokens per repetition (default 32)"},
            {"--step-cost", "LIST",
             "pass sizes T of the step-cost curve, or none (default 1,2,4,8,16,17,32,68,128,306)"},
            {"--step-cost-reps", "N", "timed passes per size (default 5)"},
            {"--step-cost-models", "LIST",
             "other models (preset:NAME or folders) whose step-cost curve t(T) the report shows beside this one's, "
             "e.g. preset:qwen3-0.6b: a memory-bound shape"},
            {"--gbench", "FILES", "Google Benchmark JSON outputs (bench/ binaries, --benchmark_out) to import"},
            {"--probe", "FILE", "measured machine limits (default: dllm-bench probe's file, if present)"},
            {"--out", "FILE", "JSON report (default reports/out/report.json)"},
            {"--html", "FILE", "HTML report (default: the JSON path with .html; 'none' to skip)"},
            {"--shard", "I/N",
             "run only slice I (0-based) of N of the planned grid; merge the slices' reports with dllm-bench merge"},
            {"--quiet", "", "no progress output"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  Plan plan;
  if (a.has("--spec")) apply_spec(a.str("--spec", ""), plan);
  apply_flags(a, plan);
  const std::string out = a.str("--out", "reports/out/report.json");
  std::string html = a.str("--html", "");
  if (html.empty()) html = std::filesystem::path(out).replace_extension(".html").string();
  const bool quiet = a.has("--quiet");

  // Plan: every point checked against the model, the memory of the largest against each backend, the
  // outputs and the imports checked, all before anything is measured.
  const ModelSummary summary = describe_model(model_spec(a));
  const std::unique_ptr<Tokenizer> tok = find_tokenizer(model_spec(a), summary.config);
  if (plan.prompts.empty()) plan.prompts = default_prompts(tok.get());
  const PlannedPoints pp = plan_points(plan, summary.config, tok.get());
  std::map<std::string, std::unique_ptr<Backend>> backends;
  for (const std::string& b : plan.grid.backends) {
    backends[b] = make_backend(b);
    check_run_fits(a, summary, pp.shape, *backends[b]);
  }
  for (const std::string& spec : plan.step_cost_models) describe_model(spec);  // a bad spec fails now
  auto model = load_model(a);
  const ModelConfig& cfg = model->config();
  std::map<std::string, std::unique_ptr<Transformer>> models;
  BenchInputs in;
  in.tokenizer = tok.get();
  for (const std::string& b : plan.grid.backends) {
    models[b] = std::make_unique<Transformer>(cfg, model->weights(), *backends[b]);
    in.models[b] = models[b].get();
  }
  const std::filesystem::path out_dir = std::filesystem::path(out).parent_path();
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    DLLM_CHECK(!ec, out, ": cannot create the output folder (", ec.message(), ")");
  }
  for (const std::string& path : {out, html})
    if (path != "none") check_output_writable(path);
  json provenance = provenance_of(a, argc, argv, *model, plan, backends);
  json gbench = read_gbench(a);
  in.points = pp.points;
  in.baselines = pp.baselines;
  in.prompts = pp.prompts;
  in.settings = plan.settings;
  in.weight_bytes = summary.weight_bytes;
  if (plan.shard.count > 1 && !quiet)
    std::fprintf(stderr, "shard %d/%d: %zu points (+%zu baselines)\n", plan.shard.index, plan.shard.count,
                 in.points.size(), in.baselines.size());

  // Measure: the step-cost curves, then the points.
  json step_cost = measure_step_costs(plan, cfg, in, quiet);
  json model_step_costs = measure_model_step_costs(a, plan, pp.points, *backends.begin()->second, quiet);
  json routing = measure_routing(plan, cfg, in, quiet);
  ProgressPrinter progress(quiet);
  in.progress = [&](const BenchProgress& p) { progress(p); };
  in.stop = &g_stop;
  g_stop.store(false);
  std::signal(SIGINT, on_sigint);
  json points = run_bench(in);
  std::signal(SIGINT, SIG_DFL);
  progress.finish();
  json parity = json::array();
  for (const auto& [name, backend] : backends)
    for (json row : kernel_parity(*backend, cfg, model->weights())) {
      row["backend"] = name;
      parity.push_back(row);
    }

  // Summarise and write.
  const json report =
      summarise(plan, pp, summary, std::move(provenance), std::move(step_cost), std::move(model_step_costs),
                std::move(routing), std::move(points), std::move(gbench), std::move(parity));
  write_report(report, out, html);
  return exit_code(report);
}

}  // namespace dllm::cli
