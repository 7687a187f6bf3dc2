// reports/stats: the intervals and the significance test every report and `compare` rely on.
#include "reports/stats.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace dllm::stats;

TEST(Stats, SummaryOfKnownSamples) {
  const Summary s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s.n, 8);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.stddev, 2.13809, 1e-5);  // sample stddev (n - 1)
  EXPECT_NEAR(s.ci95, 2.364624 * 2.13809 / std::sqrt(8.0), 1e-4);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_EQ(summarize({3}).ci95, 0);  // one sample: no interval
  EXPECT_EQ(summarize({}).n, 0);
}

TEST(Stats, StudentTQuantilesMatchTables) {
  EXPECT_NEAR(t_quantile_975(1), 12.7062, 1e-3);
  EXPECT_NEAR(t_quantile_975(2), 4.3027, 1e-3);
  EXPECT_NEAR(t_quantile_975(10), 2.2281, 1e-3);
  EXPECT_NEAR(t_quantile_975(1000), 1.9623, 1e-3);
  EXPECT_NEAR(student_t_two_sided(2.2281, 10), 0.05, 1e-4);
  EXPECT_NEAR(student_t_two_sided(0, 5), 1.0, 1e-12);
}

TEST(Stats, WelchSeparatesDifferentMeansOnly) {
  const std::vector<double> a{10.0, 10.2, 9.9, 10.1, 10.0}, b{12.0, 12.1, 11.9, 12.2, 12.0};
  EXPECT_LT(welch_p_value(a, b), 1e-6);
  EXPECT_GT(welch_p_value(a, {10.1, 9.9, 10.0, 10.2, 10.0}), 0.5);
  // t = -2/sqrt(5/6) = -2.19, df = 6: p = 0.0710 (numerical integration of the t density).
  EXPECT_NEAR(welch_p_value({1, 2, 3, 4}, {3, 4, 5, 6}), 0.0710, 1e-3);
  EXPECT_EQ(welch_p_value({1}, {2, 3}), 1.0);
  EXPECT_EQ(welch_p_value({1, 1}, {2, 2}), 0.0);
}
