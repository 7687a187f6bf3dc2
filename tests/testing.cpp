#include "tests/testing.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace dllm::testutil {

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double max_diff = 0, max_ref = 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(a[i]) - double(b[i])));
    max_ref = std::max(max_ref, std::fabs(double(b[i])));
  }
  return a.size() == b.size() ? max_diff / max_ref : INFINITY;
}

std::string fresh_dir(const std::string& stem) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("dllm_test_" + stem + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

int run_cli(const std::string& args, std::string* output) {
  const std::string cmd = std::string(DLLM_BENCH_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace dllm::testutil
