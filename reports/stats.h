// Summary statistics of repeated measurements and the significance test `compare` uses.
#pragma once
#include <vector>

namespace dllm::stats {

struct Summary {
  int n = 0;
  double mean = 0, stddev = 0;  // stddev: sample standard deviation (n - 1); 0 when n < 2
  double ci95 = 0;              // half-width of the 95 % confidence interval of the mean (Student t)
  double min = 0, max = 0;
};
Summary summarize(const std::vector<double>& samples);

// Two-sided 97.5 % quantile of Student's t with `df` degrees of freedom (df >= 1).
double t_quantile_975(double df);

// Two-sided p-value of Welch's t-test that the means of a and b differ. 1 when either side has
// fewer than 2 samples or both have zero variance and equal means; 0 when the variances are zero
// and the means differ.
double welch_p_value(const std::vector<double>& a, const std::vector<double>& b);

// P(|T| > t) for Student's t with df degrees of freedom.
double student_t_two_sided(double t, double df);

}  // namespace dllm::stats
