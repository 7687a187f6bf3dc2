#include "engine/bench/runner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/batch_decoder.h"
#include "engine/decode/equivalence.h"
#include "engine/model/tokenizer.h"
#include "reports/batch_sweep.h"
#include "reports/stats.h"

namespace dllm {

namespace {

using nlohmann::json;

std::string fmt_weight(float w) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", double(w));
  return buf;
}

// What one point measured in one timed repetition over the whole suite.
struct Repetition {
  std::vector<Generation> outputs;  // [prompt]
  int64_t tokens = 0, decode_tokens = 0;
  double seconds = 0, decode_seconds = 0;  // wall time of the suite; of its decode phases (batch 1)
  int rounds = 0;                          // times the suite ran (the counts and times are the sums)
  double decode_tps() const { return decode_seconds > 0 ? double(decode_tokens) / decode_seconds : 0.0; }
  double e2e_tps() const { return seconds > 0 ? double(tokens) / seconds : 0.0; }
  // Mean over sequences of tokens / the sequence's own time: what one user of the batch sees.
  double per_sequence_tps() const {
    double sum = 0;
    for (const Generation& g : outputs)
      sum += g.metrics.total_seconds > 0 ? g.metrics.generated_tokens / g.metrics.total_seconds : 0.0;
    return outputs.empty() ? 0.0 : sum / double(outputs.size());
  }
};

// Adds one more round of a point's suite to a repetition: its tokens and seconds; the first round's
// outputs stand for all (every round decodes the same tokens).
void add_round(Repetition& rep, Repetition&& round) {
  ++rep.rounds;
  if (rep.outputs.empty()) {
    round.rounds = rep.rounds;
    rep = std::move(round);
    return;
  }
  rep.tokens += round.tokens, rep.decode_tokens += round.decode_tokens;
  rep.seconds += round.seconds, rep.decode_seconds += round.decode_seconds;
}

// A timed repetition repeats the suite until it has lasted min_seconds (at most kMaxRounds times),
// so a fast point is timed over enough work to be valid, as a micro-benchmark repeats its iterations.
constexpr int kMaxRounds = 1000;
bool more_rounds(const Repetition& rep, bool warm, const BenchSettings& s) {
  return !warm && rep.seconds < s.min_seconds && rep.rounds < kMaxRounds;
}

GenerateRequest request_of(const BenchPoint& p, const SuitePrompt& prompt, int index, const BenchSettings& s) {
  GenerateRequest req;
  req.prompt = prompt.ids;
  req.max_new_tokens = s.max_new_tokens;
  if (p.sampler == SamplerKind::stochastic) req.sampler = SamplerConfig{s.temperature, 0, 1.0f, s.seed};
  req.sequence = index;  // the case index: every rollout of a prompt has its own random stream
  return req;
}

std::unique_ptr<SequenceDecoder> sequence_of(const BenchPoint& p, Transformer& model, const GenerateRequest& req) {
  return p.is_tidar() ? make_tidar_sequence(model, req, p.tidar) : make_ar_sequence(model, req);
}

// The decoded cases of a point: every prompt, `rollouts` times (ids "<prompt>#<r>" when > 1).
std::vector<SuitePrompt> cases_of(const BenchPoint& p, const std::vector<SuitePrompt>& prompts) {
  if (p.rollouts == 1) return prompts;
  std::vector<SuitePrompt> out;
  for (const SuitePrompt& q : prompts)
    for (int r = 0; r < p.rollouts; ++r) {
      out.push_back(q);
      out.back().id.append("#").append(std::to_string(r));
    }
  return out;
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  return size_t(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

// Token accounting, acceptance and latency over the first timed repetition's outputs (every
// repetition decodes the same tokens; `deterministic` records whether they did).
report::Accounting accounting_of(const std::vector<Repetition>& reps, const BenchPoint& p, int64_t weight_bytes) {
  const std::vector<Generation>& out = reps.front().outputs;
  int64_t tokens = 0, forwards = 0, step_tokens = 0, steps = 0;
  double ttft = 0;
  std::vector<double> step_seconds;
  std::vector<int64_t> hist, verified, accepted;
  for (const Generation& g : out) {
    const DecodeMetrics& m = g.metrics;
    tokens += m.generated_tokens, forwards += m.forwards, ttft += m.prefill_seconds;
    steps += int64_t(m.step_seconds.size());
    step_tokens += m.step_seconds.empty() ? 0 : m.generated_tokens - 1;
    hist.resize(m.accepted_histogram.size()), verified.resize(m.slot_verified.size());
    accepted.resize(m.slot_accepted.size());
    for (size_t i = 0; i < hist.size(); ++i) hist[i] += m.accepted_histogram[i];
    for (size_t i = 0; i < verified.size(); ++i) verified[i] += m.slot_verified[i], accepted[i] += m.slot_accepted[i];
  }
  double forward_s = 0, total_s = 0;  // over every timed repetition
  int64_t all_forwards = 0;
  // Weight bytes the forwards read: all of them per forward, or for MoE models the dense weights plus
  // the experts each forward touched.
  double bytes_read = 0, moe_experts = 0;
  int moe_layers = 0;
  for (const Repetition& r : reps)
    for (const Generation& g : r.outputs) {
      step_seconds.insert(step_seconds.end(), g.metrics.step_seconds.begin(), g.metrics.step_seconds.end());
      forward_s += g.metrics.forward_seconds, total_s += g.metrics.total_seconds, all_forwards += g.metrics.forwards;
      const DecodeMetrics::Moe& moe = g.metrics.moe;
      moe_layers = moe.layers, moe_experts += double(moe.experts);
      bytes_read += moe.layers > 0 ? moe.weight_bytes : double(g.metrics.forwards) * double(weight_bytes);
    }
  DecodeMetrics pooled;  // only for its percentile rule
  pooled.step_seconds = step_seconds;
  report::Accounting a;
  a.generated_tokens = tokens, a.forwards = forwards;
  a.tokens_per_forward = forwards ? double(tokens) / double(forwards) : 0.0;
  a.tokens_per_step = steps ? double(step_tokens) / double(steps) : 0.0;
  a.time_to_first_token_s = out.empty() ? 0.0 : ttft / double(out.size());
  a.step_latency_s = {pooled.step_percentile(50), pooled.step_percentile(90), pooled.step_percentile(99),
                      int64_t(step_seconds.size())};
  a.time_split = {total_s > 0 ? forward_s / total_s : 0.0, total_s > 0 ? 1 - forward_s / total_s : 0.0};
  a.weight_bytes_per_s = total_s > 0 ? bytes_read / total_s : 0.0;
  if (moe_layers > 0 && all_forwards > 0)
    a.moe = report::MoeTraffic{moe_experts / (double(all_forwards) * moe_layers), bytes_read / double(all_forwards)};
  if (p.is_tidar()) {
    std::vector<double> rate;
    for (size_t i = 0; i < verified.size(); ++i)
      rate.push_back(verified[i] ? double(accepted[i]) / double(verified[i]) : 0.0);
    a.accepted_histogram = hist;
    a.slot_acceptance = rate;
  }
  for (const Repetition& r : reps)
    for (size_t i = 0; i < out.size(); ++i)
      a.deterministic_across_repetitions = a.deterministic_across_repetitions && r.outputs[i].tokens == out[i].tokens;
  return a;
}

// Equality with the AR baseline's outputs (same sampler, seed and backend); a lossless point's
// divergences get the forensics of compare_outputs and its verdict, a mixing point's are "lossy".
report::VsAr vs_ar_of(const BenchPoint& p, const std::vector<Generation>& out, const std::vector<Generation>& ar,
                      const std::vector<SuitePrompt>& prompts, Transformer& model, const Tokenizer* tok) {
  report::VsAr v;
  v.prompts = int64_t(out.size());
  double match_fraction = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::vector<int32_t>& a = ar[i].tokens;
    const size_t prefix = common_prefix(a, out[i].tokens);
    match_fraction += a.empty() ? 1.0 : double(prefix) / double(a.size());
    if (a == out[i].tokens) {
      ++v.exact_match, ++v.verdicts.exact;
      continue;
    }
    report::Divergence d{prompts[i].id, int64_t(prefix), "lossy", std::nullopt, std::nullopt};
    if (tok) {
      const DivergenceText t = divergence_text(*tok, a, out[i].tokens, int(prefix));
      d.text = report::DivergenceText{t.before, t.ar, t.other};
    }
    if (p.lossless()) {  // a lossless sampler must not diverge: forensics and a verdict
      const Equivalence e = compare_outputs(model, prompts[i].ids, a, out[i].tokens);
      DLLM_ASSERT(e.verdict == "near_tie" || e.verdict == "bug");
      d.verdict = e.verdict, d.ar_top1_top2_margin = e.ar_margin;
      ++(e.verdict == "bug" ? v.verdicts.bug : v.verdicts.near_tie);
    } else {
      ++v.verdicts.lossy;
    }
    v.divergences.push_back(d);
  }
  v.exact_match_rate = out.empty() ? 0.0 : double(v.exact_match) / double(out.size());
  v.match_length_fraction_mean = out.empty() ? 0.0 : match_fraction / double(out.size());
  return v;
}

// Quality: task accuracy, equality with AR (when there is a baseline) and the mixing divergence.
report::Quality quality_of(const BenchPoint& p, const std::vector<Generation>& out, const std::vector<Generation>* ar,
                           const std::vector<SuitePrompt>& prompts, Transformer& model, const Tokenizer* tok) {
  report::Quality q;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!prompts[i].answer) continue;
    const bool ok = out[i].tokens == *prompts[i].answer;
    for (const std::string& c : {std::string("all"), prompts[i].category}) {
      report::CategoryAccuracy& a = q.task_accuracy[c.empty() ? "uncategorized" : c];
      a.correct += ok, a.scored += 1;
    }
  }
  for (auto& [c, a] : q.task_accuracy) a.accuracy = double(a.correct) / double(a.scored);
  if (ar != nullptr && p.is_tidar()) q.vs_ar = vs_ar_of(p, out, *ar, prompts, model, tok);
  if (!p.lossless()) {
    DecodeMetrics::Mixing mix;
    for (const Generation& g : out) {
      const DecodeMetrics::Mixing& m = g.metrics.mixing;
      mix.positions += m.positions, mix.same_top1 += m.same_top1, mix.kl_sum += m.kl_sum, mix.tv_sum += m.tv_sum;
      mix.kl_max = std::max(mix.kl_max, m.kl_max);
    }
    const double n = std::max<double>(1, double(mix.positions));
    q.mixing = report::Mixing{mix.positions, mix.kl_sum / n, mix.kl_max, mix.tv_sum / n, double(mix.same_top1) / n};
  }
  return q;
}

