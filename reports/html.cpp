#include "reports/html.h"
#include "reports/schema.h"
#include "reports/sections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "core/check.h"
#include "reports/svg.h"

namespace dllm {

namespace {

using nlohmann::json;
using svg::escape;

const char* kStyle =
    R"(body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1320px;color:#1d232a;padding:0 16px}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ccd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d5d9e0;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#eef1f5}td.l,th.l{text-align:left}.bad{color:#b00020;font-weight:600}.good{color:#0a7a2f;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #e3e6eb;background:#fff}
.chart .ct{font-weight:600;text-anchor:middle;font-size:13px}.chart .yt{text-anchor:end;font-size:10px;fill:#444}
.chart .xt{font-size:10px;fill:#333}.chart .xt2{font-size:10px;text-anchor:middle;fill:#333}.chart .al{font-size:11px;text-anchor:middle;fill:#333}
.chart .lg{font-size:11px;fill:#333}.chart .grid{stroke:#eceff3}.chart .err{stroke:#222;stroke-width:1.5}.chart .line{stroke-width:2}
.seg{padding:0 1px;border-radius:2px}.s0{background:#dbe9ff}.s1{background:#ffe2c2}.mono{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.note{color:#555;font-size:13px})";

const char* kPalette[] = {"#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"};

std::string f(double v, int digits = 2) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

double num_at(const json& j, const std::string& pointer, double fallback = 0) {
  const json::json_pointer p(pointer);
  return j.contains(p) && j.at(p).is_number() ? j.at(p).get<double>() : fallback;
}

// at(): a point may lack what the schema leaves optional (a valid point always has its accounting);
// a missing field is then an error, not a read through a null reference.
report::PointConfig config_of(const json& p) { return p.at("config").get<report::PointConfig>(); }
report::Accounting accounting_of(const json& p) { return p.at("accounting").get<report::Accounting>(); }
report::Quality quality_of(const json& p) {
  return p.contains("quality") ? p["quality"].get<report::Quality>() : report::Quality{};
}
stats::Summary summary_at(const json& p, const char* key) { return p[key].get<report::Samples>().summary; }
// The task accuracy over every category, when the suite has answers.
std::optional<double> accuracy_of(const report::Quality& q) {
  const auto all = q.task_accuracy.find("all");
  if (all == q.task_accuracy.end()) return std::nullopt;
  return all->second.accuracy;
}
bool is_tidar(const json& p) { return config_of(p).is_tidar(); }

std::optional<report::Speedup> speedup_of(const json& p) {
  if (!p.contains("speedup_vs_ar")) return std::nullopt;
  return p["speedup_vs_ar"].get<report::Speedup>();
}

double decode_speedup(const json& p) { return speedup_of(p)->decode.summary.mean; }

std::string speedup_cell(const json& p) {
  const auto s = speedup_of(p);
  if (!s) return "<td>-</td><td>-</td>";
  const std::string pred = s->predicted ? f(s->predicted->speedup) + "x" : "-";
  return "<td>" + f(s->decode.summary.mean) + "x ± " + f(s->decode.summary.ci95) + "</td><td>" + pred + "</td>";
}

std::string summary_table(const json& r) {
  std::ostringstream o;
  o << "<table><tr><th class=l>configuration</th><th>valid</th><th>tokens/forward</th><th>decode tokens/s (95% CI)</th>"
       "<th>speedup vs AR</th><th>predicted</th><th>exact vs AR</th><th>task accuracy</th><th>TV to AR</th><th>same "
       "top-1</th></tr>";
  for (const json& p : r["points"]) {
    o << "<tr><td class=l>" << escape(p["id"]) << "</td>";
    if (!p.contains("decode_tokens_per_s")) {
      o << "<td class=bad>no</td><td colspan=8 class=l>" << escape(p["invalid_reasons"].dump()) << "</td></tr>";
      continue;
    }
    const bool valid = p["valid"];
    const stats::Summary decode = summary_at(p, "decode_tokens_per_s");
    o << "<td class=" << (valid ? "good>yes" : "bad>NO") << "</td><td>" << f(accounting_of(p).tokens_per_forward)
      << "</td><td>" << f(decode.mean, 1) << " ± " << f(decode.ci95, 1) << "</td>" << speedup_cell(p);
    const report::Quality q = quality_of(p);
    if (q.vs_ar)
      o << "<td" << (q.vs_ar->verdicts.bug ? " class=bad" : "") << ">" << q.vs_ar->exact_match << "/"
        << q.vs_ar->prompts << "</td>";
    else
      o << "<td>-</td>";
    const std::optional<double> accuracy = accuracy_of(q);
    o << "<td>" << (accuracy ? f(*accuracy, 3) : "-") << "</td>";
    if (q.mixing)
      o << "<td>" << f(q.mixing->tv_mean, 4) << "</td><td>" << f(q.mixing->same_top1_rate, 3) << "</td>";
    else
      o << "<td>" << (is_tidar(p) ? "0 (lossless)" : "-") << "</td><td>" << (is_tidar(p) ? "1" : "-") << "</td>";
    o << "</tr>";
    if (!valid)
      o << "<tr><td></td><td colspan=9 class='l bad'>invalid: " << escape(p["invalid_reasons"].dump()) << "</td></tr>";
  }
  o << "</table>";
  return o.str();
}

std::string throughput_chart(const json& r) {
  std::vector<svg::Bar> bars;
  for (const json& p : r["points"]) {
    if (!p.contains("decode_tokens_per_s")) continue;
    const stats::Summary decode = summary_at(p, "decode_tokens_per_s");
    bars.push_back({p["id"], decode.mean, decode.ci95,
                    is_tidar(p) ? (config_of(p).mix_weight == 1.0f ? "#3366cc" : "#ff9900") : "#888888"});
  }
  return svg::bar_chart("throughput", "Decode tokens/s: AR (grey), TiDAR lossless (blue), mixing (orange)", "tokens/s",
                        bars);
}

// Speedup and quality against the mixing weight w, one series per sampler (and levels/K/layout).
std::string mixing_charts(const json& r) {
  std::map<std::string, std::vector<const json*>> groups;  // id without the w part -> points
  for (const json& p : r["points"]) {
    if (!is_tidar(p) || !p.contains("speedup_vs_ar")) continue;
    std::string key = p["id"];
    const size_t a = key.find("/w"), b = key.find('/', a + 1);
    groups[key.erase(a, b - a)].push_back(&p);
  }
  if (groups.empty()) return "<p class=note>No TiDAR point with an AR baseline: no speedup or mixing chart.</p>";
  std::vector<svg::Series> speed, quality;
  size_t ci = 0;
  for (auto& [name, pts] : groups) {
    std::sort(pts.begin(), pts.end(),
              [](const json* x, const json* y) { return config_of(*x).mix_weight < config_of(*y).mix_weight; });
    svg::Series s{name, kPalette[ci % 8], {}, {}}, same{"same top-1 " + name, kPalette[ci % 8], {}, {}},
        match{"match length " + name, kPalette[ci % 8], {}, {}, true};
    for (const json* p : pts) {
      const double w = config_of(*p).mix_weight;
      s.x.push_back(w), s.y.push_back(decode_speedup(*p));
      const report::Quality q = quality_of(*p);
      same.x.push_back(w), same.y.push_back(q.mixing ? q.mixing->same_top1_rate : 1.0);
      match.x.push_back(w), match.y.push_back(q.vs_ar ? q.vs_ar->match_length_fraction_mean : 1.0);
    }
    speed.push_back(s), quality.push_back(same), quality.push_back(match);
    ++ci;
  }
  return svg::line_chart("speedup_vs_w", "TiDAR speedup over AR vs mixing weight w", "w (1 = lossless)", "speedup (x)",
                         speed) +
         svg::line_chart("quality_vs_w", "Quality vs w: same top-1 as AR (solid), AR-match length fraction (dashed)",
                         "w (1 = lossless)", "rate", quality);
}

// The speed/quality trade-off in one chart: each configuration group's points at w = 1 .. 0.25,
// x = measured speedup over AR, y = fraction of the AR output reproduced (and task accuracy).
std::string tradeoff_chart(const json& r) {
  std::map<std::string, std::vector<const json*>> groups;
  for (const json& p : r["points"]) {
    if (!is_tidar(p) || !p.contains("speedup_vs_ar") || !quality_of(p).vs_ar) continue;
    std::string key = p["id"];
    const size_t a = key.find("/w"), b = key.find('/', a + 1);
    groups[key.erase(a, b - a)].push_back(&p);
  }
  if (groups.empty()) return "";
  std::vector<svg::Series> series;
  size_t ci = 0;
  for (auto& [name, pts] : groups) {
    std::sort(pts.begin(), pts.end(),
              [](const json* x, const json* y) { return decode_speedup(*x) < decode_speedup(*y); });
    svg::Series match{"AR match " + name, kPalette[ci % 8], {}, {}},
        acc{"task accuracy " + name, kPalette[ci % 8], {}, {}, true};
    for (const json* p : pts) {
      const double x = decode_speedup(*p);
      const report::Quality q = quality_of(*p);
      match.x.push_back(x), match.y.push_back(q.vs_ar->match_length_fraction_mean);
      if (const std::optional<double> accuracy = accuracy_of(q)) acc.x.push_back(x), acc.y.push_back(*accuracy);
    }
    series.push_back(match);
    if (!acc.x.empty()) series.push_back(acc);
    ++ci;
  }
  return svg::line_chart("speed_vs_quality", "Speed vs quality: each point one w (rightmost = lowest w)",
                         "decode speedup over AR (x)", "fraction", series);
}

// Speedup over AR and throughput against batch size, with the crossover where TiDAR stops paying.
std::string batch_section(const json& r) {
  if (!r.contains("batch_sweep") || r["batch_sweep"].empty())
    return "<p class=note>No batch sweep in this report (run <code>dllm-bench bench --batch-sizes "
           "1,2,4,8,16,32,64</code>).</p>";
  std::vector<svg::Series> speed, tps;
  std::ostringstream table;
  table << "<table><tr><th class=l>configuration</th><th>batch</th><th>speedup vs AR (95% CI)</th>"
           "<th>TiDAR tokens/s (total)</th><th>tokens/s per sequence</th><th>valid</th></tr>";
  size_t ci = 0;
  for (const auto& g : r["batch_sweep"].get<std::vector<report::BatchSweep>>()) {
    const std::string& name = g.configuration;
    svg::Series s{name, kPalette[ci % 8], {}, {}}, t{name, kPalette[ci % 8], {}, {}};
    for (const report::BatchSweepRow& p : g.points) {
      s.x.push_back(p.batch), s.y.push_back(p.speedup);
      t.x.push_back(p.batch), t.y.push_back(p.tokens_per_s);
      table << "<tr><td class=l>" << escape(name) << "</td><td>" << p.batch << "</td><td>" << f(p.speedup) << "x ± "
            << f(p.speedup_ci95) << "</td><td>" << f(p.tokens_per_s, 1) << "</td><td>"
            << f(p.per_sequence_tokens_per_s, 1) << "</td><td class=" << (p.valid ? "good>yes" : "bad>NO")
            << "</td></tr>";
    }
    table << "<tr><td class=l colspan=6><b>crossover</b> (TiDAR no faster than AR from this batch size): "
          << (g.crossover_batch ? std::to_string(*g.crossover_batch) : std::string("not reached in this sweep"))
          << "</td></tr>";
    speed.push_back(s), tps.push_back(t);
    ++ci;
  }
  // AR throughput beside TiDAR's, from the AR points of the sweep.
  std::map<std::string, svg::Series> ar;
  for (const json& p : r["points"]) {
    if (is_tidar(p) || !p.contains("e2e_tokens_per_s")) continue;
    const report::PointConfig c = config_of(p);
    const std::string key = "AR " + c.sampler + " n" + std::to_string(c.rollouts);
    ar.try_emplace(key, svg::Series{key, "#888888", {}, {}, true});
    ar[key].x.push_back(c.batch), ar[key].y.push_back(summary_at(p, "e2e_tokens_per_s").mean);
  }
  for (auto& [k, s] : ar) tps.push_back(s);
  table << "</table>";
  svg::Series parity{"no speedup (1x)", "#aaaaaa", {}, {}, true, false};
  for (const svg::Series& s : speed) parity.x.insert(parity.x.end(), s.x.begin(), s.x.end());
  parity.y.assign(parity.x.size(), 1.0);
  std::sort(parity.x.begin(), parity.x.end());
  speed.push_back(parity);
  return "<div class=charts>" +
         svg::line_chart("speedup_vs_batch", "TiDAR speedup over AR vs batch size", "batch size (log2)", "speedup (x)",
                         speed, true) +
         svg::line_chart("tokens_vs_batch", "Total tokens/s vs batch size (AR dashed)", "batch size (log2)", "tokens/s",
                         tps, true) +
         "</div>" + table.str();
}

// A machine_limits record (dllm-bench probe): read bandwidth and peak FLOP/s, 0 where absent.
struct Limits {
  double bw = 0, peak = 0;
  bool known() const { return bw > 0 && peak > 0; }
  // The roofline's least time for a pass of T tokens over `bytes` of weights at `flops` per token.
  double pass_seconds(double bytes, double flops, int tokens) const {
    return std::max(bytes / bw, tokens * flops / peak);
  }
};
Limits limits_in(const json& limits) {
  if (!limits.is_object()) return {};
  return {num_at(limits, "/read_bandwidth_bytes_per_s"), num_at(limits, "/peak_flops_per_s")};
}
Limits limits_of(const json& r) { return limits_in(r["provenance"]["machine_limits"]); }

// Whether a point ran on the host, whose limits `dllm-bench probe` measured (the only backend the
// probe's bandwidth and peak bound).
bool on_host(const json& point) { return config_of(point).backend == "cpu"; }

std::string time_split_table(const json& r) {
  const double bw = limits_of(r).bw;
  std::ostringstream o;
  o << "<table><tr><th class=l>configuration</th><th>forward</th><th>sampling, verification, host</th>"
       "<th>time to first token (ms)</th><th>step p50 / p90 / p99 (ms)</th><th>weights streamed (GB/s)</th>"
       "<th>of measured bandwidth</th></tr>";
  for (const json& p : r["points"]) {
    if (!p.contains("accounting")) continue;
    const report::Accounting a = accounting_of(p);
    const double gbs = a.weight_bytes_per_s / 1e9;
    o << "<tr><td class=l>" << escape(p["id"]) << "</td><td>" << f(100 * a.time_split.forward_fraction, 1)
      << " %</td><td>" << f(100 * a.time_split.sampling_and_host_fraction, 1) << " %</td><td>"
      << f(1e3 * a.time_to_first_token_s, 3) << "</td><td>" << f(1e3 * a.step_latency_s.p50, 3) << " / "
      << f(1e3 * a.step_latency_s.p90, 3) << " / " << f(1e3 * a.step_latency_s.p99, 3) << "</td><td>" << f(gbs, 3)
      << "</td><td>" << (bw > 0 && on_host(p) ? f(gbs * 1e9 / bw, 3) : "-") << "</td></tr>";
  }
  o << "</table>";
  return o.str();
}

std::string acceptance_charts(const json& r) {
  std::vector<svg::Bar> bars;
  const json* first = nullptr;
  std::vector<svg::Series> slots;
  size_t ci = 0;
  for (const json& p : r["points"]) {
    if (!is_tidar(p) || !p.contains("accounting")) continue;
    const report::Accounting a = accounting_of(p);
    if (!a.slot_acceptance) continue;
    if (first == nullptr && config_of(p).mix_weight == 1.0f && a.accepted_histogram) first = &p;
    svg::Series s{p["id"], kPalette[ci++ % 8], {}, {}};
    const std::vector<double>& rate = *a.slot_acceptance;
    for (size_t i = 0; i < rate.size(); ++i) s.x.push_back(double(i + 1)), s.y.push_back(rate[i]);
    if (slots.size() < 6) slots.push_back(s);
  }
  if (first == nullptr) return "";
  const std::vector<int64_t> h = *accounting_of(*first).accepted_histogram;
  for (size_t n = 0; n < h.size(); ++n) bars.push_back({std::to_string(n), double(h[n]), 0, "#3366cc"});
  return svg::bar_chart("accepted_histogram", "Accepted drafts per step, " + (*first)["id"].get<std::string>(), "steps",
                        bars) +
         svg::line_chart("slot_acceptance", "Per-slot acceptance (draft i accepted | verified)", "draft slot", "rate",
                         slots);
}

std::string step_cost_chart(const json& r) {
  if (!r.contains("step_cost") || r["step_cost"].empty()) return "<p class=note>No step-cost curve in this report.</p>";
  std::ostringstream o;
  const Limits limits = limits_of(r);
  for (const auto& [backend, sc] : r["step_cost"].items()) {
    svg::Series measured{"measured " + backend, "#3366cc", {}, {}}, linear{"t(1) x T", "#aaaaaa", {}, {}, true, false},
        roof{"roofline (probe)", "#dc3912", {}, {}, true, false};
    const auto curve = sc["curve"].get<std::vector<report::CurvePoint>>();
    DLLM_CHECK(!curve.empty(), "step_cost.", backend, ".curve is empty");
    const double t1 = curve.front().seconds;
    for (const report::CurvePoint& c : curve) {
      const double t = c.tokens;
      measured.x.push_back(t), measured.y.push_back(c.seconds * 1e3);
      linear.x.push_back(t), linear.y.push_back(std::min(t1 * t, curve.back().seconds * 1.5) * 1e3);
      if (limits.known() && backend == "cpu")  // the probe measures the host
        roof.x.push_back(t), roof.y.push_back(limits.pass_seconds(num_at(r, "/model/weight_bytes"),
                                                                  num_at(r, "/model/flops_per_token"), c.tokens) *
                                              1e3);
    }
    std::vector<svg::Series> s{measured, linear};
    if (!roof.x.empty()) s.push_back(roof);
    if (sc.contains("batched")) {  // passes of b sequences x T tokens each
      size_t ci = 2;
      for (const auto& [b, batched] : sc["batched"].items()) {
        svg::Series bs{"batch " + b + " (T per sequence)", kPalette[ci++ % 8], {}, {}};
        for (const auto& c : batched.get<std::vector<report::CurvePoint>>())
          bs.x.push_back(c.tokens), bs.y.push_back(c.seconds * 1e3);
        if (s.size() < 7) s.push_back(bs);
      }
    }
    o << svg::line_chart("step_cost_" + backend, "Step time vs tokens per pass, t(T), " + backend,
                         "tokens per pass T (log2)", "ms", s, true);
    o << "<table><tr><th>T</th><th>t(T) ms</th><th>t(T)/t(1)</th><th>ms per token</th></tr>";
    for (const report::CurvePoint& c : curve)
      o << "<tr><td>" << c.tokens << "</td><td>" << f(c.seconds * 1e3, 3) << "</td><td>" << f(c.seconds / t1)
        << "</td><td>" << f(c.seconds * 1e3 / c.tokens, 4) << "</td></tr>";
    o << "</table>";
  }
  if (limits.bw == 0)
    o << "<p class=note>No measured machine limits (run <code>dllm-bench probe</code>): no roofline.</p>";
  return o.str();
}

// t(T) in seconds by T of the report's own CPU step-cost curve (empty without one).
std::map<int, double> cpu_curve(const json& r) {
  std::map<int, double> t;
  if (r.contains("step_cost") && r["step_cost"].contains("cpu"))
    for (const report::CurvePoint& c : r["step_cost"]["cpu"]["curve"].get<std::vector<report::CurvePoint>>())
      t[c.tokens] = c.seconds;
  return t;
}

// A single-sequence TiDAR configuration's step as the CPU curve `t` measures it: `tokens` per step,
// a step costs `cost` AR steps (its prediction's forwards per step x t(T)/t(1)), `forwards` of T.
struct StepModel {
  std::string id, backend;
  double tokens, cost, forwards;
  int pass;
};
std::vector<StepModel> step_models(const json& r, const std::map<int, double>& t) {
  std::vector<StepModel> models;
  const auto t1 = t.find(1);
  for (const json& p : r["points"]) {
    const auto s = speedup_of(p);
    const report::PointConfig cfg = config_of(p);
    if (!s || !s->predicted || cfg.batch != 1) continue;
    const report::Prediction& pr = *s->predicted;
    const auto tt = t.find(pr.pass_tokens);
    if (t1 == t.end() || tt == t.end() || t1->second <= 0 || tt->second <= 0) continue;
    models.push_back({p["id"], cfg.backend, pr.tokens_per_step, pr.t_pass_over_t1,
                      pr.t_pass_over_t1 / (tt->second / t1->second), pr.pass_tokens});
  }
  return models;
}

// The step-cost curves of other models on this machine (bench --step-cost-models): t(T)/t(1) beside
// the probe's roofline, and the speedup the report's TiDAR configurations would have there with the
// acceptance they measured here: a t(1) / (forwards per step x t(T)).
std::string model_step_cost_tables(const json& r) {
  if (!r.contains("step_cost_models")) return "";
  const Limits limits = limits_of(r);
  const std::vector<StepModel> configs = step_models(r, cpu_curve(r));  // forwards per step from this report
  std::ostringstream o;
  for (const report::ModelStepCost& m : r["step_cost_models"].get<std::vector<report::ModelStepCost>>()) {
    DLLM_CHECK(!m.curve.empty() && m.curve.front().seconds > 0, "step_cost_models: ", m.model, " has no curve");
    const double t1 = m.curve.front().seconds;
    const bool roofline = limits.known() && m.backend == "cpu";
    auto roof = [&](int n) { return limits.pass_seconds(m.weight_bytes, m.flops_per_token, n); };
    o << "<h3>Step cost of " << escape(m.model) << " on " << escape(m.backend) << "</h3><p class=note>"
      << f(m.weight_bytes / 1e9, 3) << " GB of weights, " << f(m.flops_per_token / 1e9, 3) << " GFLOP per token, "
      << m.context << " cached tokens; t(1) = " << f(t1 * 1e3, 3) << " ms";
    if (roofline)
      o << " (" << f(m.weight_bytes / t1 / 1e9, 1) << " GB/s, " << f(m.weight_bytes / t1 / limits.bw)
        << " of the probe)";
    o << ".</p><table><tr><th>T</th><th>t(T) ms</th><th>t(T)/t(1)</th><th>roofline t(T)/t(1)</th>";
    for (const StepModel& c : configs) o << "<th>" << escape(c.id) << " predicted</th>";
    o << "</tr>";
    for (const report::CurvePoint& c : m.curve) {
      o << "<tr><td>" << c.tokens << "</td><td>" << f(c.seconds * 1e3, 3) << "</td><td>" << f(c.seconds / t1)
        << "</td><td>" << (roofline ? f(roof(c.tokens) / roof(1)) : "-") << "</td>";
      for (const StepModel& k : configs)
        o << "<td>" << (k.pass == c.tokens ? f(k.tokens * t1 / (k.forwards * c.seconds)) + "x" : "") << "</td>";
      o << "</tr>";
    }
    o << "</table>";
  }
  return o.str();
}

// MoE models: distinct experts per layer against tokens per pass, from the router's own choices on
// the suite, against uniform routing, and the passes the decoding points ran (their measured mean).
std::string routing_locality_chart(const json& r) {
  if (!r.contains("routing_locality")) return "";
  const auto rl = r["routing_locality"].get<report::RoutingLocality>();
  svg::Series measured{"measured on the suite (" + rl.backend + ")", "#3366cc", {}, {}},
      uniform{"uniform routing", "#aaaaaa", {}, {}, true, false},
      decoding{"passes while decoding (bench points)", "#ff9900", {}, {}, true};
  for (const report::ExpertsPerPass& e : rl.passes) {
    measured.x.push_back(e.tokens), measured.y.push_back(e.experts_per_layer);
    uniform.x.push_back(e.tokens), uniform.y.push_back(e.uniform_experts_per_layer);
  }
  std::map<int, std::pair<double, int>> by_pass;  // pass tokens -> (sum of experts per layer, points)
  for (const json& p : r["points"]) {
    const auto a = p["accounting"].get<report::Accounting>();
    if (!a.moe) continue;
    const auto c = p["config"].get<report::PointConfig>();
    auto& [sum, n] = by_pass[c.is_tidar() ? c.pass_tokens : 1];
    sum += a.moe->experts_per_layer_per_forward, ++n;
  }
  for (const auto& [t, sn] : by_pass) decoding.x.push_back(t), decoding.y.push_back(sn.first / sn.second);
  std::vector<svg::Series> s{measured, uniform};
  if (!decoding.x.empty()) s.push_back(decoding);
  std::ostringstream o;
  o << svg::line_chart("routing_locality",
                       "Distinct experts per layer vs tokens per pass (of " + std::to_string(rl.experts) + ")",
                       "tokens per pass T (log2)", "experts per layer", s, true);
  o << "<table><tr><th>T</th><th>passes measured</th><th>experts / layer</th><th>uniform</th><th>expert MB / pass</th>"
       "<th>uniform MB</th><th>measured / uniform</th></tr>";
  for (const report::ExpertsPerPass& e : rl.passes)
    o << "<tr><td>" << e.tokens << "</td><td>" << e.windows << "</td><td>" << f(e.experts_per_layer) << "</td><td>"
      << f(e.uniform_experts_per_layer) << "</td><td>" << f(e.expert_bytes / 1e6, 3) << "</td><td>"
      << f(e.uniform_expert_bytes / 1e6, 3) << "</td><td>" << f(e.experts_per_layer / e.uniform_experts_per_layer)
      << "</td></tr>";
  o << "</table><p class=note>" << rl.suite_tokens << " suite tokens (prompts with their answers) in rows of "
    << rl.row_tokens << ", one prefill per row; a pass of T tokens is T consecutive tokens of a row.</p>";
  return o.str();
}

std::string prediction_table(const json& r) {
  std::ostringstream o;
  o << "<table><tr><th class=l>configuration</th><th>tokens/step a</th><th>pass tokens T</th><th>t(T)/t(1)</th>"
       "<th>predicted a·t(1)/t(T)</th><th>measured</th><th>measured / predicted</th></tr>";
  for (const json& p : r["points"]) {
    const auto s = speedup_of(p);
    if (!s || !s->predicted) continue;
    const report::Prediction& pr = *s->predicted;
    const double ratio = pr.measured_over_predicted;
    o << "<tr><td class=l>" << escape(p["id"]) << "</td><td>" << f(pr.tokens_per_step) << "</td><td>" << pr.pass_tokens
      << "</td><td>" << f(pr.t_pass_over_t1) << "</td><td>" << f(pr.speedup) << "x</td><td>"
      << f(s->decode.summary.mean) << "x</td><td class=" << (ratio >= 0.85 ? "good" : "bad") << ">" << f(ratio)
      << "</td></tr>";
  }
  o << "</table><p class=note>Target: measured ≥ 0.85 × predicted.</p>";
  return o.str();
}

std::string equivalence_table(const json& r) {
  std::ostringstream o;
  o << "<table><tr><th class=l>configuration</th><th>exact</th><th>near tie</th><th>bug</th><th>lossy</th>"
       "<th class=l>divergences (prompt @ first differing token: verdict, AR top-1 − top-2 margin, the text before "
       "[AR's | the configuration's continuation])</th></tr>";
  for (const json& p : r["points"]) {
    const std::optional<report::VsAr> v = quality_of(p).vs_ar;
    if (!v) continue;
    std::string div;
    for (const report::Divergence& d : v->divergences) {
      if (div.size() > 600) {
        div += " …";
        break;
      }
      div += escape(d.prompt_id) + " @" + std::to_string(d.first_divergence) + ": " + escape(d.verdict);
      if (d.ar_top1_top2_margin) div += " (" + f(*d.ar_top1_top2_margin, 6) + ")";
      if (d.text)  // …before [AR's continuation | the point's]
        div += " <q>" + escape(d.text->before) + "[" + escape(d.text->ar) + " | " + escape(d.text->point) + "]</q>";
      div += "; ";
    }
    const report::Verdicts& n = v->verdicts;
    o << "<tr><td class=l>" << escape(p["id"]) << "</td><td>" << n.exact << "</td><td>" << n.near_tie << "</td><td"
      << (n.bug ? " class=bad" : "") << ">" << n.bug << "</td><td>" << n.lossy << "</td><td class=l>" << div
      << "</td></tr>";
  }
  o << "</table>";
  return o.str();
}

std::string categories_table(const json& r) {
  std::ostringstream o;
  o << "<table><tr><th class=l>configuration</th><th class=l>category</th><th>tokens</th><th>tokens/forward</th>"
       "<th>decode tokens/s</th><th>answers correct</th></tr>";
  for (const json& p : r["points"]) {
    if (!p.contains("per_category")) continue;
    for (const auto& [cat, cj] : p["per_category"].items()) {
      const auto c = cj.get<report::CategoryStats>();
      o << "<tr><td class=l>" << escape(p["id"]) << "</td><td class=l>" << escape(cat) << "</td><td>"
        << c.generated_tokens << "</td><td>" << f(c.tokens_per_forward) << "</td><td>" << f(c.decode_tokens_per_s, 1)
        << "</td><td>" << c.answers_correct << "</td></tr>";
    }
  }
  o << "</table>";
  return o.str();
}

std::string side_by_side(const json& r) {
  std::ostringstream o;
  for (const auto& e : r["examples"].get<std::vector<report::Example>>()) {
    o << "<h3>" << escape(e.prompt_id) << "</h3>";
    if (e.prompt_text) o << "<p class=mono>prompt: " << escape(*e.prompt_text) << "</p>";
    o << "<table><tr><th class=l>configuration</th><th class=l>output (alternating colours = one forward's "
         "commit)</th></tr>";
    for (const report::ExampleOutput& out : e.outputs) {
      o << "<tr><td class=l>" << escape(out.point) << "</td><td class='l mono'>";
      if (out.segments) {
        int i = 0;
        for (const std::string& s : *out.segments)
          o << "<span class='seg s" << (i++ % 2) << "'>" << escape(s) << "</span>";
      } else {
        o << escape(json(out.tokens).dump());
      }
      o << "</td></tr>";
    }
    o << "</table>";
  }
  return o.str();
}

std::string provenance_table(const json& r) {
  std::ostringstream o;
  o << "<table>";
  for (const auto& [k, v] : r["provenance"].items())
    o << "<tr><th class=l>" << escape(k) << "</th><td class='l mono'>"
      << escape(v.is_string() ? v.get<std::string>() : v.dump(1, ' ', false, json::error_handler_t::replace))
      << "</td></tr>";
  o << "<tr><th class=l>settings</th><td class='l mono'>" << escape(r["settings"].dump()) << "</td></tr>"
    << "<tr><th class=l>suite</th><td class='l mono'>" << escape(r["suite"].dump()) << "</td></tr>";
  if (r.contains("shard"))
    o << "<tr><th class=l>shard</th><td class='l mono'>" << escape(r["shard"].dump()) << "</td></tr>";
  if (r.contains("merged_from"))
    for (const json& m : r["merged_from"])
      o << "<tr><th class=l>merged from</th><td class='l mono'>" << escape(m.dump()) << "</td></tr>";
  o << "</table>";
  return o.str();
}

// Kernel micro-benchmarks (Google Benchmark JSON): time, the user counters, and the rates against
// the probe. Rates are read from counters named "...GB/s" and "...GFLOP/s" (bench/ convention) or
// Google Benchmark's bytes_per_second.
std::string kernel_tables(const std::vector<json>& runs, const json& limits) {
  std::ostringstream o;
  if (runs.empty())
    return "<p class=note>No Google Benchmark results in these inputs (pass bench/ JSON outputs with "
           "<code>--gbench</code> or to <code>dllm-bench report</code>).</p>";
  const auto [bw, peak] = limits_in(limits);
  static const std::vector<std::string> standard = {
      "cpu_time",         "real_time",   "iterations", "family_index", "per_family_instance_index",
      "repetition_index", "repetitions", "threads"};
  o << "<table><tr><th class=l>benchmark</th><th>time</th><th class=l>counters</th><th>GB/s</th>"
       "<th>of measured bandwidth</th><th>GFLOP/s</th><th>of measured peak</th></tr>";
  for (const json& b : runs) {
    double gbs = b.value("bytes_per_second", 0.0) / 1e9, gf = 0;
    std::string counters;
    for (const auto& [k, v] : b.items()) {
      if (!v.is_number() || std::find(standard.begin(), standard.end(), k) != standard.end()) continue;
      counters += k + " = " + f(v.get<double>(), 3) + "; ";
      if (k.ends_with("GB/s")) gbs = std::max(gbs, v.get<double>());
      if (k.ends_with("GFLOP/s")) gf = std::max(gf, v.get<double>());
    }
    o << "<tr><td class=l>" << escape(b["name"]) << "</td><td>" << f(b["real_time"].get<double>(), 1) << " "
      << escape(b["time_unit"]) << "</td><td class=l>" << escape(counters) << "</td><td>" << (gbs > 0 ? f(gbs) : "-")
      << "</td><td>" << (gbs > 0 && bw > 0 ? f(gbs * 1e9 / bw) : "-") << "</td><td>" << (gf > 0 ? f(gf) : "-")
      << "</td><td>" << (gf > 0 && peak > 0 ? f(gf * 1e9 / peak) : "-") << "</td></tr>";
  }
  o << "</table>";
  if (bw == 0)
    o << "<p class=note>No measured machine limits: run <code>dllm-bench probe</code> for the fractions.</p>";
  return o.str();
}

std::string headline(const json& r) {
  // The best valid lossless and mixing speedups, for the first lines of the page.
  std::ostringstream o;
  o << "<ul>";
  for (const json& p : r["points"]) {
    const auto s = speedup_of(p);
    if (!s || !p["valid"].get<bool>()) continue;
    o << "<li><b>" << escape(p["id"]) << "</b>: " << f(s->decode.summary.mean) << "x ± " << f(s->decode.summary.ci95)
      << " decode speedup over " << escape(s->baseline) << ", " << f(accounting_of(p).tokens_per_forward)
      << " tokens/forward";
    if (const std::optional<report::VsAr> v = quality_of(p).vs_ar)
      o << ", " << v->exact_match << "/" << v->prompts << " outputs equal to AR";
    o << "</li>";
  }
  o << "</ul>";
  return o.str();
}

// What bounds each single-sequence TiDAR configuration's speedup on this machine. A step costs
// c = forwards per step x t(T)/t(1) AR steps (measured), so it pays when it makes more than c
// tokens; on the probe's roofline a pass of T tokens costs max(B/bw, T F/peak) (B weight bytes, F
// FLOP per token), so the least a step can cost is c_roof = forwards per step x that over t(1)'s.
// Measured within 25% of c_roof: the hardware bounds the speedup (its balance point peak/bw FLOP per
// byte against the model's T F/B); above: our kernels do, and at the roofline the speedup would be
// a/c_roof. CPU backend only: the probe measures the host.
std::string bound_verdicts(const json& r) {
  const Limits limits = limits_of(r);
  const double bytes = num_at(r, "/model/weight_bytes"), flops = num_at(r, "/model/flops_per_token");
  if (!r.contains("step_cost") || !r["step_cost"].contains("cpu")) return "";
  if (!limits.known())
    return "<p class=note>No measured machine limits (run <code>dllm-bench probe</code>): no verdict on what bounds "
           "the speedup.</p>";
  const double bw = limits.bw, peak = limits.peak;
  auto roof = [&](int n) { return limits.pass_seconds(bytes, flops, n); };
  std::ostringstream o;
  for (const StepModel& sm : step_models(r, cpu_curve(r))) {
    if (sm.backend != "cpu") continue;
    const double measured = sm.cost, forwards = sm.forwards, a = sm.tokens;
    const double floor = forwards * roof(sm.pass) / roof(1);
    o << "<li><b>" << escape(sm.id) << "</b>: a step costs " << f(measured) << " AR steps (" << f(forwards, 1)
      << " forward(s) of T = " << sm.pass << "), so it breaks even at " << f(measured) << " tokens per step; it makes "
      << f(a) << ". On this machine's roofline the step costs at least " << f(floor) << " AR steps: a " << sm.pass
      << "-token pass needs " << f(sm.pass * flops / peak * 1e3, 3) << " ms of arithmetic at " << f(peak / 1e9, 1)
      << " GFLOP/s against " << f(bytes / bw * 1e3, 3) << " ms to read the weights at " << f(bw / 1e9, 1)
      << " GB/s (balance point " << f(peak / bw, 1) << " FLOP per byte; the pass does " << f(sm.pass * flops / bytes, 1)
      << "). ";
    if (measured <= 1.25 * floor)
      o << "<span class=good>Bound by the hardware</span>: the kernels run within 25% of the roofline, so the "
        << "speedup of " << f(a / measured) << "x is what this machine allows at this acceptance.";
    else
      o << "<span class=bad>Bound by our kernels</span>: the step costs " << f(measured / floor)
        << "x its roofline; with kernels at the roofline the speedup would be " << f(a / floor) << "x instead of "
        << f(a / measured) << "x.";
    o << "</li>";
  }
  const std::string items = o.str();
  return items.empty() ? "" : "<h3>What bounds the speedup</h3><ul>" + items + "</ul>";
}

std::string bench_section(const json& r, const std::vector<json>& gbench) {
  std::ostringstream o;
  const json& pv = r["provenance"];
  const auto suite = r["suite"].get<report::Suite>();
  const auto settings = r["settings"].get<report::Settings>();
  o << "<h1>dllm-bench report: " << escape(pv["model"]["source"]) << " on " << escape(pv["host"]["cpu"]) << "</h1>"
    << "<p class=note>" << escape(pv["date_utc"]) << " · commit " << escape(pv["git"]["commit"].dump())
    << (pv["git"]["dirty"] == true ? " (dirty)" : "") << " · backend " << escape(pv["backend"]) << " · "
    << suite.prompts << " prompts from " << escape(suite.path) << " · " << settings.repetitions
    << " timed repetitions after " << settings.warmup << " warm-up"
    << (r["interrupted"].get<bool>() ? " · <span class=bad>INTERRUPTED</span>" : "") << "</p>";
  o << "<h2 id=summary>Summary</h2>" << headline(r) << summary_table(r) << bound_verdicts(r);
  o << "<h2 id=throughput>Throughput and speedup</h2><div class=charts>" << throughput_chart(r) << mixing_charts(r)
    << tradeoff_chart(r) << "</div>"
    << "<h3>Where the time goes</h3>" << time_split_table(r);
  o << "<h2 id=acceptance>Acceptance</h2><div class=charts>" << acceptance_charts(r) << "</div>";
  o << "<h2 id=step-cost>Step cost and the speedup model</h2><div class=charts>" << step_cost_chart(r)
    << routing_locality_chart(r) << "</div>" << prediction_table(r) << model_step_cost_tables(r);
  o << "<h2 id=batching>Batch size: where AR catches up</h2>" << batch_section(r);
  o << "<h2 id=equivalence>Equivalence with AR (lossless gate and forensics)</h2>" << equivalence_table(r);
  o << "<h2 id=categories>Per category</h2>" << categories_table(r);
  o << "<h2 id=outputs>AR vs diffusion output, block by block</h2>" << side_by_side(r);
  o << "<h2 id=kernels>Kernels</h2><h3>Kernel parity</h3>";
  if (r.contains("kernel_parity")) {
    o << "<table><tr><th class=l>backend</th><th class=l>op</th><th class=l>shape</th><th>max abs</th><th>max "
         "rel</th><th>tolerance</th><th>pass</th></tr>";
    for (const json& k : r["kernel_parity"])
      o << "<tr><td class=l>" << escape(k.value("backend", "")) << "</td><td class=l>" << escape(k["op"])
        << "</td><td class=l>" << escape(k["shape"]) << "</td><td>" << sci(k["max_abs"]) << "</td><td>"
        << sci(k["max_rel"]) << "</td><td>" << sci(k["tolerance"])
        << "</td><td class=" << (k["pass"].get<bool>() ? "good>yes" : "bad>NO") << "</td></tr>";
    o << "</table>";
  } else {
    o << "<p class=note>No kernel parity records in this report.</p>";
  }
  std::vector<json> runs = gbench;
  if (r.contains("google_benchmark"))
    runs.insert(runs.end(), r["google_benchmark"].begin(), r["google_benchmark"].end());
  o << "<h3>Kernel roofline</h3>" << kernel_tables(runs, pv["machine_limits"]);
  o << "<h2 id=provenance>Provenance</h2>" << provenance_table(r);
  return o.str();
}

// A peer comparison record (tools/peer-llamacpp): per dtype, AR decode and the prompt passes of both
// engines, their ratio, and each rate against this machine's limits when the record has them.
std::string peer_section(const report::Peer& p) {
  const std::string& them = p.peer.name;
  std::ostringstream o;
  o << "<h2 id=peer>Peer comparison: " << escape(them) << " and dllm-bench on the same weights</h2>"
    << "<p class=note>" << escape(p.date_utc) << " · " << escape(p.host.cpu) << ", " << p.host.logical_cpus
    << " logical CPUs · " << escape(p.model_shape) << " shape (" << f(double(p.parameters) / 1e6, 1)
    << "M parameters), random weights (seed " << p.weights_seed
    << "), the same bits in an HF folder (dllm-bench) and a GGUF (" << escape(them) << ") · " << p.threads << " thread"
    << (p.threads > 1 ? "s" : "") << ", batch " << p.batch << " · " << p.rounds << " interleaved round"
    << (p.rounds > 1 ? "s" : "") << ", median over rounds of each round's median of " << p.repetitions << " repetition"
    << (p.repetitions > 1 ? "s" : "") << " · 1-minute load average " << f(p.host.load_start)
    << " before the run, at most " << f(p.host.load_max) << " before a measurement"
    << (p.busy() ? " <span class=bad>(other processes shared the CPUs: noisy figures)</span>" : "") << "</p>";
  std::vector<svg::Bar> bars;
  o << "<table><tr><th class=l>dtype</th><th class=l>measure</th><th>" << escape(them)
    << " tokens/s</th><th>dllm-bench tokens/s</th><th>ratio dllm-bench / " << escape(them) << "</th><th>"
    << escape(them) << " ms per token or pass</th><th>dllm-bench ms</th><th>" << escape(them)
    << " against the limit</th><th>dllm-bench against the limit</th><th class=l>rounds, tokens/s (" << escape(them)
    << " | dllm-bench)</th></tr>";
  // One measure of one dtype; `tokens` per timed unit (1 for decode: ms per token; T: ms per pass).
  const auto row = [&](const std::string& dtype, const std::string& measure, const std::string& bar,
                       const report::PeerRates& r, int tokens,
                       const std::function<std::string(double)>& against_limit) {
    const double peer = r.peer_median(), ours = r.ours_median(), ratio = r.ratio();
    std::string rounds;
    for (double v : r.peer) rounds += f(v, 1) + " ";
    rounds += "|";
    for (double v : r.ours) rounds += ' ' + f(v, 1);
    o << "<tr><td class=l>" << escape(dtype) << "</td><td class=l>" << escape(measure) << "</td><td>" << f(peer, 1)
      << "</td><td>" << f(ours, 1) << "</td><td class=" << (ratio >= 1 ? "good" : "bad") << ">" << f(ratio)
      << "x</td><td>" << f(1e3 * tokens / peer) << "</td><td>" << f(1e3 * tokens / ours) << "</td><td>"
      << against_limit(peer) << "</td><td>" << against_limit(ours) << "</td><td class=l>" << rounds << "</td></tr>";
    bars.push_back({dtype + " " + bar, ratio, 0, ratio >= 1 ? "#109618" : "#dc3912"});
  };
  const double bw = p.limits ? p.limits->read_bandwidth_bytes_per_s : 0,
               peak = p.limits ? p.limits->peak_flops_per_s : 0;
  for (const report::PeerDtypeResult& r : p.results) {
    // A decode step reads every weight once: bytes/s = weight bytes x tokens/s.
    row(r.dtype, "AR decode (" + std::to_string(p.decode_tokens) + " tokens)", "decode", r.decode, 1, [&](double tps) {
      const double gbs = double(r.weight_bytes) * tps / 1e9;
      return f(gbs, 1) + " GB/s" + (bw > 0 ? ", " + f(gbs * 1e9 / bw) + " of read" : "");
    });
    for (const report::PeerPass& pass : r.passes)
      row(r.dtype, std::to_string(pass.tokens) + "-token pass (prefill)", "T=" + std::to_string(pass.tokens),
          pass.rates, pass.tokens, [&](double tps) {
            const double gf = p.pass_flops(pass.tokens) * tps / pass.tokens / 1e9;
            return f(gf, 1) + " GFLOP/s" + (peak > 0 ? ", " + f(gf * 1e9 / peak) + " of peak" : "");
          });
  }
  o << "</table>";
  o << "<div class=charts>"
    << svg::bar_chart("peer_ratio", "dllm-bench / " + them + ", tokens/s (1 = as fast)", "ratio", bars) << "</div>";
  o << "<p class=note>Ratio above 1: dllm-bench is faster. A pass of T tokens starts from an empty cache and "
       "computes the logits of its last token only (llama-bench -p T; dllm-bench stepcost --context 0 --logits "
       "last). AR decode: llama-bench -n N against dllm-bench generate, greedy. GB/s: the checkpoint's bytes per "
       "decoded token. FLOP/s: the matrix products, 2 per layer parameter and token, the LM head once; the "
       "probe's peak is the f32 FMA rate, which bf16 dot-product instructions (AVX512_BF16, as llama.cpp uses "
       "them) can pass."
    << (p.limits ? "" : " No machine limits in this record (run <code>dllm-bench probe</code> first).") << "</p>";
  o << "<table><tr><th class=l>engine</th><th class=l>version</th><th class=l>build</th><th class=l>commands</th></tr>";
  for (const report::PeerEngine* e : {&p.peer, &p.ours}) {
    std::string commands;
    for (const std::string& c : e->commands) commands += escape(c) + "<br>";
    o << "<tr><td class=l>" << escape(e->name) << "</td><td class=l>" << escape(e->version) << "</td><td class=l>"
      << escape(e->build) << "</td><td class='l mono'>" << commands << "</td></tr>";
  }
  std::string flags;
  for (const std::string& fl : p.host.flags) flags += fl + " ";
  o << "<tr><th class=l>host</th><td class='l mono' colspan=3>" << escape(p.host.cpu) << " · flags: " << escape(flags)
    << "· " << escape(p.host.kernel) << "</td></tr></table>";
  return o.str();
}

constexpr const char* kNotGbench =
    "not Google Benchmark JSON output (write it with --benchmark_out=FILE --benchmark_out_format=json)";

std::string render_records(const std::vector<json>& records) {
  std::vector<json> gbench;
  std::vector<const json*> reports;
  std::vector<report::Peer> peers;
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    if (is_peer_record(r)) {
      try {
        validate_peer_record(r);
        peers.push_back(r.get<report::Peer>());
      } catch (const Error& e) {
        fail("input ", i + 1, ": ", e.what());
      }
    } else if (r.is_object() && r.contains("benchmarks") && r.contains("context")) {
      DLLM_CHECK(r["benchmarks"].is_array(), "input ", i + 1, ": \"benchmarks\" is not an array: ", kNotGbench);
      for (const json& b : r["benchmarks"]) {
        if (!b.contains("name") || !b.contains("real_time")) continue;  // not a timed run
        DLLM_CHECK(
            b["name"].is_string() && b["real_time"].is_number() && b.contains("time_unit") &&
                b["time_unit"].is_string() && (!b.contains("bytes_per_second") || b["bytes_per_second"].is_number()),
            "input ", i + 1, ": benchmark ", b["name"].dump(), " needs a string name and time_unit and a numeric ",
            "real_time (and bytes_per_second): ", kNotGbench);
        gbench.push_back(b);
      }
    } else if (is_report(r)) {
      reports.push_back(&r);
    } else {
      fail("input ", i + 1, " is neither a dllm-bench report, a peer comparison nor Google Benchmark JSON output");
    }
  }
  DLLM_CHECK(!reports.empty() || !gbench.empty() || !peers.empty(), "no report to render");
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>dllm-bench report</title><style>" << kStyle
    << "</style></head><body>";
  for (const json* r : reports) o << bench_section(*r, gbench);
  if (reports.empty()) {
    o << "<h1>dllm-bench " << (gbench.empty() ? "peer comparison" : "kernel report") << "</h1>";
    if (!gbench.empty()) o << kernel_tables(gbench, nullptr);
  }
  for (const report::Peer& p : peers) o << peer_section(p);
  o << "</body></html>\n";
  return o.str();
}

}  // namespace

std::string render_html(const std::vector<json>& records) {
  try {
    return render_records(records);
  } catch (const json::exception& e) {  // a field the schema leaves open has an unexpected type
    fail("cannot render the report: a field is missing or has the wrong type (", e.what(), ")");
  }
}

}  // namespace dllm
