#include "engine/backend/memory.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/check.h"
#include "engine/backend/kv_cache.h"

namespace dllm {

namespace {

// Saturating at INT64_MAX: an absurd run (a huge batch times a huge context) must be refused, not
// wrap around to a small number that fits.
int64_t mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
int64_t add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

}  // namespace

int64_t MemoryNeed::total() const { return add(add(weights, kv_cache), workspace); }

MemoryNeed memory_need(const ModelConfig& c, int64_t weight_bytes, const RunShape& s, DType kv_dtype) {
  MemoryNeed m;
  m.weights = weight_bytes;
  m.kv_cache = mul(mul(c.kv_floats_per_token() * int64_t(dtype_size(kv_dtype)), s.sequences), s.context);
  if (c.arch == Arch::zaya) {  // the recurrent CCA ring: [B, Ly, ring, C + Vh] floats (KvCache)
    const int64_t ring = std::min<int64_t>(s.context, KvCache::kRecurrentRing);
    const int64_t width = int64_t(c.cca_channels()) + c.value_shift_width();
    m.kv_cache =
        add(m.kv_cache, mul(mul(mul(int64_t(c.num_layers) * int64_t(sizeof(float)), width), ring), s.sequences));
  }
  // Transformer activations per pass token: residual, normed input, q, k, v, attention output,
  // o/down projection, gate, up: [T, 4D + 2*Hq*Dh + 2*Hkv*Dh + 2F]; the logits [T, V]; attention
  // scores of one query against the whole context, per head: [T, Hq, S].
  const int64_t q = int64_t(c.num_heads) * c.head_dim, kv = int64_t(c.num_kv_heads) * c.head_dim;
  const int64_t per_token =
      add(4LL * c.hidden_size + 2 * q + 2 * kv + 2LL * c.intermediate_size + c.vocab_size, mul(c.num_heads, s.context));
  m.workspace = mul(mul(per_token, s.pass_tokens), int64_t(sizeof(float)));
  return m;
}

namespace {

std::optional<int64_t> read_number(const std::string& path) {
  std::ifstream f(path);
  std::string text;
  if (!(f >> text) || text == "max") return std::nullopt;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A cgroup v1 "no limit" is a huge page-rounded number; anything above 2^60 means unlimited.
constexpr int64_t kUnlimited = int64_t(1) << 60;

}  // namespace

std::optional<MemoryLimit> available_memory(const std::string& meminfo, const std::string& cgroup) {
  std::optional<MemoryLimit> best;
  auto consider = [&](int64_t bytes, const std::string& source) {
    if (!best || bytes < best->bytes) best = MemoryLimit{std::max<int64_t>(bytes, 0), source};
  };
  std::ifstream f(meminfo);
  for (std::string line; std::getline(f, line);) {
    long long kb = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kb) == 1) consider(kb * 1024, "MemAvailable in " + meminfo);
  }
  for (const auto& [limit, usage] : {std::pair{"/memory.max", "/memory.current"},
                                     std::pair{"/memory/memory.limit_in_bytes", "/memory/memory.usage_in_bytes"}}) {
    const auto max = read_number(cgroup + limit);
    if (!max || *max >= kUnlimited) continue;
    consider(*max - read_number(cgroup + usage).value_or(0), "the cgroup limit " + cgroup + limit + " minus its use");
  }
  return best;
}

int64_t parse_memory_size(const std::string& text, const std::string& flag) {
  std::istringstream in(text);
  double value = 0;
  std::string unit;
  const bool number = bool(in >> value);
  in >> unit;
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "k" || unit == "K" || unit == "KB" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  std::string rest;
  DLLM_CHECK(number && scale > 0 && !(in >> rest) && std::isfinite(value) && value > 0 && value * scale < 9e18, flag,
             " must be a positive size such as 2G, 512M or 1048576, got '", text, "'");
  return int64_t(value * scale);
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

void check_memory(const MemoryNeed& need, const std::optional<int64_t>& max_memory,
                  const std::optional<MemoryLimit>& available, const std::string& what) {
  const std::string breakdown = format_bytes(need.total()) + " (weights " + format_bytes(need.weights) + ", KV cache " +
                                format_bytes(need.kv_cache) + ", workspace " + format_bytes(need.workspace) + ")";
  const std::string advice =
      ": use a smaller model, fewer sequences (--batch-sizes), a shorter prompt or fewer --max-new-tokens";
  if (max_memory)
    DLLM_CHECK(need.total() <= *max_memory, what, " needs ", breakdown, ", more than --max-memory ",
               format_bytes(*max_memory), advice, ", or raise --max-memory");
  if (available)
    DLLM_CHECK(need.total() <= available->bytes, what, " needs ", breakdown, ", more than the ",
               format_bytes(available->bytes), " available (", available->source, ")", advice);
}

}  // namespace dllm