json per_prompt_json(const std::vector<Repetition>& reps, const std::vector<SuitePrompt>& prompts,
                     const std::vector<Generation>* ar) {
  json rows = json::array();
  std::map<std::string, std::array<double, 5>> cat;  // tokens, forwards, decode tokens, decode s, correct
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Generation& g = reps.front().outputs[i];
    std::vector<double> secs;
    for (const Repetition& r : reps) secs.push_back(r.outputs[i].metrics.total_seconds);
    json row = {{"prompt_id", prompts[i].id},
                {"category", prompts[i].category},
                {"generated_tokens", g.metrics.generated_tokens},
                {"forwards", g.metrics.forwards},
                {"tokens_per_forward", g.metrics.tokens_per_forward()},
                {"stop_reason", g.stop_reason},
                {"seconds", report::samples_of(secs)}};
    if (prompts[i].answer) row["answer_correct"] = g.tokens == *prompts[i].answer;
    if (ar != nullptr)
      row["match_length"] = common_prefix((*ar)[i].tokens, g.tokens), row["ar_tokens"] = (*ar)[i].tokens.size();
    rows.push_back(row);
    auto& c = cat[prompts[i].category.empty() ? "uncategorized" : prompts[i].category];
    for (const Repetition& r : reps) {
      const DecodeMetrics& m = r.outputs[i].metrics;
      c[2] += m.generated_tokens > 1 ? m.generated_tokens - 1 : 0;
      c[3] += m.total_seconds - m.prefill_seconds;
    }
    c[0] += g.metrics.generated_tokens, c[1] += g.metrics.forwards;
    c[4] += prompts[i].answer && g.tokens == *prompts[i].answer;
  }
  json by_cat = json::object();
  for (const auto& [name, c] : cat)
    by_cat[name] = report::CategoryStats{c[0], c[1], c[1] ? c[0] / c[1] : 0.0, c[3] > 0 ? c[2] / c[3] : 0.0, c[4]};
  return {{"per_prompt", rows}, {"per_category", by_cat}};
}

