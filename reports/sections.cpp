#include "reports/sections.h"

#include "engine/core/check.h"
#include "reports/schema.h"

namespace dllm::report {

using nlohmann::json;

namespace {

// j[key] as an integer: a float is accepted only within int64's range (converting 6e90 would be
// undefined behaviour); anything else is the JSON library's type error.
template <typename T>
T integer_at(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number_float()) return v.get<T>();
  const double d = v.get<double>();
  DLLM_CHECK(fits_int64(d), "\"", key, "\": expected an integer, got ", v.dump());
  return T(int64_t(d));
}

}  // namespace

void to_json(json& j, const Settings& s) {
  j = {{"warmup", s.warmup},           {"repetitions", s.repetitions}, {"max_new_tokens", s.max_new_tokens},
       {"temperature", s.temperature}, {"seed", s.seed},               {"min_seconds", s.min_seconds},
       {"min_tokens", s.min_tokens},   {"min_repetitions", s.min_repetitions}};
}

void from_json(const json& j, Settings& s) {
  s.warmup = integer_at<int>(j, "warmup");
  s.repetitions = integer_at<int>(j, "repetitions");
  s.max_new_tokens = integer_at<int>(j, "max_new_tokens");
  j.at("temperature").get_to(s.temperature);
  s.seed = integer_at<uint64_t>(j, "seed");
  j.at("min_seconds").get_to(s.min_seconds);
  s.min_tokens = integer_at<int64_t>(j, "min_tokens");
  s.min_repetitions = integer_at<int>(j, "min_repetitions");
}

void to_json(json& j, const Suite& s) {
  j = {{"path", s.path}, {"prompts", s.prompts}, {"categories", s.categories}, {"limit", s.limit}};
}

void from_json(const json& j, Suite& s) {
  j.at("path").get_to(s.path);
  s.prompts = integer_at<int64_t>(j, "prompts");
  s.categories = j.value("categories", std::vector<std::string>{});
  s.limit = j.contains("limit") ? integer_at<int>(j, "limit") : 0;
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
  j = {{"tokens_per_step", p.tokens_per_step}, {"pass_tokens", p.pass_tokens}, {"t_pass_over_t1", p.t_pass_over_t1},
       {"speedup", p.speedup}, {"measured_over_predicted", p.measured_over_predicted}};
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

void to_json(json& j, const PointConfig& c) {
  j = {{"strategy", c.strategy}, {"sampler", c.sampler}, {"backend", c.backend}, {"batch", c.batch}, {"rollouts", c.rollouts}};
  if (c.is_tidar())
    j.update({{"mix_weight", c.mix_weight}, {"block_size", c.block_size}, {"levels", c.levels}, {"layout", c.layout},
              {"pass_tokens", c.pass_tokens}});
}

void from_json(const json& j, PointConfig& c) {
  j.at("strategy").get_to(c.strategy);
  j.at("sampler").get_to(c.sampler);
  j.at("backend").get_to(c.backend);
  c.batch = integer_at<int>(j, "batch");
  c.rollouts = integer_at<int>(j, "rollouts");
  if (!c.is_tidar()) return;
  c.mix_weight = j.value("mix_weight", 1.0f);
  c.block_size = j.contains("block_size") ? integer_at<int>(j, "block_size") : 0;
  c.levels = j.value("levels", std::string());
  c.layout = j.value("layout", std::string());
  c.pass_tokens = j.contains("pass_tokens") ? integer_at<int>(j, "pass_tokens") : 0;
}

}  // namespace dllm::report
