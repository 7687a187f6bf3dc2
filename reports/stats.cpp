#include "reports/stats.h"

#include <algorithm>
#include <cmath>

namespace dllm::stats {

Summary summarize(const std::vector<double>& x) {
  Summary s;
  s.n = int(x.size());
  if (x.empty()) return s;
  double sum = 0;
  for (double v : x) sum += v;
  s.mean = sum / s.n;
  s.min = *std::min_element(x.begin(), x.end());
  s.max = *std::max_element(x.begin(), x.end());
  if (s.n < 2) return s;
  double ss = 0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(ss / (s.n - 1));
  s.ci95 = t_quantile_975(s.n - 1) * s.stddev / std::sqrt(double(s.n));
  return s;
}

namespace {

// Continued fraction of the regularized incomplete beta function (modified Lentz method).
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < tiny ? tiny : d);
  double f = d;
  for (int m = 1; m <= 300; ++m) {
    for (int odd = 0; odd < 2; ++odd) {
      const double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      d = 1 / (std::abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (std::abs(c) < tiny) c = tiny;
      f *= c * d;
      if (odd && std::abs(c * d - 1) < 1e-14) return f;
    }
  }
  return f;
}

// I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_two_sided(double t, double df) { return incomplete_beta(df / 2, 0.5, df / (df + t * t)); }

double t_quantile_975(double df) {
  double lo = 0, hi = 1000;  // P(|T| > t) is decreasing in t: bisect for 0.05
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_two_sided(mid, df) > 0.05 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double welch_p_value(const std::vector<double>& a, const std::vector<double>& b) {
  const Summary sa = summarize(a), sb = summarize(b);
  if (sa.n < 2 || sb.n < 2) return 1;
  const double va = sa.stddev * sa.stddev / sa.n, vb = sb.stddev * sb.stddev / sb.n;
  if (va + vb == 0) return sa.mean == sb.mean ? 1 : 0;
  const double t = (sa.mean - sb.mean) / std::sqrt(va + vb);
  const double df = (va + vb) * (va + vb) / (va * va / (sa.n - 1) + vb * vb / (sb.n - 1));
  return student_t_two_sided(std::abs(t), df);
}

}  // namespace dllm::stats