const BenchPoint* baseline_of(const BenchPoint& p, const std::vector<BenchPoint>& points) {
  for (const BenchPoint& b : points)
    if (b.strategy == Strategy::ar && b.sampler == p.sampler && b.backend == p.backend && b.batch == p.batch &&
        b.rollouts == p.rollouts)
      return &b;
  return nullptr;
}

// One repetition of a batched point: the whole suite through decode_batch, timed by the wall clock.
Repetition run_batched(const BenchPoint& p, Transformer& model, const std::vector<SuitePrompt>& cases,
                       const BenchSettings& s) {
  std::vector<std::unique_ptr<SequenceDecoder>> seqs;
  for (size_t i = 0; i < cases.size(); ++i) seqs.push_back(sequence_of(p, model, request_of(p, cases[i], int(i), s)));
  BatchTrace trace;
  Repetition rep;
  rep.outputs = decode_batch(model, std::move(seqs), BatchOptions{p.batch, true}, &trace);
  rep.seconds = rep.decode_seconds = trace.total_seconds;  // prefills overlap other sequences' steps
  for (const Generation& g : rep.outputs) rep.tokens += g.metrics.generated_tokens;
  rep.decode_tokens = rep.tokens;
  return rep;
}

// What a point measured: its decoded cases and its timed repetitions.
struct PointRuns {
  std::vector<SuitePrompt> cases;
  std::vector<Repetition> reps;
};

