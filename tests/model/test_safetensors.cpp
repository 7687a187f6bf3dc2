#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "engine/model/safetensors.h"

namespace fs = std::filesystem;
using dllm::Checkpoint;
using dllm::DType;
using dllm::SafetensorsFile;
using dllm::TensorToWrite;

namespace {

// Tensor contents: a byte pattern, distinct per seed.
std::vector<uint8_t> pattern(size_t nbytes, uint8_t seed) {
  std::vector<uint8_t> v(nbytes);
  for (size_t i = 0; i < nbytes; ++i) v[i] = uint8_t(i * 31 + seed);
  return v;
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char(v >> (8 * i));
  return s;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Passes when fn throws dllm::Error whose message names `path` and contains `phrase`.
testing::AssertionResult throws_error(const std::function<void()>& fn, const std::string& path,
                                      const std::string& phrase) {
  try {
    fn();
  } catch (const dllm::Error& e) {
    const std::string msg = e.what();
    if (msg.find(path) == std::string::npos || msg.find(phrase) == std::string::npos)
      return testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << path << "\" or \"" << phrase
                                         << "\"";
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "no dllm::Error thrown";
}

testing::AssertionResult open_fails(const std::string& path, const std::string& phrase) {
  return throws_error([&] { SafetensorsFile::open(path); }, path, phrase);
}

// A tensor to write together with the bytes it points at.
struct Tensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  Tensor(std::string n, DType t, std::vector<int64_t> s, uint8_t seed)
      : name(std::move(n)), dtype(t), shape(std::move(s)) {
    size_t numel = 1;
    for (int64_t d : shape) numel *= size_t(d);
    bytes = pattern(numel * dllm::dtype_size(dtype), seed);
  }
  TensorToWrite to_write() const { return {name, dtype, shape, bytes.data()}; }
};

std::vector<TensorToWrite> to_write(const std::vector<Tensor>& tensors) {
  std::vector<TensorToWrite> out;
  for (const Tensor& t : tensors) out.push_back(t.to_write());
  return out;
}

void expect_tensor(const dllm::TensorInfo& info, const Tensor& t) {
  SCOPED_TRACE(t.name);
  EXPECT_EQ(info.name, t.name);
  EXPECT_EQ(info.dtype, t.dtype);
  EXPECT_EQ(info.shape, t.shape);
  ASSERT_EQ(info.nbytes, t.bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(info.data) % dllm::dtype_size(t.dtype), 0u);
  if (!t.bytes.empty()) {
    EXPECT_EQ(std::memcmp(info.data, t.bytes.data(), t.bytes.size()), 0);
  }
}

}  // namespace

class Safetensors : public testing::Test {
 protected:
  void SetUp() override {
    const std::string test = testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("dllm_safetensors_" + std::to_string(::getpid()) + "_" + test);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file made of the given header text, padded with spaces to 8 bytes as writers do (so that
  // data offsets in the header are also alignments), and data_bytes zero bytes.
  std::string write_raw(std::string header, size_t data_bytes) const {
    header.append((8 - header.size() % 8) % 8, ' ');
    const std::string p = path("raw.safetensors");
    write_bytes(p, le64(header.size()) + header + std::string(data_bytes, '\0'));
    return p;
  }

  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------
// Round trips

TEST_F(Safetensors, RoundTripsDtypesShapesAndMetadata) {
  const std::vector<Tensor> tensors = {
      {"w.f32", DType::f32, {3, 5, 7}, 1}, {"v.f32", DType::f32, {7}, 2},          {"w.f16", DType::f16, {1, 3, 1}, 3},
      {"scalar.bf16", DType::bf16, {}, 4}, {"empty.bf16", DType::bf16, {0, 4}, 5}, {"w.bf16", DType::bf16, {5, 3}, 6},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "odd shapes"}};
  const std::string p = path("model.safetensors");
  dllm::write_safetensors(p, to_write(tensors), metadata);

  const auto file = SafetensorsFile::open(p);
  EXPECT_EQ(file->path(), p);
  EXPECT_EQ(file->metadata(), metadata);
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (const Tensor& t : tensors) {
    expect_tensor(file->tensors().at(t.name), t);
    EXPECT_EQ(file->tensors().at(t.name).file, p);
  }
  EXPECT_EQ(file->tensors().at("scalar.bf16").numel(), 1);
  EXPECT_EQ(file->tensors().at("empty.bf16").numel(), 0);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST_F(Safetensors, PlacesWiderElementsFirstSoEveryTensorIsAligned) {
  // Written in the given order, the f32 would start at byte 2 of the data section.
  const std::vector<Tensor> tensors = {{"h", DType::f16, {}, 1}, {"f", DType::f32, {3}, 2}};
  const std::string p = path("model.safetensors");
  dllm::write_safetensors(p, to_write(tensors));

  const auto file = SafetensorsFile::open(p);
  for (const Tensor& t : tensors) expect_tensor(file->tensors().at(t.name), t);
}

TEST_F(Safetensors, WritesByteExactHeaderPaddedToAMultipleOf8) {
  const float values[2] = {1.0f, -2.0f};
  const std::string p = path("model.safetensors");
  dllm::write_safetensors(p, {{"a", DType::f32, {2}, values}}, {{"k", "v"}});

  std::string header = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 79u);
  header.append(1, ' ');  // 8 + 80 is a multiple of 8
  const std::string expected = le64(header.size()) + header + std::string(reinterpret_cast<const char*>(values), 8);
  EXPECT_EQ(read_bytes(p), expected);
}

TEST_F(Safetensors, OmitsEmptyMetadata) {
  const std::string p = path("model.safetensors");
  dllm::write_safetensors(p, {{"z", DType::f16, {0}, nullptr}});
  const std::string header = R"({"z":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}})";
  EXPECT_EQ(read_bytes(p), le64(56) + header + std::string(56 - header.size(), ' '));
}

TEST_F(Safetensors, ShardedRoundTripThroughTheIndex) {
  // 64-byte tensors and a 128-byte limit: 2 + 2 + 1 per shard, and the 256-byte one alone.
  std::vector<Tensor> tensors;
  for (int i = 0; i < 5; ++i)
    tensors.emplace_back("layer" + std::to_string(i), DType::f32, std::vector<int64_t>{16}, uint8_t(i));
  tensors.emplace_back("big", DType::bf16, std::vector<int64_t>{8, 16}, 9);
  const std::string dir = path("ckpt");
  dllm::write_safetensors_sharded(dir, to_write(tensors), 128);

  for (int i = 1; i <= 4; ++i)
    EXPECT_TRUE(fs::exists(dir + "/model-0000" + std::to_string(i) + "-of-00004.safetensors"));
  const auto index = nlohmann::json::parse(read_bytes(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 5 * 64 + 256);
  EXPECT_EQ(index["weight_map"]["layer2"], "model-00002-of-00004.safetensors");
  EXPECT_EQ(index["weight_map"]["big"], "model-00004-of-00004.safetensors");

  const Checkpoint ckpt = Checkpoint::open(dir);
  ASSERT_EQ(ckpt.names().size(), tensors.size());
  for (const Tensor& t : tensors) expect_tensor(ckpt.get(t.name), t);
  EXPECT_EQ(ckpt.find("absent"), nullptr);
}

TEST_F(Safetensors, CheckpointOpensAFileOrADirectoryWithModelSafetensors) {
  const Tensor t("w", DType::f32, {2, 3}, 7);
  dllm::write_safetensors(path("model.safetensors"), {t.to_write()});
  expect_tensor(Checkpoint::open(dir_.string()).get("w"), t);
  expect_tensor(Checkpoint::open(path("model.safetensors")).get("w"), t);
}

// ---------------------------------------------------------------------------------------------
// Bad files: each names the file and what is wrong

TEST_F(Safetensors, MissingFile) { EXPECT_TRUE(open_fails(path("nope.safetensors"), "cannot open")); }

TEST_F(Safetensors, FileShorterThan8Bytes) {
  write_bytes(path("short"), "abc");
  EXPECT_TRUE(open_fails(path("short"), "shorter than 8 bytes"));
}

TEST_F(Safetensors, TruncatedData) {
  const Tensor t("w", DType::f32, {4, 4}, 1);
  const std::string p = path("model.safetensors");
  dllm::write_safetensors(p, {t.to_write()});
  fs::resize_file(p, fs::file_size(p) - 4);
  EXPECT_TRUE(open_fails(p, "tensor w data [0,64) lies past the end of the file"));
  EXPECT_TRUE(open_fails(p, "truncated"));
}

TEST_F(Safetensors, HeaderLengthLargerThanTheFile) {
  const std::string p = path("raw.safetensors");
  write_bytes(p, le64(1000) + "{}");
  EXPECT_TRUE(open_fails(p, "header length 1000 is larger than the file"));
}

TEST_F(Safetensors, AbsurdHeaderLength) {
  const std::string p = path("raw.safetensors");
  write_bytes(p, le64(uint64_t(1) << 60) + "{}");
  EXPECT_TRUE(open_fails(p, "absurdly large"));
}

TEST_F(Safetensors, HeaderNotJson) { EXPECT_TRUE(open_fails(write_raw("{not json", 0), "not valid JSON")); }

// Found by fuzz_safetensors: a number too large for any JSON number type is an out_of_range, not a
// parse_error, and must still be a clear error rather than an uncaught exception.
TEST_F(Safetensors, HeaderNumberOverflow) {
  EXPECT_TRUE(
      open_fails(write_raw(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,16e18446744073709551615]}})", 0),
                 "not valid JSON"));
}

TEST_F(Safetensors, HeaderNotAnObject) { EXPECT_TRUE(open_fails(write_raw("[1,2]   ", 0), "not a JSON object")); }

TEST_F(Safetensors, UnsupportedDtype) {
  const std::string p = write_raw(R"({"w":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", 16);
  EXPECT_TRUE(open_fails(p, "unsupported dtype I64 for tensor w: convert to bf16/f16/f32"));
}

TEST_F(Safetensors, ShapeAndOffsetsDisagree) {
  const std::string p = write_raw(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12);
  EXPECT_TRUE(open_fails(p, "holding 12 bytes but shape [2,2] of F32 needs 16"));
}

TEST_F(Safetensors, OffsetsPastTheEnd) {
  const std::string p = write_raw(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", 16);
  EXPECT_TRUE(open_fails(p, "tensor w data [8,24) lies past the end of the file"));
}

TEST_F(Safetensors, OverlappingTensors) {
  const std::string p = write_raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  12);
  EXPECT_TRUE(open_fails(p, "tensors a [0,8) and b [4,12) overlap"));
}

TEST_F(Safetensors, UnalignedOffset) {
  const std::string p = write_raw(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                                  6);
  EXPECT_TRUE(open_fails(p, "tensor b data at file offset"));
  EXPECT_TRUE(open_fails(p, "is unaligned for F32"));
}

TEST_F(Safetensors, NegativeShapeDimension) {
  const std::string p = write_raw(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0);
  EXPECT_TRUE(open_fails(p, "negative dimension -1"));
}

TEST_F(Safetensors, NonStringMetadata) {
  EXPECT_TRUE(open_fails(write_raw(R"({"__metadata__":{"n":1}})", 0), "not a string"));
}

TEST_F(Safetensors, IndexNamesAMissingShard) {
  const std::string dir = path("ckpt");
  const Tensor a("a", DType::f32, {8}, 1), b("b", DType::f32, {8}, 2);
  dllm::write_safetensors_sharded(dir, {a.to_write(), b.to_write()}, 32);
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(dir); }, dir + "/model.safetensors.index.json",
                           "shard model-00002-of-00002.safetensors (listed for tensor b) does "
                           "not exist"));
}

