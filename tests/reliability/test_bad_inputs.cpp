// The catalogue of bad inputs (tests/bad_inputs.md), end to end through the dllm-bench binary: each
// must exit non-zero with a message naming the input and what to do, never crash, and leave no
// output file behind.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/model/model.h"
#include "tests/testing.h"

using dllm::testutil::run_cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Runs the binary and checks the failure: exit 1, every phrase in the output, no crash or bug.
void expect_failure(const std::string& args, const std::vector<std::string>& phrases) {
  std::string out;
  const int rc = run_cli(args, &out);
  EXPECT_EQ(rc, 1) << args << "\n" << out;
  for (const std::string& p : phrases)
    EXPECT_NE(out.find(p), std::string::npos) << "want '" << p << "'\n" << args << "\n" << out;
  EXPECT_EQ(out.find("internal error"), std::string::npos) << out;
  EXPECT_EQ(out.find("Sanitizer"), std::string::npos) << out;
  EXPECT_EQ(out.find("json.exception"), std::string::npos) << "a raw JSON library error is not a clear message\n"
                                                           << out;
}

const std::string& tiny_checkpoint() {
  static const std::string dir = [] {
    const std::string d = dllm::testutil::fresh_dir("bad_inputs_model");
    dllm::Model::load("preset:tiny")->save(d);
    return d;
  }();
  return dir;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A copy of the tiny checkpoint whose model.safetensors bytes `corrupt` edits; returns the folder.
std::string corrupted(const std::string& name, const std::function<void(std::string&)>& corrupt) {
  const std::string dir = dllm::testutil::fresh_dir("bad_" + name);
  fs::copy_file(tiny_checkpoint() + "/config.json", dir + "/config.json");
  std::string bytes = read_all(tiny_checkpoint() + "/model.safetensors");
  corrupt(bytes);
  std::ofstream(dir + "/model.safetensors", std::ios::binary) << bytes;
  return dir;
}

uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return n;
}

void set_header_length(std::string& bytes, uint64_t n) { std::memcpy(bytes.data(), &n, 8); }

// Edits the JSON header (re-padded to a multiple of 8 bytes), keeping the data section.
void edit_header(std::string& bytes, const std::function<void(json&)>& edit) {
  const uint64_t n = header_length(bytes);
  json header = json::parse(bytes.substr(8, n));
  edit(header);
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  set_header_length(out, h.size());
  bytes = out + h + bytes.substr(8 + n);
}

// Overwrites element `i` of an f32 tensor with `v`.
void poke(std::string& bytes, const std::string& tensor, int64_t i, float v) {
  const uint64_t n = header_length(bytes);
  const json header = json::parse(bytes.substr(8, n));
  const uint64_t begin = header.at(tensor).at("data_offsets")[0].get<uint64_t>();
  std::memcpy(bytes.data() + 8 + n + begin + 4 * i, &v, 4);
}

std::string model_file(const std::string& dir) { return dir + "/model.safetensors"; }
std::string gen(const std::string& dir) {
  return "generate --model " + dir + " --tokens 256,72,105 --max-new-tokens 4";
}

}  // namespace

TEST(BadInputs, TruncatedCheckpoint) {
  const std::string dir = corrupted("truncated", [](std::string& b) { b.resize(b.size() / 2); });
  expect_failure(gen(dir), {model_file(dir), "truncated", "re-download or re-export"});
}

TEST(BadInputs, AbsurdHeaderLength) {
  const std::string dir = corrupted("absurd", [](std::string& b) { set_header_length(b, uint64_t(1) << 40); });
  expect_failure(gen(dir), {model_file(dir), "header length 1099511627776 is absurdly large", "re-export"});
}

TEST(BadInputs, NegativeHeaderLength) {
  const std::string dir = corrupted("negative", [](std::string& b) { set_header_length(b, uint64_t(-8)); });
  expect_failure(gen(dir), {model_file(dir), "is absurdly large", "re-export"});
}

TEST(BadInputs, TensorOffsetsOutOfRange) {
  const std::string dir = corrupted("out_of_range", [](std::string& b) {
    const uint64_t data = b.size() - 8 - header_length(b);
    edit_header(b, [&](json& h) {
      json& off = h["model.norm.weight"]["data_offsets"];
      const uint64_t size = off[1].get<uint64_t>() - off[0].get<uint64_t>();
      off = {data, data + size};
    });
  });
  expect_failure(gen(dir), {model_file(dir), "tensor model.norm.weight", "past the end of the file", "re-export"});
}

TEST(BadInputs, OverlappingTensors) {
  const std::string dir = corrupted("overlap", [](std::string& b) {
    edit_header(b, [](json& h) {
      h["model.layers.0.post_attention_layernorm.weight"]["data_offsets"] =
          h["model.layers.0.input_layernorm.weight"]["data_offsets"];
    });
  });
  expect_failure(gen(dir), {model_file(dir), "model.layers.0.input_layernorm.weight", "overlap", "re-export"});
}

