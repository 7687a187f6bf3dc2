// Inline SVG charts for the HTML report: no script, fixed size, axes with ticks, a legend.
#pragma once
#include <string>
#include <vector>

namespace dllm::svg {

struct Bar {
  std::string label;
  double value = 0, error = 0;  // error: half-width of a whisker (0: none)
  std::string color;
};
// A vertical bar chart; `name` becomes data-chart="name" (what the browser test looks for).
std::string bar_chart(const std::string& name, const std::string& title, const std::string& y_label,
                      const std::vector<Bar>& bars);

struct Series {
  std::string label, color;
  std::vector<double> x, y;
  bool dashed = false;
  bool markers = true;
};
std::string line_chart(const std::string& name, const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series, bool log_x = false);

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string escape(const std::string& s);

}  // namespace dllm::svg
