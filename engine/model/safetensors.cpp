#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/check.h"

namespace dllm {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The reference safetensors implementation refuses headers above this size; a larger length means
// the file is not safetensors at all, and we must not try to parse gigabytes as JSON.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr const char* kSingleFile = "model.safetensors";

// Every message starts with the file it is about.
template <typename... Parts>
[[noreturn]] void fail_at(const std::string& path, const Parts&... parts) {
  fail(path, ": ", parts...);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string range_str(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + "," + std::to_string(end) + ")";
}

// ---------------------------------------------------------------------------------------------
// Reader

// Maps the whole file read-only. The descriptor is closed before returning: the mapping keeps the
// file contents reachable on its own.
std::pair<void*, size_t> map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail_at(path, "cannot open (", std::strerror(errno), "): check that the path is right and the file is readable");
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_at(path, "cannot stat (", std::strerror(errno), ")");
  if (!S_ISREG(st.st_mode)) fail_at(path, "is not a regular file: point at a .safetensors file");
  const auto size = static_cast<size_t>(st.st_size);
  if (size < 8)
    fail_at(path, "the file is ", size,
            " bytes, shorter than 8 bytes (the header length alone): the file is truncated: "
            "re-download or re-export it");
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) fail_at(path, "cannot mmap (", std::strerror(errno), ")");
  return {map, size};
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The value as a count (a non-negative integer that fits in int64), or nullopt.
std::optional<uint64_t> as_count(const json& v) {
  if (!v.is_number_unsigned()) return std::nullopt;  // nlohmann parses every integer >= 0 as unsigned
  const auto n = v.get<uint64_t>();
  if (n > uint64_t(INT64_MAX)) return std::nullopt;
  return n;
}

// The tensor's element type: an engine dtype, or a raw one (F8_E4M3, U8) of quantized weights.
void parse_dtype(const std::string& path, const std::string& name, const json& entry, TensorInfo& info) {
  const auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string())
    fail_at(path, "tensor ", name, " has no \"dtype\" string: re-export the checkpoint");
  const auto& s = it->get_ref<const std::string&>();
  info.raw = s == "F8_E4M3" ? RawType::f8_e4m3 : s == "U8" ? RawType::u8 : RawType::none;
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    if (s == dtype_name(t)) info.dtype = t;
  if (info.raw == RawType::none && s != dtype_name(info.dtype))
    fail_at(path, "unsupported dtype ", s, " for tensor ", name,
            ": convert to bf16/f16/f32 (or FP8 / MXFP4 quantized weights)");
}

size_t element_size(const TensorInfo& t) { return t.raw == RawType::none ? dtype_size(t.dtype) : 1; }
std::string element_name(const TensorInfo& t) {
  return t.raw == RawType::f8_e4m3 ? "F8_E4M3" : t.raw == RawType::u8 ? "U8" : dtype_name(t.dtype);
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& name, const json& entry) {
  const auto it = entry.find("shape");
  if (it == entry.end() || !it->is_array())
    fail_at(path, "tensor ", name, " has no \"shape\" array: re-export the checkpoint");
  std::vector<int64_t> shape;
  for (const json& d : *it) {
    if (d.is_number_integer() && !d.is_number_unsigned())
      fail_at(path, "shape of tensor ", name, " has a negative dimension ", d.get<int64_t>(),
              ": the file is corrupt: re-export the checkpoint");
    const auto n = as_count(d);
    if (!n)
      fail_at(path, "shape of tensor ", name, " has a dimension ", d.dump(),
              " that is not a non-negative integer: re-export the checkpoint");
    shape.push_back(int64_t(*n));
  }
  return shape;
}

// Bytes the shape needs, refusing shapes whose size does not fit in 64 bits.
uint64_t shape_nbytes(const std::string& path, const std::string& name, const std::vector<int64_t>& shape,
                      size_t element) {
  uint64_t nbytes = element;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(nbytes, uint64_t(d), &nbytes))
      fail_at(path, "shape ", shape_str(shape), " of tensor ", name,
              " is impossibly large: the file is corrupt: re-export the checkpoint");
  return nbytes;
}

