// safetensors checkpoints: a memory-mapped reader that validates everything it is given (header
// length, JSON, dtypes, shapes, offsets inside the file, no overlaps), sharded checkpoints through
// model.safetensors.index.json, and an atomic writer (temporary file, then rename).
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
// [begin, end)}, "__metadata__": {str: str}}, then the data section; offsets are relative to it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace dllm {

// Element types beyond the engine's dtypes: the parts of quantized weights, which the model
// dequantizes on load (quantized.h).
enum class RawType : uint8_t { none, f8_e4m3, u8 };

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;     // unused where raw is not none
  RawType raw = RawType::none;  // F8_E4M3 or U8: 1 byte an element
  std::vector<int64_t> shape;
  const void* data = nullptr;  // inside the mapping, valid while the owning file is open
  size_t nbytes = 0;
  std::string file;  // the file it came from, for error messages
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// One mapped .safetensors file. Throws dllm::Error naming the file and the problem.
class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint directory: model.safetensors, or the shards listed by
// model.safetensors.index.json ("weight_map": {tensor: shard file}). A single file path also works.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& path);

  const std::string& path() const { return path_; }
  // nullptr when absent
  const TensorInfo* find(const std::string& name) const;
  // Throws "<path>: tensor NAME is missing" when absent.
  const TensorInfo& get(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::string path_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*> index_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // numel * dtype_size bytes
};

// Writes one .safetensors file atomically (path + ".tmp", then rename): the JSON header padded with
// spaces to a multiple of 8 bytes, tensor data contiguous, f32 tensors before 16-bit ones (otherwise
// in the given order) so that every tensor is aligned. Throws dllm::Error naming the path when it
// cannot be written.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes `dir`/model-0000i-of-0000n.safetensors shards of at most max_shard_bytes each (a tensor
// larger than that gets a shard of its own) and `dir`/model.safetensors.index.json.
void write_safetensors_sharded(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                               size_t max_shard_bytes);

}  // namespace dllm
