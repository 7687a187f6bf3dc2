// Memory planning: what a run needs (weights, KV cache, workspace) is computed before anything is
// allocated and compared with what the machine allows (MemAvailable, the cgroup limit) and with
// --max-memory, so that a run too large is refused with a clear error instead of being killed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/model.h"

namespace dllm {

// The shape of a run: how many sequences, how many cache slots each, the largest pass.
struct RunShape {
  int sequences = 1;
  int64_t context = 0;      // KV slots per sequence
  int64_t pass_tokens = 1;  // tokens of the largest forward pass
};

struct MemoryNeed {
  int64_t weights = 0;    // as stored (memory-mapped checkpoints are read into the page cache); the CPU
                          // backend's tiled copies of the linear layers come on top only where the memory
                          // then available holds them (CpuBackend::resident), else it reads the weights as stored
  int64_t kv_cache = 0;   // K and V (kv_dtype) of every layer, sequence and slot
  int64_t workspace = 0;  // activations of the largest pass, its attention scores and logits
  int64_t total() const;  // saturates at INT64_MAX, as every size here does
};

MemoryNeed memory_need(const ModelConfig& cfg, int64_t weight_bytes, const RunShape& shape,
                       DType kv_dtype = DType::f32);

struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  // where the number comes from, for the error message
};

// The tightest of MemAvailable (`meminfo`, normally /proc/meminfo) and the cgroup limit minus its
// current use (`cgroup`, normally /sys/fs/cgroup: v2 memory.max / memory.current, or v1
// memory/memory.limit_in_bytes / memory.usage_in_bytes); nullopt when neither can be read.
std::optional<MemoryLimit> available_memory(const std::string& meminfo = "/proc/meminfo",
                                            const std::string& cgroup = "/sys/fs/cgroup");

// "2G", "512M", "64k", "1.5G" or plain bytes (suffixes are powers of 1024). Throws naming `flag`.
int64_t parse_memory_size(const std::string& text, const std::string& flag);

// Throws an error listing the need and naming the limit it exceeds: `max_memory` (--max-memory)
// or `available`. `what` names the run (model and backend) in the message.
void check_memory(const MemoryNeed& need, const std::optional<int64_t>& max_memory,
                  const std::optional<MemoryLimit>& available, const std::string& what);

std::string format_bytes(int64_t bytes);

}  // namespace dllm