std::pair<uint64_t, uint64_t> parse_offsets(const std::string& path, const std::string& name, const json& entry) {
  const auto it = entry.find("data_offsets");
  std::optional<uint64_t> begin, end;
  if (it != entry.end() && it->is_array() && it->size() == 2) {
    begin = as_count((*it)[0]);
    end = as_count((*it)[1]);
  }
  if (!begin || !end || *begin > *end)
    fail_at(path, "tensor ", name,
            " needs \"data_offsets\": [begin, end] with 0 <= begin <= end: re-export the "
            "checkpoint");
  return {*begin, *end};
}

struct Range {
  uint64_t begin, end;  // within the data section
  std::string name;
};

struct ParsedTensor {
  TensorInfo info;
  Range range;
};

// `data` is the start of the data section, `data_start` its offset in the file.
ParsedTensor parse_tensor(const std::string& path, const std::string& name, const json& entry,
                          const unsigned char* data, uint64_t data_start, uint64_t file_size) {
  if (!entry.is_object()) fail_at(path, "header entry ", name, " is not an object: re-export the checkpoint");
  TensorInfo info;
  info.name = name;
  info.file = path;
  parse_dtype(path, name, entry, info);
  info.shape = parse_shape(path, name, entry);
  const uint64_t nbytes = shape_nbytes(path, name, info.shape, element_size(info));
  const auto [begin, end] = parse_offsets(path, name, entry);
  if (end - begin != nbytes)
    fail_at(path, "tensor ", name, " has data_offsets ", range_str(begin, end), " holding ", end - begin,
            " bytes but shape ", shape_str(info.shape), " of ", element_name(info), " needs ", nbytes,
            ": re-export the checkpoint");
  if (end > file_size - data_start)
    fail_at(path, "tensor ", name, " data ", range_str(begin, end), " lies past the end of the file (size ", file_size,
            "): the file is truncated: re-download or re-export it");
  // The mapping is page-aligned, so an aligned file offset gives an aligned pointer; kernels read
  // the data in place as float / uint16_t and must not see misaligned addresses.
  if ((data_start + begin) % element_size(info) != 0)
    fail_at(path, "tensor ", name, " data at file offset ", data_start + begin, " is unaligned for ",
            element_name(info), " (needs a multiple of ", element_size(info), "): re-export the checkpoint");
  info.data = data + begin;
  info.nbytes = nbytes;
  return {std::move(info), {begin, end, name}};
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& value) {
  if (!value.is_object()) fail_at(path, "__metadata__ is not an object: re-export the checkpoint");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      fail_at(path, "__metadata__ value for ", key, " is ", v.dump(), ", not a string: re-export the checkpoint");
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

void check_no_overlap(const std::string& path, std::vector<Range> ranges) {
  std::erase_if(ranges, [](const Range& r) { return r.begin == r.end; });  // occupy no bytes
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  // Sorted by begin, any overlap shows up between neighbours first.
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range& a = ranges[i - 1];
    const Range& b = ranges[i];
    if (b.begin < a.end)
      fail_at(path, "tensors ", a.name, " ", range_str(a.begin, a.end), " and ", b.name, " ", range_str(b.begin, b.end),
              " overlap: the file is corrupt: re-export the checkpoint");
  }
}

json parse_header_json(const std::string& path, const unsigned char* p, uint64_t n) {
  json header;
  try {
    header = json::parse(p, p + n);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number that overflows
    fail_at(path, "header is not valid JSON (", e.what(),
            "): the file is corrupt or not safetensors: re-export the checkpoint");
  }
  if (!header.is_object())
    fail_at(path,
            "header is not a JSON object: the file is not safetensors: re-export the "
            "checkpoint");
  return header;
}

