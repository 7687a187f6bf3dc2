// The performance commands: `probe` (this machine's read bandwidth and peak FLOP/s, stored for
// every report's achieved / limit) and `stepcost` (the step-cost curve t(T)/t(1) of one model).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/bench/provenance.h"
#include "engine/bench/op_timing.h"
#include "engine/bench/step_cost.h"
#include "engine/cli/commands.h"
#include "engine/cli/common.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "core/clock.h"
#include "engine/model/transformer.h"
#include "kernels/cpu/probe.h"
#include "kernels/cpu/threads.h"

namespace dllm::cli {

namespace {

using nlohmann::json;

// Best of `reps` timings of fn() (the machine's limit is its best run, as STREAM reports).
template <typename Fn>
double best_seconds(int reps, Fn&& fn) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// The sum of fn(begin, end) over ranges covering [0, n), run by one thread (inline) or by all of the
// pool's; each range's result has its own slot (no shared writes).
float split_sum(int threads, int64_t n, int64_t grain, const std::function<float(int64_t, int64_t)>& fn) {
  if (threads == 1) return fn(0, n);
  std::vector<float> part(size_t((n + grain - 1) / grain), 0.0f);
  cpu::parallel_for(n, grain, [&](int64_t b, int64_t e) { part[size_t(b / grain)] = fn(b, e); });
  float s = 0;
  for (float v : part) s += v;
  return s;
}

json read_probe() {
  std::ifstream f(default_probe_path());
  if (!f) return nullptr;
  json j = json::parse(f, nullptr, false);
  return j.is_object() ? j : json(nullptr);
}

}  // namespace

int run_probe(int argc, char** argv) {
  Args a("probe",
         "Measures this machine's read bandwidth (a streaming read of a buffer much larger than the caches)\n"
         "and peak FLOP/s (independent FMA chains), with 1 thread and with all kernel threads (DLLM_THREADS),\n"
         "keeps the best, and stores them as JSON where reports look for them.",
         {{"--out", "FILE",
           "where to store the record (default $DLLM_PROBE, $XDG_CACHE_HOME/dllm-bench/probe.json or "
           "~/.cache/dllm-bench/probe.json)"},
          {"--bytes", "N", "read buffer size in bytes (default 1073741824 = 1 GiB)"},
          {"--repetitions", "R", "timed repetitions, best kept (default 5)"}});
  if (parse_or_help(a, argc, argv)) return 0;
  const std::string out = a.str("--out", default_probe_path());
  const int64_t bytes = a.integer("--bytes", int64_t(1) << 30, int64_t(1) << 20, int64_t(1) << 40);
  const int reps = int(a.integer("--repetitions", 5, 1, 1000));
  if (!a.has("--out")) {      // the cache folder is ours to make; an --out folder is the caller's
    std::error_code ignored;  // a failure shows as the writability check's error, naming the path
    std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ignored);
  }
  check_output_writable(out);  // before the measurement, not after it
  const cpu::Isa isa = cpu::best_isa();
  const int64_t n = bytes / 4;
  std::vector<float> buf(size_t(n), 1.0f);  // touched: pages are mapped before timing
  std::vector<int> thread_counts = {1};
  if (cpu::thread_count() > 1) thread_counts.push_back(cpu::thread_count());
  constexpr int64_t kFmaRounds = 50'000'000;
  json by_threads = json::object();
  double best_bw = 0, best_flops = 0;
  volatile float sink = 0;
  for (int threads : thread_counts) {
    const double read_s = best_seconds(reps, [&] {
      sink = split_sum(threads, n, 1 << 16,
                       [&](int64_t b, int64_t e) { return cpu::read_sum(buf.data() + b, e - b, isa); });
    });
    const double fma_s = best_seconds(reps, [&] {
      sink = split_sum(threads, threads, 1, [&](int64_t b, int64_t e) {
        float s = 0;
        for (int64_t i = b; i < e; ++i) s += cpu::fma_loop(kFmaRounds, isa);
        return s;
      });
    });
    const double bw = double(n) * 4 / read_s,
                 flops = double(threads) * kFmaRounds * cpu::flops_per_fma_round(isa) / fma_s;
    by_threads[std::to_string(threads)] = {{"read_bandwidth_bytes_per_s", bw}, {"peak_flops_per_s", flops}};
    best_bw = std::max(best_bw, bw), best_flops = std::max(best_flops, flops);
    std::printf("%d thread%s: read %.2f GB/s, FMA %.1f GFLOP/s\n", threads, threads > 1 ? "s" : " ", bw / 1e9,
                flops / 1e9);
  }
  const json record = {{"read_bandwidth_bytes_per_s", best_bw},
                       {"peak_flops_per_s", best_flops},
                       {"isa", cpu::isa_name(isa)},
                       {"kernel_threads", cpu::thread_count()},
                       {"by_threads", by_threads},
                       {"read_buffer_bytes", n * 4},
                       {"date_utc", utc_now()}};
  write_file_atomic(out, record.dump(2) + "\n");
  std::printf("limits: read %.2f GB/s, peak %.1f GFLOP/s (%s) -> %s\n", best_bw / 1e9, best_flops / 1e9,
              cpu::isa_name(isa), out.c_str());
  return 0;
}