struct Measurements {
  std::vector<BenchPoint> points;  // the reported points, then the baselines
  std::vector<PointRuns> runs;     // [points]
  bool interrupted = false;
};

// The points (and baselines) over the suite: warm-up, then the timed repetitions, interleaved so that
// repetition r of every point runs before repetition r + 1 of any.
Measurements measure_points(const BenchInputs& in) {
  const BenchSettings& s = in.settings;
  Measurements m;
  m.points = in.points;
  m.points.insert(m.points.end(), in.baselines.begin(), in.baselines.end());
  const size_t np = m.points.size();
  m.runs.resize(np);
  size_t units = 0;  // progress units per repetition: a case at batch 1, a whole suite when batched
  for (size_t pi = 0; pi < np; ++pi) {
    const BenchPoint& p = m.points[pi];
    DLLM_CHECK(in.models.count(p.backend), "no model on backend '", p.backend, "'");
    m.runs[pi].cases = cases_of(p, in.prompts);
    units += p.batch == 1 && p.rollouts == 1 ? m.runs[pi].cases.size() : 1;
  }
  bool& interrupted = m.interrupted;
  BenchProgress prog{0, int(size_t(s.warmup + s.repetitions) * units), "", ""};
  for (int r = 0; r < s.warmup + s.repetitions && !interrupted; ++r) {
    const bool warm = r < s.warmup;
    for (size_t pi = 0; pi < np && !interrupted; ++pi) {
      const BenchPoint& p = m.points[pi];
      const std::vector<SuitePrompt>& cases = m.runs[pi].cases;
      Transformer& model = *in.models.at(p.backend);
      const bool batched = p.batch > 1 || p.rollouts > 1;
      auto report_progress = [&]() {
        if (!in.progress) return;
        prog.point = p.id();
        prog.phase = warm ? "warm-up" : "rep " + std::to_string(r - s.warmup + 1) + "/" + std::to_string(s.repetitions);
        in.progress(prog);
      };
      if (batched) {
        if (in.stop && in.stop->load()) {
          interrupted = true;
          break;
        }
        report_progress();
        Repetition rep;
        do add_round(rep, run_batched(p, model, cases, s));
        while (more_rounds(rep, warm, s));
        ++prog.done;
        if (!warm) m.runs[pi].reps.push_back(std::move(rep));
        continue;
      }
      Repetition rep;
      for (int round = 0; !interrupted && (round == 0 || more_rounds(rep, warm, s)); ++round) {
        Repetition this_round;
        for (size_t qi = 0; qi < cases.size(); ++qi) {
          if (in.stop && in.stop->load()) {
            interrupted = true;
            break;
          }
          if (round == 0) report_progress();
          std::vector<std::unique_ptr<SequenceDecoder>> one;
          one.push_back(sequence_of(p, model, request_of(p, cases[qi], int(qi), s)));
          Generation g = std::move(decode_batch(model, std::move(one), BatchOptions{1, false}, nullptr).front());
          if (round == 0) ++prog.done;
          const DecodeMetrics& dm = g.metrics;
          this_round.tokens += dm.generated_tokens, this_round.seconds += dm.total_seconds;
          this_round.decode_tokens += dm.generated_tokens > 1 ? dm.generated_tokens - 1 : 0;
          this_round.decode_seconds += dm.total_seconds - dm.prefill_seconds;
          this_round.outputs.push_back(std::move(g));
        }
        add_round(rep, std::move(this_round));
      }
      if (!interrupted && !warm) m.runs[pi].reps.push_back(std::move(rep));  // only whole repetitions count
    }
  }
  return m;
}