TEST(BadInputs, UnalignedTensor) {
  const std::string dir = corrupted("unaligned", [](std::string& b) {
    edit_header(b, [](json& h) {
      json& off = h["model.layers.0.input_layernorm.weight"]["data_offsets"];
      off = {off[0].get<uint64_t>() + 2, off[1].get<uint64_t>() + 2};
    });
  });
  expect_failure(gen(dir),
                 {model_file(dir), "model.layers.0.input_layernorm.weight", "unaligned for F32", "re-export"});
}

TEST(BadInputs, DtypeMismatch) {
  // The header says bf16 where the bytes are f32: the sizes disagree.
  const std::string d1 = corrupted(
      "dtype", [](std::string& b) { edit_header(b, [](json& h) { h["model.norm.weight"]["dtype"] = "BF16"; }); });
  expect_failure(gen(d1), {model_file(d1), "tensor model.norm.weight", "needs", "re-export"});
  const std::string d2 = corrupted("dtype_unsupported", [](std::string& b) {
    edit_header(b, [](json& h) { h["model.norm.weight"]["dtype"] = "I32"; });
  });
  expect_failure(gen(d2), {model_file(d2), "unsupported dtype I32", "convert to bf16/f16/f32"});
}

TEST(BadInputs, NanWeightsAreNamedOnLoadWithCheckWeights) {
  const std::string dir =
      corrupted("nan", [](std::string& b) { poke(b, "model.layers.1.mlp.down_proj.weight", 5, NAN); });
  expect_failure(gen(dir) + " --check-weights",
                 {model_file(dir), "tensor model.layers.1.mlp.down_proj.weight holds nan at element 5", "re-export"});
  const std::string inf = corrupted("inf", [](std::string& b) { poke(b, "model.norm.weight", 0, INFINITY); });
  expect_failure(gen(inf) + " --check-weights", {"tensor model.norm.weight holds inf at element 0"});
  std::string out;
  EXPECT_EQ(run_cli(gen(tiny_checkpoint()) + " --check-weights", &out), 0) << out;
}

TEST(BadInputs, NonFiniteLogitsNameTheLayer) {
  const std::string dir =
      corrupted("nan_forward", [](std::string& b) { poke(b, "model.layers.1.mlp.down_proj.weight", 0, NAN); });
  expect_failure(gen(dir), {"non-finite logits", "after layer 1 of", "--check-weights"});
  const std::string head = corrupted("nan_head", [](std::string& b) { poke(b, "model.norm.weight", 3, NAN); });
  expect_failure(gen(head), {"non-finite logits", "the final norm or the LM head"});
}

TEST(BadInputs, PromptIdsOutsideTheVocabulary) {
  expect_failure("generate --model preset:tiny --tokens 1,264", {"(id 264) is outside the vocabulary [0, 264)"});
  expect_failure("generate --model preset:tiny --tokens 1,-3", {"(id -3) is outside the vocabulary"});
  const std::string dir = dllm::testutil::fresh_dir("bad_vocab");
  std::ofstream(dir + "/p.jsonl") << "{\"id\": \"x\", \"tokens\": [256, 999]}\n";
  expect_failure("verify --model preset:tiny --prompts " + dir + "/p.jsonl --block-size 4 --max-new-tokens 4",
                 {"999", "vocabulary"});
}

TEST(BadInputs, PromptLongerThanTheContext) {
  std::string ids = "256";
  for (int i = 0; i < 2100; ++i) ids += ",65";
  expect_failure("generate --model preset:tiny --max-new-tokens 1 --tokens " + ids, {"max_position_embeddings"});
  expect_failure("logits --model preset:tiny --out " + dllm::testutil::fresh_dir("bad_long") + "/l.npy --tokens " + ids,
                 {"max_position_embeddings"});
}

TEST(BadInputs, BlockSizeOrLevelsBeyondWhatTheContextAllows) {
  expect_failure("generate --model preset:tiny --tokens 256,65 --max-new-tokens 4 --strategy tidar --block-size 1500",
                 {"max_position_embeddings", "lookahead"});
  expect_failure("generate --model preset:tiny --tokens 256,65 --strategy tidar --block-size 4 --levels 0,2,8",
                 {"outside [0, K"});
  expect_failure("generate --model preset:tiny --tokens 256,65 --strategy tidar --block-size 5000",
                 {"--block-size", "must lie in"});
}

TEST(BadInputs, ContradictoryFlags) {
  expect_failure("generate --model preset:tiny --prompt hi --tokens 1,2",
                 {"give exactly one of --prompt TEXT, --tokens IDS and --chat"});
  expect_failure("generate --model preset:tiny --prompt hi --chat --user hi", {"give exactly one of"});
  expect_failure("generate --model preset:tiny --prompt hi --system be", {"--system applies to --chat only"});
  expect_failure("generate --model preset:tiny --chat --system be", {"--chat needs --user TEXT"});
  expect_failure("verify --model preset:tiny --prompts x.jsonl --system be", {"--system applies to --chat only"});
  expect_failure("verify --model preset:tiny --prompts x.jsonl --prompt hi", {"give --prompts FILE or --prompt"});
  expect_failure("verify --model preset:tiny --prompts x.jsonl --chat --user hi", {"drop --user"});
  expect_failure("generate --model preset:tiny --prompt hi --levels P3", {"--levels applies to --strategy tidar only"});
  expect_failure("generate --model preset:tiny --prompt hi --strategy tidar --layout two --levels P3",
                 {"--levels applies to the single-forward layout only"});
  expect_failure("verify --model preset:tiny --prompt hi --mix-weight 0.5", {"--mix-weight must be 1"});
  expect_failure("verify --model preset:tiny --prompt hi --draft-temperature 0.5", {"drop --draft-temperature"});
}

