#include "engine/bench/provenance.h"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/clock.h"
#include "core/sha256.h"
#include "engine/model/model.h"
#include "kernels/cpu/simd.h"

#ifndef DLLM_SOURCE_DIR
#define DLLM_SOURCE_DIR "."
#endif
#ifndef DLLM_BUILD_TYPE
#define DLLM_BUILD_TYPE "unknown"
#endif
#ifndef DLLM_COMPILER
#define DLLM_COMPILER "unknown"
#endif
#ifndef DLLM_CXX_FLAGS
#define DLLM_CXX_FLAGS "unknown"
#endif

namespace dllm {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// stdout of a shell command with its trailing newline removed; "" when it fails.
std::string shell(const std::string& command) {
  std::FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  std::array<char, 4096> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

json git_info() {
  const std::string dir = "git -C '" DLLM_SOURCE_DIR "' ";
  const std::string commit = shell(dir + "rev-parse HEAD");
  if (commit.empty()) return {{"commit", nullptr}, {"dirty", nullptr}, {"note", "not a git checkout or git missing"}};
  return {{"commit", commit}, {"dirty", !shell(dir + "status --porcelain --untracked-files=no").empty()}};
}

// The value of the first "key : value" line of a /proc file.
std::string proc_field(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  }
  return "";
}

json host_info() {
  utsname u{};
  uname(&u);
  std::string flags = " ";  // appended, not `" " + s + " "`: GCC 12 warns falsely (-Wrestrict) on that
  flags += proc_field("/proc/cpuinfo", "flags");
  flags += " ";
  json isa = json::array();
  for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) isa.push_back(f);
  const std::string mem = proc_field("/proc/meminfo", "MemTotal");
  return {{"cpu", proc_field("/proc/cpuinfo", "model name")},
          {"logical_cpus", int(std::thread::hardware_concurrency())},
          {"isa", isa},
          {"cpu_kernel_path", cpu::isa_name(cpu::best_isa())},  // the path the cpu backend's kernels took
          {"memory_kib", mem.empty() ? 0 : std::stoll(mem)},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"machine", u.machine}};
}

json model_info(const ProvenanceInputs& in) {
  json m = {{"source", in.model_source}, {"config", in.model_config}, {"mask_token_key", in.mask_token_key}};
  if (is_preset(in.model_source)) {
    m["weights"] = {{"kind", "random"}, {"seed", in.weights_seed}};
    return m;
  }
  std::vector<std::string> files;  // every *.safetensors of the checkpoint, sorted
  for (const auto& e : fs::directory_iterator(in.model_source))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  json sums = json::object();
  Sha256 all;
  for (const std::string& f : files) {
    const std::string h = sha256_file((fs::path(in.model_source) / f).string());
    sums[f] = h;
    const std::string line = f + " " + h + "\n";
    all.update(line.data(), line.size());
  }
  m["weights"] = {{"kind", "checkpoint"}, {"files_sha256", sums}, {"sha256", all.hex()}};
  return m;
}

}  // namespace

std::string default_probe_path() {
  if (const char* p = std::getenv("DLLM_PROBE"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/dllm-bench/probe.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/dllm-bench/probe.json";
  return "probe.json";
}

json collect_provenance(const ProvenanceInputs& in) {
  json cmd = json::array();
  for (const std::string& s : in.command_line) cmd.push_back(s);
  json p = {{"git", git_info()},
            {"build", {{"type", DLLM_BUILD_TYPE}, {"compiler", DLLM_COMPILER}, {"flags", DLLM_CXX_FLAGS}}},
            {"host", host_info()},
            {"backend", in.backend},
            {"gpu", in.gpu},
            {"date_utc", utc_now()},
            {"command_line", cmd},
            {"seeds", in.seeds},
            {"model", model_info(in)}};
  if (!in.dataset_path.empty())
    p["dataset"] = {{"path", in.dataset_path}, {"sha256", sha256_file(in.dataset_path)}};
  else
    p["dataset"] = nullptr;
  const std::string probe = in.probe_path.empty() ? default_probe_path() : in.probe_path;
  p["machine_limits"] = nullptr;
  std::ifstream f(probe);
  DLLM_CHECK(f || in.probe_path.empty(), "cannot read the probe file ", probe, ": run `dllm-bench probe --out ", probe,
             "` first");
  if (f) {
    json limits = json::parse(f, nullptr, false);
    DLLM_CHECK(!limits.is_discarded() && limits.is_object(), probe,
               " is not a probe record (JSON object): rerun `dllm-bench probe`");
    limits["path"] = probe;
    p["machine_limits"] = limits;
  }
  return p;
}

}  // namespace dllm
