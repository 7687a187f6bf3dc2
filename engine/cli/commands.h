// The dllm-bench commands. Each returns the process exit code and throws dllm::Error on bad input.
#pragma once

namespace dllm::cli {

int run_generate(int argc, char** argv);
int run_logits(int argc, char** argv);
int run_info(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_export(int argc, char** argv);
int run_verify(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_report(int argc, char** argv);
int run_compare(int argc, char** argv);
int run_merge(int argc, char** argv);     // engine/cli/report.cpp
int run_probe(int argc, char** argv);     // engine/cli/perf.cpp
int run_stepcost(int argc, char** argv);  // engine/cli/perf.cpp
// Dispatches argv[1] to a command; prints errors and returns non-zero on failure.
int run_main(int argc, char** argv);

}  // namespace dllm::cli
