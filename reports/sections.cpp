#include "reports/sections.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/check.h"
#include "reports/schema.h"

namespace dllm::report {

using nlohmann::json;

namespace {

// `v` (named `what` in errors) as an integer of type T: a value T cannot hold, or a float outside
// int64's range, is an error (converting it would be undefined behaviour); a value that is no number
// is the JSON library's type error.
template <typename T>
T integer_of(const json& v, const std::string& what) {
  if (!v.is_number()) return v.get<T>();
  bool fits = false;
  int64_t i = 0;
  if (v.is_number_unsigned()) {
    fits = std::in_range<T>(v.get<uint64_t>());
    if (fits) return T(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    i = v.get<int64_t>();
    fits = std::in_range<T>(i);
  } else {
    const double d = v.get<double>();
    fits = fits_int64(d) && std::in_range<T>(int64_t(d));
    if (fits) i = int64_t(d);
  }
  DLLM_CHECK(fits, "\"", what, "\": expected an integer in [", +std::numeric_limits<T>::min(), ", ",
             +std::numeric_limits<T>::max(), "], got ", v.dump());
  return T(i);
}

template <typename T>
T integer_at(const json& j, const char* key) {
  return integer_of<T>(j.at(key), key);
}

template <typename T>
std::vector<T> integers_at(const json& j, const char* key) {
  std::vector<T> out;
  for (const json& v : j.at(key)) out.push_back(integer_of<T>(v, key));
  return out;
}

// j[key] as a float: a number beyond float's range is an error, never converted.
float float_at(const json& j, const char* key) {
  const double d = j.at(key).get<double>();
  DLLM_CHECK(std::abs(d) <= double(std::numeric_limits<float>::max()), "\"", key, "\": ", d,
             " is beyond float's range");
  return float(d);
}

}  // namespace

void to_json(json& j, const ExpertsPerPass& e) {
  j = {{"tokens", e.tokens},
       {"windows", e.windows},
       {"experts_per_layer", e.experts_per_layer},
       {"uniform_experts_per_layer", e.uniform_experts_per_layer},
       {"expert_bytes", e.expert_bytes},
       {"uniform_expert_bytes", e.uniform_expert_bytes}};
}

void from_json(const json& j, ExpertsPerPass& e) {
  e.tokens = integer_at<int>(j, "tokens");
  e.windows = integer_at<int64_t>(j, "windows");
  j.at("experts_per_layer").get_to(e.experts_per_layer);
  j.at("uniform_experts_per_layer").get_to(e.uniform_experts_per_layer);
  j.at("expert_bytes").get_to(e.expert_bytes);
  j.at("uniform_expert_bytes").get_to(e.uniform_expert_bytes);
}

void to_json(json& j, const ModelStepCost& m) {
  j = {{"model", m.model},
       {"backend", m.backend},
       {"weight_bytes", m.weight_bytes},
       {"flops_per_token", m.flops_per_token},
       {"context", m.context},
       {"curve", m.curve}};
}

void from_json(const json& j, ModelStepCost& m) {
  j.at("model").get_to(m.model);
  j.at("backend").get_to(m.backend);
  j.at("weight_bytes").get_to(m.weight_bytes);
  j.at("flops_per_token").get_to(m.flops_per_token);
  m.context = integer_at<int>(j, "context");
  j.at("curve").get_to(m.curve);
}

void to_json(json& j, const RoutingLocality& r) {
  j = {{"backend", r.backend},
       {"experts", r.experts},
       {"row_tokens", r.row_tokens},
       {"suite_tokens", r.suite_tokens},
       {"passes", r.passes}};
}

void from_json(const json& j, RoutingLocality& r) {
  j.at("backend").get_to(r.backend);
  r.experts = integer_at<int>(j, "experts");
  r.row_tokens = integer_at<int>(j, "row_tokens");
  r.suite_tokens = integer_at<int64_t>(j, "suite_tokens");
  j.at("passes").get_to(r.passes);
}

void to_json(json& j, const Settings& s) {
  j = {{"warmup", s.warmup},
       {"repetitions", s.repetitions},
       {"max_new_tokens", s.max_new_tokens},
       {"temperature", s.temperature},
       {"seed", s.seed},
       {"min_seconds", s.min_seconds},
       {"min_tokens", s.min_tokens},
       {"min_repetitions", s.min_repetitions}};
}

void from_json(const json& j, Settings& s) {
  s.warmup = integer_at<int>(j, "warmup");
  s.repetitions = integer_at<int>(j, "repetitions");
  s.max_new_tokens = integer_at<int>(j, "max_new_tokens");
  s.temperature = float_at(j, "temperature");
  s.seed = integer_at<uint64_t>(j, "seed");
  j.at("min_seconds").get_to(s.min_seconds);
  s.min_tokens = integer_at<int64_t>(j, "min_tokens");
  s.min_repetitions = integer_at<int>(j, "min_repetitions");
}

void to_json(json& j, const Suite& s) {
  j = {{"path", s.path}, {"prompts", s.prompts}, {"categories", s.categories}, {"limit", s.limit}};
  if (!s.chat_format.empty()) j["chat_format"] = s.chat_format;
  if (s.chat_system) j["chat_system"] = *s.chat_system;
}

void from_json(const json& j, Suite& s) {
  j.at("path").get_to(s.path);
  s.prompts = integer_at<int64_t>(j, "prompts");
  s.categories = j.value("categories", std::vector<std::string>{});
  s.limit = j.contains("limit") ? integer_at<int>(j, "limit") : 0;
  s.chat_format = j.value("chat_format", std::string());
  if (j.contains("chat_system")) s.chat_system = j.at("chat_system").get<std::string>();
}

void to_json(json& j, const Shard& s) { j = {{"index", s.index}, {"count", s.count}}; }

void from_json(const json& j, Shard& s) {
  s.index = integer_at<int>(j, "index");
  s.count = integer_at<int>(j, "count");
}

Samples samples_of(const std::vector<double>& x) { return {stats::summarize(x), x}; }

void to_json(json& j, const Samples& s) {
  j = {{"n", s.summary.n},     {"mean", s.summary.mean}, {"stddev", s.summary.stddev}, {"ci95", s.summary.ci95},
       {"min", s.summary.min}, {"max", s.summary.max},   {"samples", s.samples}};
}

void from_json(const json& j, Samples& s) {
  s.summary.n = integer_at<int>(j, "n");
  j.at("mean").get_to(s.summary.mean);
  j.at("stddev").get_to(s.summary.stddev);
  j.at("ci95").get_to(s.summary.ci95);
  j.at("min").get_to(s.summary.min);
  j.at("max").get_to(s.summary.max);
  j.at("samples").get_to(s.samples);
}

void to_json(json& j, const Prediction& p) {
  j = {{"tokens_per_step", p.tokens_per_step},
       {"pass_tokens", p.pass_tokens},
       {"t_pass_over_t1", p.t_pass_over_t1},
       {"speedup", p.speedup},
       {"measured_over_predicted", p.measured_over_predicted}};
}

void from_json(const json& j, Prediction& p) {
  j.at("tokens_per_step").get_to(p.tokens_per_step);
  p.pass_tokens = integer_at<int>(j, "pass_tokens");
  j.at("t_pass_over_t1").get_to(p.t_pass_over_t1);
  j.at("speedup").get_to(p.speedup);
  j.at("measured_over_predicted").get_to(p.measured_over_predicted);
}

void to_json(json& j, const Speedup& s) {
  j = {{"baseline", s.baseline}, {"decode", s.decode}, {"e2e", s.e2e}};
  if (s.predicted) j["predicted"] = *s.predicted;
}

void from_json(const json& j, Speedup& s) {
  j.at("baseline").get_to(s.baseline);
  j.at("decode").get_to(s.decode);
  j.at("e2e").get_to(s.e2e);
  s.predicted.reset();
  if (j.contains("predicted")) s.predicted = j["predicted"].get<Prediction>();
}

void to_json(json& j, const CurvePoint& c) {
  j = {{"tokens", c.tokens}, {"seconds", c.seconds}, {"min_seconds", c.min_seconds}, {"samples", c.samples}};
}

void from_json(const json& j, CurvePoint& c) {
  c.tokens = integer_at<int>(j, "tokens");
  j.at("seconds").get_to(c.seconds);
  j.at("min_seconds").get_to(c.min_seconds);
  j.at("samples").get_to(c.samples);
}

void to_json(json& j, const Accounting& a) {
  j = {{"generated_tokens", a.generated_tokens},
       {"forwards", a.forwards},
       {"tokens_per_forward", a.tokens_per_forward},
       {"tokens_per_step", a.tokens_per_step},
       {"time_to_first_token_s", a.time_to_first_token_s},
       {"step_latency_s",
        {{"p50", a.step_latency_s.p50},
         {"p90", a.step_latency_s.p90},
         {"p99", a.step_latency_s.p99},
         {"steps", a.step_latency_s.steps}}},
       {"time_split",
        {{"forward_fraction", a.time_split.forward_fraction},
         {"sampling_and_host_fraction", a.time_split.sampling_and_host_fraction}}},
       {"weight_bytes_per_s", a.weight_bytes_per_s},
       {"deterministic_across_repetitions", a.deterministic_across_repetitions}};
  if (a.moe)
    j["moe"] = {{"experts_per_layer_per_forward", a.moe->experts_per_layer_per_forward},
                {"weight_bytes_per_forward", a.moe->weight_bytes_per_forward}};
  if (a.accepted_histogram) j["accepted_histogram"] = *a.accepted_histogram;
  if (a.slot_acceptance) j["slot_acceptance"] = *a.slot_acceptance;
}

void from_json(const json& j, Accounting& a) {
  a.generated_tokens = integer_at<int64_t>(j, "generated_tokens");
  a.forwards = integer_at<int64_t>(j, "forwards");
  j.at("tokens_per_forward").get_to(a.tokens_per_forward);
  j.at("tokens_per_step").get_to(a.tokens_per_step);
  j.at("time_to_first_token_s").get_to(a.time_to_first_token_s);
  const json& l = j.at("step_latency_s");
  l.at("p50").get_to(a.step_latency_s.p50);
  l.at("p90").get_to(a.step_latency_s.p90);
  l.at("p99").get_to(a.step_latency_s.p99);
  a.step_latency_s.steps = integer_at<int64_t>(l, "steps");
  j.at("time_split").at("forward_fraction").get_to(a.time_split.forward_fraction);
  j.at("time_split").at("sampling_and_host_fraction").get_to(a.time_split.sampling_and_host_fraction);
  j.at("weight_bytes_per_s").get_to(a.weight_bytes_per_s);
  j.at("deterministic_across_repetitions").get_to(a.deterministic_across_repetitions);
  a.moe.reset(), a.accepted_histogram.reset(), a.slot_acceptance.reset();
  if (j.contains("moe"))
    a.moe = MoeTraffic{j["moe"].at("experts_per_layer_per_forward").get<double>(),
                       j["moe"].at("weight_bytes_per_forward").get<double>()};
  if (j.contains("accepted_histogram")) {
    a.accepted_histogram = integers_at<int64_t>(j, "accepted_histogram");
  }
  if (j.contains("slot_acceptance")) a.slot_acceptance = j["slot_acceptance"].get<std::vector<double>>();
}

void to_json(json& j, const Quality& q) {
  j = json::object();
  if (!q.task_accuracy.empty()) {
    json& a = j["task_accuracy"] = json::object();
    for (const auto& [c, v] : q.task_accuracy)
      a[c] = {{"correct", v.correct}, {"scored", v.scored}, {"accuracy", v.accuracy}};
  }
  if (q.vs_ar) {
    const VsAr& v = *q.vs_ar;
    json divergences = json::array();
    for (const Divergence& d : v.divergences) {
      json dj = {{"prompt_id", d.prompt_id}, {"first_divergence", d.first_divergence}, {"verdict", d.verdict}};
      if (d.ar_top1_top2_margin) dj["ar_top1_top2_margin"] = *d.ar_top1_top2_margin;
      if (d.text) dj["text"] = {{"before", d.text->before}, {"ar", d.text->ar}, {"point", d.text->point}};
      divergences.push_back(dj);
    }
    j["vs_ar"] = {{"prompts", v.prompts},
                  {"exact_match", v.exact_match},
                  {"exact_match_rate", v.exact_match_rate},
                  {"match_length_fraction_mean", v.match_length_fraction_mean},
                  {"verdicts",
                   {{"exact", v.verdicts.exact},
                    {"near_tie", v.verdicts.near_tie},
                    {"bug", v.verdicts.bug},
                    {"lossy", v.verdicts.lossy}}},
                  {"divergences", divergences}};
  }
  if (q.mixing)
    j["mixing"] = {{"positions", q.mixing->positions},
                   {"kl_mean", q.mixing->kl_mean},
                   {"kl_max", q.mixing->kl_max},
                   {"tv_mean", q.mixing->tv_mean},
                   {"same_top1_rate", q.mixing->same_top1_rate}};
}

void from_json(const json& j, Quality& q) {
  q = Quality{};
  if (j.contains("task_accuracy"))
    for (const auto& [c, v] : j["task_accuracy"].items())
      q.task_accuracy[c] = {integer_at<int64_t>(v, "correct"), integer_at<int64_t>(v, "scored"),
                            v.at("accuracy").get<double>()};
  if (j.contains("vs_ar")) {
    const json& v = j["vs_ar"];
    VsAr& out = q.vs_ar.emplace();
    out.prompts = integer_at<int64_t>(v, "prompts");
    out.exact_match = integer_at<int64_t>(v, "exact_match");
    v.at("exact_match_rate").get_to(out.exact_match_rate);
    v.at("match_length_fraction_mean").get_to(out.match_length_fraction_mean);
    const json& verdicts = v.at("verdicts");
    out.verdicts = {integer_at<int64_t>(verdicts, "exact"), integer_at<int64_t>(verdicts, "near_tie"),
                    integer_at<int64_t>(verdicts, "bug"), integer_at<int64_t>(verdicts, "lossy")};
    for (const json& d : v.at("divergences")) {
      Divergence& dv = out.divergences.emplace_back();
      d.at("prompt_id").get_to(dv.prompt_id);
      dv.first_divergence = integer_at<int64_t>(d, "first_divergence");
      d.at("verdict").get_to(dv.verdict);
      if (d.contains("ar_top1_top2_margin")) dv.ar_top1_top2_margin = d["ar_top1_top2_margin"].get<double>();
      if (d.contains("text")) {
        const json& t = d["text"];
        dv.text = DivergenceText{t.at("before").get<std::string>(), t.at("ar").get<std::string>(),
                                 t.at("point").get<std::string>()};
      }
    }
  }
  if (j.contains("mixing")) {
    const json& m = j["mixing"];
    q.mixing = Mixing{integer_at<int64_t>(m, "positions"), m.at("kl_mean").get<double>(), m.at("kl_max").get<double>(),
                      m.at("tv_mean").get<double>(), m.at("same_top1_rate").get<double>()};
  }
}

void to_json(json& j, const BatchSweep& b) {
  json rows = json::array();
  for (const BatchSweepRow& r : b.points)
    rows.push_back({{"batch", r.batch},
                    {"speedup", r.speedup},
                    {"speedup_ci95", r.speedup_ci95},
                    {"tokens_per_s", r.tokens_per_s},
                    {"per_sequence_tokens_per_s", r.per_sequence_tokens_per_s},
                    {"valid", r.valid}});
  j = {{"configuration", b.configuration},
       {"points", rows},
       {"crossover_batch", b.crossover_batch ? json(*b.crossover_batch) : json()}};
}

void from_json(const json& j, BatchSweep& b) {
  j.at("configuration").get_to(b.configuration);
  b.points.clear();
  for (const json& r : j.at("points"))
    b.points.push_back({integer_at<int>(r, "batch"), r.at("speedup").get<double>(), r.at("speedup_ci95").get<double>(),
                        r.at("tokens_per_s").get<double>(), r.at("per_sequence_tokens_per_s").get<double>(),
                        r.at("valid").get<bool>()});
  b.crossover_batch.reset();
  if (!j.at("crossover_batch").is_null()) b.crossover_batch = integer_at<int>(j, "crossover_batch");
}

void to_json(json& j, const CategoryStats& c) {
  j = {{"generated_tokens", c.generated_tokens},
       {"forwards", c.forwards},
       {"tokens_per_forward", c.tokens_per_forward},
       {"decode_tokens_per_s", c.decode_tokens_per_s},
       {"answers_correct", c.answers_correct}};
}

void from_json(const json& j, CategoryStats& c) {
  j.at("generated_tokens").get_to(c.generated_tokens);
  j.at("forwards").get_to(c.forwards);
  j.at("tokens_per_forward").get_to(c.tokens_per_forward);
  j.at("decode_tokens_per_s").get_to(c.decode_tokens_per_s);
  c.answers_correct = j.value("answers_correct", 0.0);
}

void to_json(json& j, const ExampleOutput& o) {
  j = {{"point", o.point}, {"tokens", o.tokens}, {"committed_per_step", o.committed_per_step}};
  if (o.segments) j["segments"] = *o.segments;
}

void from_json(const json& j, ExampleOutput& o) {
  j.at("point").get_to(o.point);
  o.tokens = integers_at<int32_t>(j, "tokens");
  o.committed_per_step = integers_at<int>(j, "committed_per_step");
  o.segments.reset();
  if (j.contains("segments")) o.segments = j["segments"].get<std::vector<std::string>>();
}

void to_json(json& j, const Example& e) {
  j = {{"prompt_id", e.prompt_id}, {"prompt_tokens", e.prompt_tokens}, {"outputs", e.outputs}};
  if (e.prompt_text) j["prompt_text"] = *e.prompt_text;
}

void from_json(const json& j, Example& e) {
  j.at("prompt_id").get_to(e.prompt_id);
  e.prompt_tokens = integers_at<int32_t>(j, "prompt_tokens");
  e.prompt_text.reset();
  if (j.contains("prompt_text")) e.prompt_text = j["prompt_text"].get<std::string>();
  j.at("outputs").get_to(e.outputs);
}

void to_json(json& j, const PointConfig& c) {
  j = {{"strategy", c.strategy},
       {"sampler", c.sampler},
       {"backend", c.backend},
       {"batch", c.batch},
       {"rollouts", c.rollouts}};
  if (c.is_tidar())
    j.update({{"mix_weight", c.mix_weight},
              {"block_size", c.block_size},
              {"levels", c.levels},
              {"layout", c.layout},
              {"pass_tokens", c.pass_tokens}});
}

void from_json(const json& j, PointConfig& c) {
  j.at("strategy").get_to(c.strategy);
  j.at("sampler").get_to(c.sampler);
  j.at("backend").get_to(c.backend);
  c.batch = integer_at<int>(j, "batch");
  c.rollouts = integer_at<int>(j, "rollouts");
  if (!c.is_tidar()) return;
  c.mix_weight = j.contains("mix_weight") ? float_at(j, "mix_weight") : 1.0f;
  c.block_size = j.contains("block_size") ? integer_at<int>(j, "block_size") : 0;
  c.levels = j.value("levels", std::string());
  c.layout = j.value("layout", std::string());
  c.pass_tokens = j.contains("pass_tokens") ? integer_at<int>(j, "pass_tokens") : 0;
}

namespace {

double median_of(std::vector<double> x) {
  DLLM_CHECK(!x.empty(), "a median of no values");
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

// j[key]: one tokens/s value per round, each finite and above 0 (named `what` in errors).
std::vector<double> rates_at(const json& j, const char* key, int rounds, const std::string& what) {
  const std::vector<double> v = j.at(key).get<std::vector<double>>();
  DLLM_CHECK(v.size() == size_t(rounds), what, ".", key, ": expected ", rounds, " values (one per round, ",
             "settings.rounds), got ", v.size());
  for (double x : v)
    DLLM_CHECK(std::isfinite(x) && x > 0, what, ".", key, ": every rate must be a finite number above 0, got ", x);
  return v;
}

PeerRates rates_of(const json& j, int rounds, const std::string& what) {
  return {rates_at(j, "peer_tokens_per_s", rounds, what), rates_at(j, "ours_tokens_per_s", rounds, what)};
}

json engine_json(const PeerEngine& e) {
  return {{"name", e.name}, {"version", e.version}, {"build", e.build}, {"commands", e.commands}};
}

PeerEngine engine_of(const json& j) {
  PeerEngine e;
  j.at("name").get_to(e.name);
  j.at("version").get_to(e.version);
  j.at("build").get_to(e.build);
  j.at("commands").get_to(e.commands);
  return e;
}

}  // namespace

double PeerRates::peer_median() const { return median_of(peer); }
double PeerRates::ours_median() const { return median_of(ours); }

void to_json(json& j, const Peer& p) {
  json results = json::array();
  for (const PeerDtypeResult& r : p.results) {
    json passes = json::array();
    for (const PeerPass& pass : r.passes)
      passes.push_back(
          {{"tokens", pass.tokens}, {"peer_tokens_per_s", pass.rates.peer}, {"ours_tokens_per_s", pass.rates.ours}});
    results.push_back({{"dtype", r.dtype},
                       {"weight_bytes", r.weight_bytes},
                       {"decode", {{"peer_tokens_per_s", r.decode.peer}, {"ours_tokens_per_s", r.decode.ours}}},
                       {"passes", passes}});
  }
  j = {{"schema", "dllm-bench/peer"},
       {"schema_version", kPeerSchemaVersion},
       {"date_utc", p.date_utc},
       {"host",
        {{"cpu", p.host.cpu},
         {"flags", p.host.flags},
         {"logical_cpus", p.host.logical_cpus},
         {"kernel", p.host.kernel},
         {"load_average", {{"start", p.host.load_start}, {"max", p.host.load_max}}}}},
       {"machine_limits", p.limits ? json{{"read_bandwidth_bytes_per_s", p.limits->read_bandwidth_bytes_per_s},
                                          {"peak_flops_per_s", p.limits->peak_flops_per_s}}
                                   : json()},
       {"model",
        {{"shape", p.model_shape},
         {"parameters", p.parameters},
         {"layer_parameters", p.layer_parameters},
         {"lm_head_parameters", p.lm_head_parameters},
         {"weights_seed", p.weights_seed}}},
       {"settings",
        {{"threads", p.threads},
         {"batch", p.batch},
         {"rounds", p.rounds},
         {"repetitions", p.repetitions},
         {"decode_tokens", p.decode_tokens}}},
       {"peer", engine_json(p.peer)},
       {"ours", engine_json(p.ours)},
       {"results", results}};
}

void from_json(const json& j, Peer& p) {
  p = Peer{};
  j.at("date_utc").get_to(p.date_utc);
  const json& h = j.at("host");
  h.at("cpu").get_to(p.host.cpu);
  h.at("flags").get_to(p.host.flags);
  p.host.logical_cpus = integer_at<int>(h, "logical_cpus");
  h.at("kernel").get_to(p.host.kernel);
  h.at("load_average").at("start").get_to(p.host.load_start);
  h.at("load_average").at("max").get_to(p.host.load_max);
  if (const json& l = j.at("machine_limits"); !l.is_null())
    p.limits = MachineLimits{l.at("read_bandwidth_bytes_per_s").get<double>(), l.at("peak_flops_per_s").get<double>()};
  const json& m = j.at("model");
  m.at("shape").get_to(p.model_shape);
  p.parameters = integer_at<int64_t>(m, "parameters");
  p.layer_parameters = integer_at<int64_t>(m, "layer_parameters");
  p.lm_head_parameters = integer_at<int64_t>(m, "lm_head_parameters");
  p.weights_seed = integer_at<uint64_t>(m, "weights_seed");
  const json& s = j.at("settings");
  p.threads = integer_at<int>(s, "threads");
  p.batch = integer_at<int>(s, "batch");
  p.rounds = integer_at<int>(s, "rounds");
  p.repetitions = integer_at<int>(s, "repetitions");
  p.decode_tokens = integer_at<int>(s, "decode_tokens");
  DLLM_CHECK(p.rounds >= 1, "settings.rounds: expected at least 1, got ", p.rounds);
  p.peer = engine_of(j.at("peer"));
  p.ours = engine_of(j.at("ours"));
  for (const json& r : j.at("results")) {
    PeerDtypeResult& out = p.results.emplace_back();
    r.at("dtype").get_to(out.dtype);
    for (size_t i = 0; i + 1 < p.results.size(); ++i)
      DLLM_CHECK(p.results[i].dtype != out.dtype, "results: dtype ", out.dtype, " is listed twice");
    const std::string what = "results[" + out.dtype + "]";
    out.weight_bytes = integer_at<int64_t>(r, "weight_bytes");
    out.decode = rates_of(r.at("decode"), p.rounds, what + ".decode");
    for (const json& pass : r.at("passes")) {
      const int tokens = integer_at<int>(pass, "tokens");
      DLLM_CHECK(tokens >= 1, what, ".passes: a pass needs at least 1 token, got ", tokens);
      for (const PeerPass& seen : out.passes)
        DLLM_CHECK(seen.tokens != tokens, what, ".passes: the pass of ", tokens, " tokens is listed twice");
      out.passes.push_back({tokens, rates_of(pass, p.rounds, what + ".passes[" + std::to_string(tokens) + "]")});
    }
  }
  DLLM_CHECK(!p.results.empty(), "results: no dtype measured");
}

}  // namespace dllm::report