// Speedup of a TiDAR point over its AR baseline, per repetition (same repetition index, same machine
// state), with the step-cost prediction a * t(1) / (forwards per step * t(T)) when t(T) was measured at
// the point's batch size.
report::Speedup speedup_of(const BenchInputs& in, const BenchPoint& p, const PointRuns& runs, const BenchPoint& base,
                           const PointRuns& base_runs, double tokens_per_step) {
  std::vector<double> sd, se;
  const size_t n = std::min(runs.reps.size(), base_runs.reps.size());
  for (size_t r = 0; r < n; ++r) {
    const Repetition &x = runs.reps[r], &b = base_runs.reps[r];
    sd.push_back(b.decode_tps() > 0 ? x.decode_tps() / b.decode_tps() : 0.0);
    se.push_back(b.e2e_tps() > 0 ? x.e2e_tps() / b.e2e_tps() : 0.0);
  }
  report::Speedup sp{base.id(), report::samples_of(sd), report::samples_of(se), std::nullopt};
  const std::vector<StepCost>* curve = nullptr;  // t(T) at this point's batch size
  if (p.batch == 1) {
    if (auto c = in.step_cost.find(p.backend); c != in.step_cost.end() && !c->second.empty()) curve = &c->second;
  } else if (auto c = in.batched_step_cost.find(p.backend); c != in.batched_step_cost.end()) {
    if (auto b = c->second.find(p.batch); b != c->second.end() && !b->second.empty()) curve = &b->second;
  }
  if (curve != nullptr) {
    const int t = p.tidar.pass_tokens();
    const double ratio = p.tidar.forwards_per_step() * step_seconds_at(*curve, t) / step_seconds_at(*curve, 1);
    const double predicted = tokens_per_step / ratio;
    sp.predicted = report::Prediction{tokens_per_step, t, ratio, predicted,
                                      predicted > 0 ? sp.decode.summary.mean / predicted : 0.0};
  }
  return sp;
}

// One reported point's record: rates with intervals, validity, accounting, quality and speedup.
json point_json(const BenchInputs& in, const Measurements& m, size_t pi) {
  const BenchSettings& s = in.settings;
  const BenchPoint& p = m.points[pi];
  const std::vector<Repetition>& reps = m.runs[pi].reps;
  json rounds = json::array();  // per timed repetition
  for (const Repetition& r : reps) rounds.push_back(r.rounds);
  json j = {{"id", p.id()}, {"config", p.to_json()}, {"repetitions", reps.size()}, {"rounds", rounds}};
  if (reps.empty()) {
    j["valid"] = false;
    j["invalid_reasons"] = {"no complete timed repetition (interrupted)"};
    return j;
  }
  std::vector<double> decode, e2e, per_sequence;
  json reasons = json::array();
  for (const Repetition& r : reps) {
    decode.push_back(r.decode_tps()), e2e.push_back(r.e2e_tps()), per_sequence.push_back(r.per_sequence_tps());
    if (r.seconds < s.min_seconds)
      reasons.push_back("a repetition ran " + std::to_string(r.seconds) + " s < min " + std::to_string(s.min_seconds) +
                        " s");
    if (r.tokens < s.min_tokens)
      reasons.push_back("a repetition generated " + std::to_string(r.tokens) + " tokens < min " +
                        std::to_string(s.min_tokens));
  }
  if (int(reps.size()) < s.min_repetitions)
    reasons.push_back(std::to_string(reps.size()) + " timed repetitions < min " + std::to_string(s.min_repetitions));
  j["valid"] = reasons.empty();
  j["invalid_reasons"] = reasons;
  j["decode_tokens_per_s"] = report::samples_of(decode);
  j["e2e_tokens_per_s"] = report::samples_of(e2e);
  j["per_sequence_tokens_per_s"] = report::samples_of(per_sequence);
  const report::Accounting accounting = accounting_of(reps, p, in.weight_bytes);
  j["accounting"] = accounting;

  const BenchPoint* base = baseline_of(p, m.points);
  const PointRuns* base_runs = base ? &m.runs[size_t(base - m.points.data())] : nullptr;
  if (base_runs && base_runs->reps.empty()) base_runs = nullptr;
  const std::vector<Generation>* ar = base_runs ? &base_runs->reps.front().outputs : nullptr;
  j["quality"] = quality_of(p, reps.front().outputs, ar, m.runs[pi].cases, *in.models.at(p.backend), in.tokenizer);
  j.update(per_prompt_json(reps, m.runs[pi].cases, ar));
  if (p.is_tidar() && base_runs)
    j["speedup_vs_ar"] = speedup_of(in, p, m.runs[pi], *base, *base_runs, accounting.tokens_per_step);
  return j;
}

