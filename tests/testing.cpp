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

std::string byte_symbol(int b) {
  const auto prints = [](int k) { return (k >= 0x21 && k <= 0x7E) || (k >= 0xA1 && k <= 0xAC) || k >= 0xAE; };
  int cp = b;
  if (!prints(b)) {
    cp = 256;
    for (int k = 0; k < b; ++k) cp += !prints(k);
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(char(cp));
  } else {
    s.push_back(char(0xC0 | (cp >> 6)));
    s.push_back(char(0x80 | (cp & 0x3F)));
  }
  return s;
}

nlohmann::json byte_level_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  using nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_symbol(b)] = b;
  json merge_list = json::array();
  int next = 256;
  for (const auto& [l, r] : merges) {
    vocab[l + r] = next++;
    merge_list.push_back(l + " " + r);
  }
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", merge_list}}}};
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