void parse_file(const std::string& path, const unsigned char* base, size_t size,
                std::map<std::string, TensorInfo>& tensors, std::map<std::string, std::string>& metadata) {
  const uint64_t n = read_le64(base);
  if (n > kMaxHeaderBytes)
    fail_at(path, "header length ", n,
            " is absurdly large (over 100 MB): the file is corrupt or "
            "not safetensors: re-download or re-export it");
  if (n > size - 8)
    fail_at(path, "header length ", n, " is larger than the file (", size,
            " bytes): the file is truncated: re-download or re-export it");
  const json header = parse_header_json(path, base + 8, n);
  const uint64_t data_start = 8 + n;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      metadata = parse_metadata(path, entry);
      continue;
    }
    ParsedTensor t = parse_tensor(path, name, entry, base + data_start, data_start, size);
    ranges.push_back(std::move(t.range));
    tensors.emplace(name, std::move(t.info));
  }
  check_no_overlap(path, std::move(ranges));
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

// Without throwing std::filesystem_error: an unreadable path counts as absent and the open that
// follows reports it as a dllm::Error.
bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}
bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_at(path, "cannot open (", std::strerror(errno), ")");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number that overflows
    fail_at(path, "is not valid JSON (", e.what(), "): re-download the checkpoint");
  }
}

// The index's weight_map grouped by shard: {shard file: [tensor names]}.
std::map<std::string, std::vector<std::string>> read_weight_map(const std::string& index_path) {
  const json index = read_json_file(index_path);
  const auto it = index.is_object() ? index.find("weight_map") : index.end();
  if (it == index.end() || !it->is_object())
    fail_at(index_path, "has no \"weight_map\" object: re-download the checkpoint");
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [tensor, shard] : it->items()) {
    if (!shard.is_string())
      fail_at(index_path, "weight_map entry for ", tensor,
              " is not a file name: re-download the "
              "checkpoint");
    shards[shard.get<std::string>()].push_back(tensor);
  }
  return shards;
}

void add_tensors(const SafetensorsFile& file, std::map<std::string, const TensorInfo*>& index) {
  for (const auto& [name, info] : file.tensors()) {
    const auto [it, inserted] = index.emplace(name, &info);
    if (!inserted)
      fail_at(file.path(), "tensor ", name, " is also in ", it->second->file,
              ": the checkpoint is inconsistent: re-export it");
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

struct Chunk {
  const void* data;
  size_t size;
};

// Readers never see a half-written file: the bytes go to path.tmp, reach the disk, and only then
// replace path.
void write_atomically(const std::string& path, const std::vector<Chunk>& chunks) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    fail_at(path, "cannot create ", tmp, " (", std::strerror(errno),
            "): check that the directory exists and is writable");
  bool ok = true;
  for (const Chunk& c : chunks) ok = ok && (c.size == 0 || std::fwrite(c.data, 1, c.size, f) == c.size);
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    fail_at(path, "cannot write (", std::strerror(err), "): check free disk space and permissions");
  }
}

uint64_t tensor_nbytes(const TensorToWrite& t) {
  uint64_t n = dtype_size(t.dtype);
  for (int64_t d : t.shape) n *= uint64_t(d);
  return n;
}

void validate(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  std::set<std::string> names;
  for (const TensorToWrite& t : tensors) {
    if (t.name == "__metadata__" || !names.insert(t.name).second)
      fail_at(path, "tensor name ", t.name, " is reserved or given twice: names must be unique");
    for (int64_t d : t.shape)
      if (d < 0) fail_at(path, "tensor ", t.name, " has negative shape ", shape_str(t.shape));
    if (!t.data && tensor_nbytes(t) > 0) fail_at(path, "tensor ", t.name, " has no data");
  }
}

// Wider elements first (stable, so same-width tensors keep the caller's order): the header is
// padded to 8 bytes and every tensor is a whole number of elements, so each tensor then starts at a
// multiple of its element size without gaps in the data section, which readers reject.
std::vector<const TensorToWrite*> aligned_order(const std::vector<TensorToWrite>& tensors) {
  std::vector<const TensorToWrite*> order;
  for (const TensorToWrite& t : tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    return dtype_size(a->dtype) > dtype_size(b->dtype);
  });
  return order;
}