// Side-by-side examples: the first prompts' outputs of every reported point with each step's commits.
json examples_json(const BenchInputs& in, const Measurements& m) {
  json examples = json::array();
  for (size_t qi = 0; qi < std::min<size_t>(in.prompts.size(), 3); ++qi) {
    report::Example e{in.prompts[qi].id, in.prompts[qi].ids, std::nullopt, {}};
    if (in.tokenizer) e.prompt_text = in.tokenizer->decode(in.prompts[qi].ids);
    for (size_t pi = 0; pi < in.points.size(); ++pi) {
      if (m.runs[pi].reps.empty() || m.points[pi].rollouts != 1) continue;
      const Generation& g = m.runs[pi].reps.front().outputs[qi];
      report::ExampleOutput o{m.points[pi].id(), g.tokens, g.metrics.committed_per_step, std::nullopt};
      if (in.tokenizer) {  // the text of each step's commit, for the side-by-side view
        std::vector<std::string>& segments = o.segments.emplace();
        size_t at = 0;
        for (int n : g.metrics.committed_per_step) {
          segments.push_back(
              in.tokenizer->decode({g.tokens.begin() + long(at), g.tokens.begin() + long(at + size_t(n))}));
          at += size_t(n);
        }
      }
      e.outputs.push_back(std::move(o));
    }
    examples.push_back(e);
  }
  return examples;
}

json summarise_points(const BenchInputs& in, const Measurements& m) {
  json points = json::array();
  for (size_t pi = 0; pi < in.points.size(); ++pi) points.push_back(point_json(in, m, pi));
  return {{"points", points},
          {"examples", examples_json(in, m)},
          {"interrupted", m.interrupted},
          {"batch_sweep", batch_sweep(points)}};
}

}  // namespace

Strategy parse_strategy(const std::string& name) {
  DLLM_CHECK(name == "ar" || name == "tidar", "strategy must be ar or tidar, got '", name, "'");
  return name == "ar" ? Strategy::ar : Strategy::tidar;
}

SamplerKind parse_sampler(const std::string& name) {
  DLLM_CHECK(name == "greedy" || name == "stochastic", "sampler must be greedy or stochastic, got '", name, "'");
  return name == "greedy" ? SamplerKind::greedy : SamplerKind::stochastic;
}

const char* strategy_name(Strategy s) { return s == Strategy::ar ? "ar" : "tidar"; }
const char* sampler_name(SamplerKind s) { return s == SamplerKind::greedy ? "greedy" : "stochastic"; }

std::string BenchPoint::levels_name() const {
  return tidar.layout == Layout::two_forward ? "none" : levels_spec(tidar.level_set(), tidar.block_size);
}

std::string BenchPoint::id() const {
  std::string id = std::string(strategy_name(strategy)) + "/" + sampler_name(sampler);
  if (is_tidar())
    id += "/w" + fmt_weight(tidar.mix_weight) + "/K" + std::to_string(tidar.block_size) + "/" + levels_name() + "/" +
          layout_name(tidar.layout);
  id += "/" + backend;
  if (batch != 1) id += "/b" + std::to_string(batch);
  if (rollouts != 1) id += "/n" + std::to_string(rollouts);
  return id;
}

