#include "reports/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace dllm::svg {

namespace {

constexpr double kWidth = 640, kLeft = 64, kRight = 16, kTop = 36;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  if (v == 0) return "0";
  if (std::abs(v) >= 1000 || std::abs(v) < 0.01)
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// A "nice" tick step for the range [0, hi]: 1, 2 or 5 times a power of ten, about 5 ticks.
double nice_step(double hi) {
  if (hi <= 0) return 1;
  const double raw = hi / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

// Plot area: from kTop to height - bottom.
struct Frame {
  double height, bottom;
  double plot_bottom() const { return height - bottom; }
};

std::string frame(const std::string& name, const std::string& title, const Frame& g) {
  std::ostringstream o;
  o << "<svg class=\"chart\" data-chart=\"" << escape(name) << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
    << kWidth << "\" height=\"" << g.height << "\" viewBox=\"0 0 " << kWidth << " " << g.height << "\" role=\"img\">"
    << "<title>" << escape(title) << "</title><text x=\"" << kWidth / 2 << "\" y=\"20\" class=\"ct\">" << escape(title)
    << "</text>";
  return o.str();
}

// y axis from 0 to top with gridlines; returns the pixel y of a value.
struct YAxis {
  double top, step;
  Frame g;
  double px(double v) const { return kTop + (g.plot_bottom() - kTop) * (1 - v / top); }
  std::string draw(const std::string& label) const {
    std::ostringstream o;
    for (double v = 0; v <= top * 1.0001; v += step)
      o << "<line class=\"grid\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << num(px(v))
        << "\" y2=\"" << num(px(v)) << "\"/><text class=\"yt\" x=\"" << kLeft - 6 << "\" y=\"" << num(px(v) + 4)
        << "\">" << tick_label(v) << "</text>";
    o << "<text class=\"al\" transform=\"translate(14," << num((kTop + g.plot_bottom()) / 2) << ") rotate(-90)\">"
      << escape(label) << "</text>";
    return o.str();
  }
};

YAxis y_axis(double hi, const Frame& g) {
  const double step = nice_step(hi);
  return {std::max(step, std::ceil(hi / step) * step), step, g};
}

// Long labels are cut in the middle: the ends of a configuration id say the most.
std::string shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n / 2 - 1) + "…" + s.substr(s.size() - (n - n / 2));
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string bar_chart(const std::string& name, const std::string& title, const std::string& y_label,
                      const std::vector<Bar>& bars) {
  double hi = 0;
  for (const Bar& b : bars) hi = std::max(hi, b.value + b.error);
  const Frame g{360, 120};
  const YAxis y = y_axis(hi > 0 ? hi : 1, g);
  std::ostringstream o;
  o << frame(name, title, g) << y.draw(y_label);
  const double slot = (kWidth - kLeft - kRight) / double(std::max<size_t>(1, bars.size()));
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double x = kLeft + slot * double(i) + slot * 0.15, w = slot * 0.7, top = y.px(b.value);
    o << "<rect class=\"bar\" x=\"" << num(x) << "\" y=\"" << num(top) << "\" width=\"" << num(w) << "\" height=\""
      << num(y.px(0) - top) << "\" fill=\"" << b.color << "\"><title>" << escape(b.label) << ": " << tick_label(b.value)
      << "</title></rect>";
    if (b.error > 0) {
      const double cx = x + w / 2;
      o << "<line class=\"err\" x1=\"" << num(cx) << "\" x2=\"" << num(cx) << "\" y1=\""
        << num(y.px(std::max(0.0, b.value - b.error))) << "\" y2=\"" << num(y.px(b.value + b.error)) << "\"/>";
    }
    o << "<text class=\"xt\" transform=\"translate(" << num(x + w / 2) << "," << num(y.px(0) + 10) << ") rotate(35)\">"
      << escape(shorten(b.label, 40)) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

std::string line_chart(const std::string& name, const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series, bool log_x) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_hi = 0;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double x = log_x ? std::log2(std::max(s.x[i], 1e-12)) : s.x[i];
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_hi = std::max(y_hi, s.y[i]);
    }
  if (!(x_hi > x_lo)) x_lo -= 1, x_hi += 1;
  const Frame g{300 + 16 * double(series.size()), 60 + 16 * double(series.size())};  // a legend row per series
  const YAxis y = y_axis(y_hi > 0 ? y_hi : 1, g);
  auto px = [&](double x) {
    const double v = log_x ? std::log2(std::max(x, 1e-12)) : x;
    return kLeft + (kWidth - kLeft - kRight) * (v - x_lo) / (x_hi - x_lo);
  };
  std::ostringstream o;
  o << frame(name, title, g) << y.draw(y_label);
  std::vector<double> ticks;
  for (const Series& s : series) ticks.insert(ticks.end(), s.x.begin(), s.x.end());
  std::sort(ticks.begin(), ticks.end());
  ticks.erase(std::unique(ticks.begin(), ticks.end()), ticks.end());
  double last = -1e9;
  for (double t : ticks) {
    if (px(t) - last < 22) continue;  // keep tick labels apart
    last = px(t);
    o << "<text class=\"xt2\" x=\"" << num(px(t)) << "\" y=\"" << num(y.px(0) + 16) << "\">" << tick_label(t)
      << "</text>";
  }
  o << "<text class=\"al\" x=\"" << num((kLeft + kWidth - kRight) / 2) << "\" y=\"" << num(g.plot_bottom() + 32)
    << "\">" << escape(x_label) << "</text>";
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    std::ostringstream pts;
    for (size_t i = 0; i < s.x.size(); ++i) pts << num(px(s.x[i])) << "," << num(y.px(s.y[i])) << " ";
    o << "<polyline class=\"line\" fill=\"none\" stroke=\"" << s.color << "\""
      << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"" << pts.str() << "\"/>";
    if (s.markers)
      for (size_t i = 0; i < s.x.size(); ++i)
        o << "<circle cx=\"" << num(px(s.x[i])) << "\" cy=\"" << num(y.px(s.y[i])) << "\" r=\"3\" fill=\"" << s.color
          << "\"><title>" << escape(s.label) << ": " << tick_label(s.x[i]) << ", " << tick_label(s.y[i])
          << "</title></circle>";
    const double lx = kLeft + 8, ly = g.plot_bottom() + 52 + 16 * double(si);
    o << "<line x1=\"" << num(lx) << "\" x2=\"" << num(lx + 18) << "\" y1=\"" << num(ly - 4) << "\" y2=\""
      << num(ly - 4) << "\" stroke=\"" << s.color << "\" stroke-width=\"2\""
      << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/><text class=\"lg\" x=\"" << num(lx + 22) << "\" y=\""
      << num(ly) << "\">" << escape(shorten(s.label, 80)) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

}  // namespace dllm::svg