TEST_F(Safetensors, IndexNamesATensorItsShardLacks) {
  const std::string dir = path("ckpt");
  const Tensor a("a", DType::f32, {8}, 1);
  dllm::write_safetensors_sharded(dir, {a.to_write()}, 32);
  write_bytes(dir + "/model.safetensors.index.json", R"({"weight_map":{"a":"model-00001-of-00001.safetensors",)"
                                                     R"("ghost":"model-00001-of-00001.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(dir); }, dir + "/model.safetensors.index.json",
                           "tensor ghost is listed in shard"));
}

TEST_F(Safetensors, TensorInTwoShards) {
  const std::string dir = path("ckpt");
  fs::create_directories(dir);
  const Tensor a("a", DType::f32, {8}, 1), b("b", DType::f32, {8}, 2);
  dllm::write_safetensors(dir + "/one.safetensors", {a.to_write()});
  dllm::write_safetensors(dir + "/two.safetensors", {a.to_write(), b.to_write()});
  write_bytes(dir + "/model.safetensors.index.json", R"({"weight_map":{"a":"one.safetensors","b":"two.safetensors"}})");
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(dir); }, dir + "/two.safetensors",
                           "tensor a is also in " + dir + "/one.safetensors"));
}

TEST_F(Safetensors, DirectoryWithoutCheckpoint) {
  EXPECT_TRUE(throws_error([&] { Checkpoint::open(dir_.string()); }, dir_.string(),
                           "no model.safetensors or model.safetensors.index.json"));
}