json BenchPoint::to_json() const {
  report::PointConfig c;
  c.strategy = strategy_name(strategy), c.sampler = sampler_name(sampler), c.backend = backend;
  c.batch = batch, c.rollouts = rollouts;
  if (is_tidar()) {
    c.mix_weight = tidar.mix_weight, c.block_size = tidar.block_size, c.levels = levels_name();
    c.layout = layout_name(tidar.layout), c.pass_tokens = tidar.pass_tokens();
  }
  return c;
}

BenchPoint BenchPoint::from_json(const json& config) {
  const auto c = config.get<report::PointConfig>();
  BenchPoint p{parse_strategy(c.strategy), parse_sampler(c.sampler), c.backend, c.batch, c.rollouts, {}};
  if (p.is_tidar()) {
    p.tidar.mix_weight = c.mix_weight, p.tidar.block_size = c.block_size, p.tidar.layout = parse_layout(c.layout);
    if (p.tidar.layout == Layout::single_forward) p.tidar.levels = parse_levels(c.levels, c.block_size);
  }
  return p;
}

std::vector<BenchPoint> expand_grid(const BenchGrid& g) {
  std::vector<BenchPoint> out;
  for (int b : g.batch_sizes) DLLM_CHECK(b >= 1 && b <= 4096, "batch size must lie in [1, 4096], got ", b);
  for (int n : g.rollouts) DLLM_CHECK(n >= 1 && n <= 4096, "rollouts must lie in [1, 4096], got ", n);
  for (int k : g.block_sizes) DLLM_CHECK(k >= 1 && k <= 4096, "block size must lie in [1, 4096], got ", k);
  for (float w : g.mix_weights) DLLM_CHECK(w >= 0.0f && w <= 1.0f, "mix weight must lie in [0, 1], got ", w);
  for (const std::string& backend : g.backends)
    for (SamplerKind sampler : g.samplers)
      for (Strategy strategy : g.strategies)
        for (int batch : g.batch_sizes)
          for (int rollouts : g.rollouts) {
            if (rollouts > 1 && sampler == SamplerKind::greedy) continue;  // greedy rollouts would all be equal
            const BenchPoint base{strategy, sampler, backend, batch, rollouts, {}};
            if (strategy == Strategy::ar) {
              out.push_back(base);
              continue;
            }
            for (float w : g.mix_weights)
              for (int k : g.block_sizes)
                for (Layout layout : g.layouts)
                  for (const std::string& levels : g.levels) {
                    BenchPoint p = base;
                    p.tidar.block_size = k, p.tidar.layout = layout, p.tidar.mix_weight = w;
                    if (layout == Layout::two_forward) {  // no proposal blocks: one point, whatever the levels
                      if (levels == g.levels.front()) out.push_back(p);
                      continue;
                    }
                    p.tidar.levels = parse_levels(levels, k);  // throws on a bad spec, before anything runs
                    out.push_back(p);
                  }
          }
  DLLM_CHECK(!out.empty(), "the benchmark grid is empty");
  return out;
}

Shard parse_shard(const std::string& spec) {
  Shard s;
  char slash = 0, rest = 0;
  const int read = std::sscanf(spec.c_str(), "%d%c%d%c", &s.index, &slash, &s.count, &rest);
  DLLM_CHECK(read == 3 && slash == '/' && s.count >= 1 && s.index >= 0 && s.index < s.count, "--shard ", spec,
             ": expected I/N with 0 <= I < N, e.g. 0/4 for the first of four slices");
  return s;
}

std::vector<BenchPoint> shard_points(const std::vector<BenchPoint>& plan, Shard shard) {
  std::vector<BenchPoint> out;
  for (size_t i = size_t(shard.index); i < plan.size(); i += size_t(shard.count)) out.push_back(plan[i]);
  return out;
}

std::vector<BenchPoint> missing_baselines(const std::vector<BenchPoint>& points, const std::vector<BenchPoint>& plan) {
  std::vector<BenchPoint> out;
  for (const BenchPoint& b : plan) {
    if (b.is_tidar() || baseline_of(b, points) != nullptr) continue;
    bool needed = false;
    for (const BenchPoint& p : points) needed = needed || (p.is_tidar() && baseline_of(p, {b}) != nullptr);
    if (needed) out.push_back(b);
  }
  return out;
}

json run_bench(const BenchInputs& in) { return summarise_points(in, measure_points(in)); }

}  // namespace dllm