std::string header_text(const std::string& path, const std::vector<const TensorToWrite*>& order,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* t : order) {
    const uint64_t end = offset + tensor_nbytes(*t);
    header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::type_error&) {
    fail_at(path, "tensor names and metadata must be valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section then starts 8-byte aligned
  return text;
}

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i, n);
  return buf;
}

// Greedy: a shard takes tensors in order until the next one would push it past max_bytes.
std::vector<std::vector<TensorToWrite>> split_into_shards(const std::vector<TensorToWrite>& tensors, size_t max_bytes) {
  std::vector<std::vector<TensorToWrite>> shards;
  uint64_t filled = 0;
  for (const TensorToWrite& t : tensors) {
    const uint64_t n = tensor_nbytes(t);
    if (shards.empty() || (!shards.back().empty() && filled + n > max_bytes)) {
      shards.emplace_back();
      filled = 0;
    }
    shards.back().push_back(t);
    filled += n;
  }
  return shards;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  // Owned by `file` from here on, so a validation error below unmaps it.
  std::tie(file->map_, file->map_size_) = map_file(path);
  parse_file(path, static_cast<const unsigned char*>(file->map_), file->map_size_, file->tensors_, file->metadata_);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

Checkpoint Checkpoint::open(const std::string& path) {
  Checkpoint cp;
  cp.path_ = path;
  const fs::path dir(path);
  const std::string index_path = (dir / kIndexFile).string();
  const std::string single_path = (dir / kSingleFile).string();

  if (!is_dir(path)) {
    cp.files_.push_back(SafetensorsFile::open(path));  // reports a missing path itself
  } else if (exists(index_path)) {
    for (const auto& [shard, names] : read_weight_map(index_path)) {
      const std::string shard_path = (dir / shard).string();
      if (!exists(shard_path))
        fail_at(index_path, "shard ", shard, " (listed for tensor ", names.front(), ") does not exist in ", path,
                ": re-download the checkpoint");
      std::shared_ptr<SafetensorsFile> file = SafetensorsFile::open(shard_path);
      for (const std::string& name : names)
        if (!file->tensors().count(name))
          fail_at(index_path, "tensor ", name, " is listed in shard ", shard,
                  " but that file does not contain it: re-download or re-export the checkpoint");
      cp.files_.push_back(std::move(file));
    }
  } else if (exists(single_path)) {
    cp.files_.push_back(SafetensorsFile::open(single_path));
  } else {
    fail_at(path, "no ", kSingleFile, " or ", kIndexFile, ": point --model at a checkpoint directory");
  }
  for (const auto& file : cp.files_) add_tensors(*file, cp.index_);
  return cp;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const TensorInfo& Checkpoint::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t)
    fail_at(path_, "tensor ", name,
            " is missing: the checkpoint does not match the model (check --model and the config)");
  return *t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : index_) names.push_back(name);
  return names;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  validate(path, tensors);
  const std::vector<const TensorToWrite*> order = aligned_order(tensors);
  const std::string header = header_text(path, order, metadata);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t(header.size()) >> (8 * i));
  std::vector<Chunk> chunks = {{len, 8}, {header.data(), header.size()}};
  for (const TensorToWrite* t : order) chunks.push_back({t->data, size_t(tensor_nbytes(*t))});
  write_atomically(path, chunks);
}

void write_safetensors_sharded(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                               size_t max_shard_bytes) {
  validate(dir, tensors);  // names must be unique across shards, not just within one
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail_at(dir, "cannot create the directory (", ec.message(), ")");

  const auto shards = split_into_shards(tensors, max_shard_bytes);
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shard_name(i + 1, shards.size());
    write_safetensors((fs::path(dir) / name).string(), shards[i]);
    for (const TensorToWrite& t : shards[i]) {
      weight_map[t.name] = name;
      total += tensor_nbytes(t);
    }
  }
  const nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const std::string text = index.dump(2) + "\n";
  write_atomically((fs::path(dir) / kIndexFile).string(), {{text.data(), text.size()}});
}

}  // namespace dllm