TEST_F(Safetensors, GetMissingTensor) {
  const Tensor t("w", DType::f32, {2}, 1);
  dllm::write_safetensors(path("model.safetensors"), {t.to_write()});
  const Checkpoint ckpt = Checkpoint::open(dir_.string());
  EXPECT_TRUE(throws_error([&] { ckpt.get("lm_head"); }, dir_.string(), "tensor lm_head is missing"));
}

// ---------------------------------------------------------------------------------------------
// Writer refusals

TEST_F(Safetensors, WriterRejectsDuplicateNames) {
  const Tensor t("w", DType::f32, {2}, 1);
  const std::string p = path("model.safetensors");
  EXPECT_TRUE(throws_error([&] { dllm::write_safetensors(p, {t.to_write(), t.to_write()}); }, p, "given twice"));
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(Safetensors, WriterRejectsMissingData) {
  const std::string p = path("model.safetensors");
  EXPECT_TRUE(throws_error([&] { dllm::write_safetensors(p, {{"w", DType::f32, {2}, nullptr}}); }, p, "has no data"));
}

TEST_F(Safetensors, WriterReportsAnUnwritablePath) {
  const Tensor t("w", DType::f32, {2}, 1);
  const std::string p = path("no/such/dir/model.safetensors");
  EXPECT_TRUE(throws_error([&] { dllm::write_safetensors(p, {t.to_write()}); }, p, "cannot create"));
}