TEST(BadInputs, RunLargerThanMaxMemoryOrTheMachine) {
  expect_failure("generate --model preset:llama3-8b --tokens 1 --max-memory 1G",
                 {"preset:llama3-8b on backend cpu needs", "weights 15.0 GiB", "more than --max-memory 1.0 GiB"});
  expect_failure("generate --model preset:tiny --prompt hi --max-memory 2X",
                 {"--max-memory must be a positive size", "'2X'"});
  const std::string dir = dllm::testutil::fresh_dir("bad_memory"), prompts = dllm::testutil::fresh_dir("bad_memory_in");
  std::ofstream(prompts + "/p.jsonl") << "{\"id\": \"x\", \"tokens\": [1, 2, 3]}\n";
  expect_failure("bench --model preset:llama3-8b --samplers stochastic --batch-sizes 4096 --rollouts 4096 --prompts " +
                     prompts + "/p.jsonl --out " + dir + "/r.json",
                 {"needs", "KV cache", "available", "fewer sequences"});
  EXPECT_TRUE(fs::is_empty(dir));
  std::string out;
  EXPECT_EQ(run_cli("generate --model preset:tiny --prompt hi --max-new-tokens 2 --max-memory 512M", &out), 0) << out;
}

TEST(BadInputs, UnwritableOrFullOutput) {
  const std::string dir = dllm::testutil::fresh_dir("bad_output");
  const std::string verify =
      "verify --model preset:tiny --prompt hi --max-new-tokens 4 --block-size 4 --seeds none --out ";
  expect_failure(verify + dir + "/no/such/folder/v.json",
                 {dir + "/no/such/folder/v.json: cannot create the output file"});
  std::ofstream(dir + "/file") << "x";
  expect_failure(verify + dir + "/file/v.json", {dir + "/file/v.json", "Not a directory"});
  expect_failure(verify + "/dev/full", {"/dev/full: writing failed (No space left on device)", "free some disk space"});
  expect_failure(
      "bench --model preset:tiny --limit 1 --step-cost none --repetitions 1 --warmup 0 --max-new-tokens 4 "
      "--out /dev/full --html none",
      {"/dev/full: writing failed (No space left on device)"});
  EXPECT_EQ(fs::directory_iterator(dir)->path().filename(), "file");  // nothing else was written
  std::string out;                                                    // a device is written in place, not replaced
  ASSERT_EQ(run_cli(verify + "/dev/stdout", &out), 0) << out;
  EXPECT_NE(out.find("\"cases\""), std::string::npos) << out;
}

TEST(BadInputs, MalformedReportAndGoogleBenchmarkInputs) {
  // Found while fuzzing the report reader: a benchmark without "time_unit" was read through a
  // missing key (undefined behaviour), wrong types and a non-string "schema" gave raw JSON errors.
  const std::string dir = dllm::testutil::fresh_dir("bad_report");
  std::ofstream(dir + "/no_unit.json") << R"({"context": {}, "benchmarks": [{"name": "x", "real_time": 1}]})";
  std::ofstream(dir + "/string_time.json")
      << R"({"context": {}, "benchmarks": [{"name": "x", "real_time": "1", "time_unit": "us"}]})";
  std::ofstream(dir + "/not_array.json") << R"({"context": {}, "benchmarks": 3})";
  std::ofstream(dir + "/schema_number.json") << R"({"schema": 7})";
  for (const char* f : {"no_unit", "string_time", "not_array"})
    expect_failure("report " + dir + "/" + f + ".json -o " + dir + "/out.html",
                   {"input 1", "not Google Benchmark JSON output", "--benchmark_out_format=json"});
  expect_failure("report " + dir + "/schema_number.json -o " + dir + "/out.html",
                 {"neither a dllm-bench report, a peer comparison nor Google Benchmark JSON"});
  expect_failure("compare " + dir + "/schema_number.json " + dir + "/schema_number.json",
                 {"A is not a dllm-bench report"});
  EXPECT_FALSE(fs::exists(dir + "/out.html"));
}

TEST(BadInputs, SigtermMidRunLeavesNoPartialReport) {
  const std::string dir = dllm::testutil::fresh_dir("bad_sigterm");
  const std::string out = dir + "/r.json";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1), dup2(null, 2);
    execl(DLLM_BENCH_EXE, DLLM_BENCH_EXE, "bench", "--model", "preset:tiny", "--limit", "0", "--repetitions", "50",
          "--max-new-tokens", "64", "--step-cost", "none", "--out", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "bench finished before SIGTERM: make the run longer";
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(fs::is_empty(dir)) << "left " << fs::directory_iterator(dir)->path();
}
