// dllm-bench report IN.json... -o OUT.html, dllm-bench compare A.json B.json, and dllm-bench merge
// A.json B.json... -o OUT.json.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cli/commands.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "reports/compare.h"
#include "reports/html.h"
#include "reports/merge.h"
#include "reports/schema.h"
#include "reports/sections.h"

namespace dllm::cli {

namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream f(path);
  DLLM_CHECK(f, path, ": cannot read the file");
  json j = json::parse(f, nullptr, false);
  DLLM_CHECK(!j.is_discarded(), path, ": not valid JSON");
  if (is_report(j)) {
    const std::vector<std::string> errors = schema_violations(j, report_schema());
    DLLM_CHECK(errors.empty(), path, ": does not match report schema version ", kReportSchemaVersion, ": ",
               errors.front().empty() ? "/" : errors.front());
  }
  if (is_peer_record(j)) {
    try {
      validate_peer_record(j);
      (void)j.get<report::Peer>();  // what the schema cannot say: a value per round, rates above 0
    } catch (const std::exception& e) {
      fail(path, ": ", e.what());
    }
  }
  return j;
}

// Positional inputs plus "-o FILE"/"--out FILE" and a few numeric flags; anything else is an error.
struct Parsed {
  std::vector<std::string> inputs;
  std::string out;
  double threshold = 0.05;
  bool help = false;
};

Parsed parse(int argc, char** argv, const std::string& command) {
  Parsed p;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() {
      DLLM_CHECK(i + 1 < argc, a, " needs a value (see dllm-bench ", command, " --help)");
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h")
      p.help = true;
    else if (a == "-o" || a == "--out")
      p.out = value();
    else if (a == "--threshold") {
      const std::string v = value();
      size_t used = 0;
      try {
        p.threshold = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      DLLM_CHECK(used == v.size() && p.threshold >= 0, "--threshold must be a number >= 0, got '", v, "'");
    } else if (a.rfind("-", 0) == 0)
      fail("unknown flag ", a, " for 'dllm-bench ", command, "' (see --help)");
    else
      p.inputs.push_back(a);
  }
  return p;
}

}  // namespace

int run_report(int argc, char** argv) {
  const Parsed p = parse(argc, argv, "report");
  if (p.help) {
    std::cout << "usage: dllm-bench report IN.json... -o OUT.html\n\n"
                 "Renders benchmark reports (dllm-bench bench), peer comparisons (tools/peer-llamacpp: llama.cpp and\n"
                 "dllm-bench on the same weights, the \"peer\" section) and Google Benchmark JSON outputs (bench/\n"
                 "binaries run with --benchmark_out=FILE) into one self-contained HTML file: inline CSS and SVG, no\n"
                 "network.\n";
    return 0;
  }
  DLLM_CHECK(!p.inputs.empty(), "give at least one input JSON file (see dllm-bench report --help)");
  DLLM_CHECK(!p.out.empty(), "give the output file with -o OUT.html");
  std::vector<json> records;
  for (const std::string& in : p.inputs) records.push_back(read_json(in));
  write_file_atomic(p.out, render_html(records));
  std::printf("html: %s\n", p.out.c_str());
  return 0;
}

int run_compare(int argc, char** argv) {
  const Parsed p = parse(argc, argv, "compare");
  if (p.help) {
    std::cout << "usage: dllm-bench compare A.json B.json [--threshold R] [-o OUT.json]\n\n"
                 "Compares report B with report A configuration by configuration: decode tokens/s and speedup\n"
                 "(Welch's t-test on the repetition samples, alpha 0.05) and the deterministic tokens/forward.\n"
                 "A significant slowdown larger than R (default 0.05 = 5 %) is a regression: exit code 4.\n";
    return 0;
  }
  DLLM_CHECK(p.inputs.size() == 2, "give exactly two reports, A.json B.json (see dllm-bench compare --help)");
  const json a = read_json(p.inputs[0]), b = read_json(p.inputs[1]);
  const Comparison c = compare_reports(a, b, CompareOptions{p.threshold, 0.05});
  std::cout << c.table;
  if (!p.out.empty())
    write_file_atomic(p.out, json{{"comparisons", c.json}, {"regressions", c.regressions}}.dump(1) + "\n");
  std::printf("%d regression(s) beyond %.1f %%\n", c.regressions, 100 * p.threshold);
  return c.regressions ? 4 : 0;
}

int run_merge(int argc, char** argv) {
  const Parsed p = parse(argc, argv, "merge");
  if (p.help) {
    std::cout << "usage: dllm-bench merge A.json B.json... -o OUT.json\n\n"
                 "Merges the reports of the shards of one benchmark run (dllm-bench bench --shard I/N) into one\n"
                 "report, which dllm-bench report renders. The inputs must share the schema version, git commit,\n"
                 "model, suite and settings, and no point may be in two of them.\n";
    return 0;
  }
  DLLM_CHECK(!p.inputs.empty(), "give the shard reports to merge (see dllm-bench merge --help)");
  DLLM_CHECK(!p.out.empty(), "give the output file with -o OUT.json");
  std::vector<NamedReport> inputs;
  for (const std::string& in : p.inputs) {
    inputs.push_back({in, read_json(in)});
    DLLM_CHECK(is_report(inputs.back().report), in, ": not a dllm-bench report");
  }
  const json merged = merge_reports(inputs);
  write_file_atomic(p.out, merged.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
  std::printf("merged %zu reports, %zu points: %s\n", inputs.size(), merged["points"].size(), p.out.c_str());
  return 0;
}

}  // namespace dllm::cli