int run_stepcost(int argc, char** argv) {
  Args a("stepcost",
         "Times one forward pass of T tokens (after --context cached tokens) for each T and prints the\n"
         "step-cost curve t(T)/t(1) with the weight bytes streamed per second and the FLOP rate, as\n"
         "fractions of the `dllm-bench probe` limits when a probe record exists (CPU backend: the probe\n"
         "measures the host). --context 0 --logits last times prefills, as other engines time a prompt.",
         concat({kModelFlags,
                 kLoadFlags,
                 {{"--sizes", "LIST", "pass sizes T (default 1,2,4,8,16,17,32,68,128,306)"},
                  {"--context", "N", "cached tokens before each pass, 0 for a prefill (default 64)"},
                  {"--logits", "all|last", "logits of every row of a pass (default, as a TiDAR pass) or the last only"},
                  {"--repetitions", "R", "timed passes per size, median reported (default 5)"},
                  {"--ops", "", "also split each pass's time by op (linear, attention, ...; host backends)"},
                  {"--json", "", "print one JSON object instead of the table"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  const std::vector<int32_t> listed =
      a.has("--sizes") ? a.int_list("--sizes") : std::vector<int32_t>{1, 2, 4, 8, 16, 17, 32, 68, 128, 306};
  std::vector<int> sizes(listed.begin(), listed.end());
  DLLM_CHECK(!sizes.empty(), "--sizes: give at least one pass size, e.g. 1,16,68");
  for (int t : sizes) DLLM_CHECK(t >= 1, "--sizes: every pass size must be at least 1, got ", t);
  const int context = int(a.integer("--context", 64, 0, 1 << 20));
  const int reps = int(a.integer("--repetitions", 5, 1, 10000));
  const std::string logits = a.str("--logits", "all");
  DLLM_CHECK(logits == "all" || logits == "last", "--logits must be all or last, got '", logits, "'");
  const StepLogits row_logits = logits == "all" ? StepLogits::every_row : StepLogits::last_row;
  auto backend = make_backend(a.str("--backend", "cpu"));
  const int largest = *std::max_element(sizes.begin(), sizes.end());
  check_run_fits(a, describe_model(model_spec(a)), RunShape{1, context + largest, largest}, *backend);
  auto model = load_model(a);
  Transformer tf(model->config(), model->weights(), *backend);
  const std::vector<StepCost> curve = measure_step_cost(tf, sizes, context, reps, 1, row_logits);
  // A pass's multiply-adds: every weight but the embedding table's for each token, the LM head's only
  // for the rows given logits (attention's are not counted).
  const ModelConfig& cfg = model->config();
  const double head = double(cfg.vocab_size) * cfg.hidden_size;
  const double body = double(model->parameter_count()) - head * (cfg.tie_word_embeddings ? 1 : 2);
  const double bytes = double(model->weight_bytes()), flops_per_token = 2.0 * (body + head);
  auto pass_flops = [&](int tokens) { return 2.0 * (tokens * body + (logits == "all" ? tokens : 1) * head); };
  // The probe measures the host: its limits bound only a backend that runs there.
  const bool on_host = &backend->memory() == &host_memory();
  const json limits = on_host ? read_probe() : json();
  const double bw = limits.is_object() ? limits.value("read_bandwidth_bytes_per_s", 0.0) : 0.0;
  const double peak = limits.is_object() ? limits.value("peak_flops_per_s", 0.0) : 0.0;
  json rows = json::array();
  for (const StepCost& c : curve)
    rows.push_back({{"tokens", c.tokens},
                    {"seconds", c.seconds},
                    {"min_seconds", c.min_seconds},
                    {"ratio_to_t1", c.seconds / curve.front().seconds},
                    {"weight_bytes_per_s", bytes / c.seconds},
                    {"flops", pass_flops(c.tokens)},
                    {"flops_per_s", pass_flops(c.tokens) / c.seconds}});
  if (a.has("--ops")) {  // the same passes again through the op timer: each op's share of a pass
    OpTimingBackend timing(*backend);
    Transformer timed(model->config(), model->weights(), timing);
    for (json& r : rows) {
      const StepCost c = measure_step_cost(timed, {r["tokens"].get<int>()}, context, reps, 1, row_logits, [&] {
                           timing.reset();
                         }).front();
      double passes_s = 0;
      for (double x : c.samples) passes_s += x;
      json ops = json::object();
      double in_ops = 0;
      for (const auto& [op, total] : timing.totals()) ops[op] = total.seconds / passes_s, in_ops += total.seconds;
      r["op_shares"] = ops;
      r["outside_ops_share"] = std::max(0.0, 1 - in_ops / passes_s);
    }
  }
  if (a.has("--json")) {
    std::cout << json({{"model", model->source()},
                       {"backend", backend->name()},
                       {"weight_bytes", bytes},
                       {"flops_per_token", flops_per_token},
                       {"context", context},
                       {"layers", cfg.num_layers},
                       {"logits", logits},
                       {"kernel_threads", cpu::thread_count()},
                       {"machine_limits", limits},
                       {"curve", rows}})
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf(
      "%s: %.3f GB of weights, %.2f GFLOP per token (%.2f of them the LM head's), context %d, logits of %s rows, "
      "%d kernel thread(s)%s\n",
      model->source().c_str(), bytes / 1e9, flops_per_token / 1e9, 2 * head / 1e9, context, logits.c_str(),
      cpu::thread_count(),
      bw > 0    ? ""
      : on_host ? " (no probe record: run `dllm-bench probe` for the fractions)"
                : " (no fractions: `dllm-bench probe` measures the host, not this device)");
  std::printf("%6s %12s %10s %12s %10s %12s %10s\n", "T", "t(T) ms", "t(T)/t(1)", "weight GB/s", "of read BW",
              "GFLOP/s", "of peak");
  for (const json& r : rows) {
    const double gbs = r["weight_bytes_per_s"].get<double>(), fl = r["flops_per_s"].get<double>();
    std::printf("%6d %12.3f %10.3f %12.2f %10s %12.2f %10s\n", r["tokens"].get<int>(), r["seconds"].get<double>() * 1e3,
                r["ratio_to_t1"].get<double>(), gbs / 1e9, bw > 0 ? std::to_string(gbs / bw).substr(0, 5).c_str() : "-",
                fl / 1e9, peak > 0 ? std::to_string(fl / peak).substr(0, 5).c_str() : "-");
  }
  for (const json& r : rows) {
    if (!r.contains("op_shares")) continue;
    std::vector<std::pair<double, std::string>> shares;
    for (const auto& [op, share] : r["op_shares"].items()) shares.emplace_back(share.get<double>(), op);
    std::sort(shares.rbegin(), shares.rend());
    std::printf("T = %d, share of a pass:", r["tokens"].get<int>());
    for (const auto& [share, op] : shares) std::printf(" %s %.1f%%", op.c_str(), share * 100);
    std::printf(", outside the ops %.1f%%\n", r["outside_ops_share"].get<double>() * 100);
  }
  return 0;
}

}  // namespace dllm::cli
