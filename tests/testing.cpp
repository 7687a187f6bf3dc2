#include "tests/testing.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace dllm::testutil {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

StoredWeights make_weights(int64_t rows, int64_t cols, DType dtype, uint32_t seed, float scale) {
  StoredWeights w;
  const std::vector<float> src = random_floats(size_t(rows * cols), seed, scale);
  w.bytes.resize(src.size() * dtype_size(dtype));
  w.values.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (dtype == DType::f32) reinterpret_cast<float*>(w.bytes.data())[i] = src[i];
    if (dtype == DType::bf16) reinterpret_cast<uint16_t*>(w.bytes.data())[i] = f32_to_bf16(src[i]);
    if (dtype == DType::f16) reinterpret_cast<uint16_t*>(w.bytes.data())[i] = f32_to_f16(src[i]);
    w.values[i] = load_as_f32(dtype, w.bytes.data(), i);
  }
  w.view = WeightView{dtype, w.bytes.data(), rows, cols};
  return w;
}

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
