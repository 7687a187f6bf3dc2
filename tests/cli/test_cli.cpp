// The dllm-bench binary end to end: help, real runs, and bad input that must give a clear error,
// a non-zero exit and no output file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/dtype.h"
#include "datasets/prompts.h"
#include "engine/model/model.h"
#include "tests/testing.h"

using dllm::testutil::run_cli;

namespace {

void expect_failure(const std::string& args, const std::string& phrase) {
  std::string out;
  const int rc = run_cli(args, &out);
  EXPECT_EQ(rc, 1) << args << "\n" << out;
  EXPECT_NE(out.find(phrase), std::string::npos) << args << "\n" << out;
  EXPECT_EQ(out.find("internal error"), std::string::npos) << out;
}

std::string saved_tiny() {
  static const std::string dir = [] {
    const std::string d = dllm::testutil::fresh_dir("cli_model");
    dllm::Model::load("preset:tiny")->save(d);
    return d;
  }();
  return dir;
}

}  // namespace

TEST(Cli, HelpForEveryCommand) {
  std::string out;
  EXPECT_EQ(run_cli("--help", &out), 0);
  EXPECT_NE(out.find("generate"), std::string::npos);
  for (const char* cmd : {"generate", "logits", "info", "verify", "bench", "tokenize", "export"}) {
    EXPECT_EQ(run_cli(std::string(cmd) + " --help", &out), 0) << cmd;
    EXPECT_NE(out.find("--model"), std::string::npos) << cmd;
  }
  for (const char* cmd : {"report", "compare", "merge"}) {
    EXPECT_EQ(run_cli(std::string(cmd) + " --help", &out), 0) << cmd;
    EXPECT_NE(out.find("usage: dllm-bench " + std::string(cmd)), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_cli("frobnicate", &out), 2);
  EXPECT_EQ(run_cli("", &out), 2);
}

TEST(Cli, GeneratePrintsTextStatsAndTokens) {
  std::string out;
  ASSERT_EQ(run_cli("generate --model preset:tiny --prompt hello --max-new-tokens 8", &out), 0) << out;
  EXPECT_NE(out.find("tokens/s"), std::string::npos) << out;
  EXPECT_NE(out.find("tokens:"), std::string::npos) << out;
  ASSERT_EQ(run_cli("generate --model " + saved_tiny() +
                        " --tokens 256,104,105 --max-new-tokens 5 "
                        "--temperature 0.7 --top-p 0.9 --seed 3 --json",
                    &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_LE(j["tokens"].size(), 5u);
  EXPECT_EQ(j["metrics"]["prompt_tokens"], 3);
}

TEST(Cli, TidarPrintsWhatArPrints) {
  // The argmax drafter makes TiDAR's sampled output AR's, token for token, with the same flags.
  const std::string common =
      "generate --model preset:tiny --prompt abc --max-new-tokens 30 --temperature 0.9 --seed 5 --json";
  std::string ar, td;
  ASSERT_EQ(run_cli(common, &ar), 0) << ar;
  ASSERT_EQ(run_cli(common + " --strategy tidar --block-size 4 --levels 0,2,4", &td), 0) << td;
  const auto a = nlohmann::json::parse(ar), t = nlohmann::json::parse(td);
  EXPECT_EQ(a["tokens"], t["tokens"]);
  EXPECT_EQ(t["metrics"]["accepted_histogram"].size(), 5u);
  EXPECT_EQ(t["strategy"]["tidar"]["levels"], nlohmann::json::array({0, 2, 4}));
}

TEST(Cli, VerifyReportsExactMatchOnAPresetSuite) {
  const std::string dir = dllm::testutil::fresh_dir("verify");
  std::ofstream(dir + "/p.jsonl")
      << "{\"id\": \"a\", \"prompt\": \"hello\"}\n\n{\"id\": \"b\", \"tokens\": [256, 7, 8]}\n";
  std::string out;
  ASSERT_EQ(run_cli("verify --model preset:tiny-llama --prompts " + dir +
                        "/p.jsonl --max-new-tokens 20 --block-size 4 "
                        "--seeds 1,2 --out " +
                        dir + "/v.json",
                    &out),
            0)
      << out;
  std::ifstream in(dir + "/v.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["totals"]["cases"], 6);
  EXPECT_EQ(j["totals"]["exact_match"], 6);
  EXPECT_EQ(j["totals"]["bug"], 0);
  EXPECT_EQ(j["cases"][0]["verdict"], "exact");
  std::ofstream(dir + "/bad.jsonl") << "{\"id\": \"a\", \"prompt\": \"hello\"}\n{\"id\": 3, \"prompt\": }\n";
  expect_failure("verify --model preset:tiny --prompts " + dir + "/bad.jsonl", "bad.jsonl:2");
  expect_failure("verify --model preset:tiny --prompt hi --mix-weight 0.5", "--mix-weight must be 1");
}

TEST(Cli, LogitsWritesNpyAndJson) {
  const std::string dir = dllm::testutil::fresh_dir("logits");
  std::string out;
  ASSERT_EQ(run_cli("logits --model preset:tiny --tokens 256,1,2 --out " + dir + "/l.npy", &out), 0) << out;
  EXPECT_EQ(std::filesystem::file_size(dir + "/l.npy"), 128u + 3 * 264 * 4);
  ASSERT_EQ(run_cli("logits --model preset:tiny --tokens 256,1,2 --out " + dir + "/l.json", &out), 0) << out;
  std::ifstream in(dir + "/l.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["logits"].size(), 3u);
  EXPECT_EQ(j["logits"][0].size(), 264u);
}

// export writes a folder that the other commands read as the preset (same logits, and its generated
// tokenizer.json encodes a prompt as the byte tokenizer does); bad flags are refused.
TEST(Cli, ExportWritesAFolderTheOtherCommandsRead) {
  const std::string dir = dllm::testutil::fresh_dir("export_cli");
  std::string out, a, b;
  ASSERT_EQ(run_cli("export --model preset:tiny-llama --weights-seed 2 --out " + dir + "/m", &out), 0) << out;
  EXPECT_NE(out.find("a generated byte-level tokenizer.json"), std::string::npos) << out;
  ASSERT_EQ(run_cli("logits --model preset:tiny-llama --weights-seed 2 --tokens 256,1,2 --out " + dir + "/a.json", &a),
            0);
  ASSERT_EQ(run_cli("logits --model " + dir + "/m --tokens 256,1,2 --out " + dir + "/b.json", &b), 0) << b;
  std::ifstream ia(dir + "/a.json"), ib(dir + "/b.json");
  EXPECT_TRUE(nlohmann::json::parse(ia)["logits"] == nlohmann::json::parse(ib)["logits"]);
  ASSERT_EQ(run_cli("export --model preset:tiny --dtype bf16 --out " + dir + "/bf16", &out), 0) << out;
  ASSERT_EQ(run_cli("tokenize --model " + dir + "/m --text h\xC3\xA9", &out), 0) << out;
  EXPECT_NE(out.find("256,104,195,169"), std::string::npos) << out;
  EXPECT_EQ(run_cli("export --model preset:tiny --out " + dir + "/m", &out), 1);
  EXPECT_NE(out.find("already exists"), std::string::npos) << out;
  EXPECT_EQ(run_cli("export --model " + dir + "/m --dtype f16 --out " + dir + "/n", &out), 1);
  EXPECT_NE(out.find("--dtype applies to a preset"), std::string::npos) << out;
  EXPECT_EQ(run_cli("export --model preset:tiny --dtype f64 --out " + dir + "/n", &out), 1);
  EXPECT_NE(out.find("--dtype must be f32, bf16 or f16"), std::string::npos) << out;
  EXPECT_EQ(run_cli("export --model preset:tiny", &out), 1);
  EXPECT_NE(out.find("give --out DIR"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/n"));
}

TEST(Cli, InfoReportsSizes) {
  std::string out;
  ASSERT_EQ(run_cli("info --model preset:llama3-8b --json", &out), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["parameters"], 8030261248LL);  // Meta-Llama-3-8B
  EXPECT_EQ(j["kv_bytes_per_token_bf16"], 131072);
  EXPECT_EQ(j["mask_token_key"], "mask_token_id");  // which config key gave the mask token
}

TEST(Cli, BadInputGivesAClearErrorAndNoOutput) {
  const std::string dir = dllm::testutil::fresh_dir("bad");
  expect_failure("generate --model " + dir + "/missing --prompt hi", "not a model directory");
  expect_failure("generate --model preset:nope --prompt hi", "is not a preset");
  expect_failure("generate --model preset:tiny --prompt hi --bogus 1", "unknown flag --bogus");
  expect_failure("generate --model preset:tiny --prompt hi --max-new-tokens", "needs a value");
  expect_failure("generate --model preset:tiny --prompt hi --max-new-tokens ten", "needs an integer");
  expect_failure("generate --model preset:tiny --prompt hi --temperature -1", "must lie in");
  expect_failure("generate --model preset:tiny --prompt hi --tokens 1,2", "exactly one of");
  expect_failure("generate --model preset:tiny --tokens 1,x", "comma-separated integers");
  expect_failure("generate --model preset:tiny --tokens 1,99999", "outside the vocabulary");
  expect_failure("generate --model preset:tiny --tokens 1 --max-new-tokens 5000", "max_position_embeddings");
  expect_failure("generate --model preset:tiny --prompt hi --backend tpu", "--backend tpu");
  expect_failure("logits --model preset:tiny --tokens 1 --out " + dir + "/x.txt", "must end in .npy or .json");
  expect_failure("generate --model preset:tiny --prompt hi --block-size 4", "applies to --strategy tidar only");
  expect_failure("generate --model preset:tiny --prompt hi --strategy tidar --levels 0,9 --block-size 4",
                 "outside [0, K");
  expect_failure("generate --model preset:tiny --prompt hi --strategy tidar --layout two --levels P3",
                 "single-forward layout only");
  expect_failure("generate --model preset:tiny --prompt hi --strategy spec", "--strategy must be ar or tidar");
  expect_failure("logits --model preset:tiny --tokens 1 --out " + dir + "/no/such/dir/x.npy", "cannot create");
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "a failed command left files behind";

  // A truncated checkpoint through the CLI.
  const std::string cut = dllm::testutil::fresh_dir("cut");
  std::filesystem::copy(saved_tiny(), cut,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut + "/model.safetensors",
                               std::filesystem::file_size(cut + "/model.safetensors") - 100);
  expect_failure("generate --model " + cut + " --prompt hi", "truncated");
}

TEST(Cli, BenchWritesAValidReportAndItsHtml) {
  const std::string dir = dllm::testutil::fresh_dir("bench");
  std::ofstream(dir + "/p.jsonl") << "{\"id\": \"a\", \"category\": \"x\", \"prompt\": \"hello\", \"answer\": \"hi\"}\n"
                                  << "{\"id\": \"b\", \"category\": \"y\", \"tokens\": [256, 7, 8]}\n";
  std::ofstream(dir + "/spec.json") << R"({"samplers": ["greedy"], "mix_weights": [1, 0.5], "block_sizes": [4],
                                          "levels": ["0,2,4"], "repetitions": 2, "warmup": 0, "max_new_tokens": 10})";
  std::string out;
  ASSERT_EQ(run_cli("bench --model preset:tiny --spec " + dir + "/spec.json --prompts " + dir + "/p.jsonl " +
                        "--step-cost 1,5,20 --step-cost-reps 2 --out " + dir + "/r.json --quiet",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("report: "), std::string::npos) << out;
  std::ifstream in(dir + "/r.json");
  const auto r = nlohmann::json::parse(in);
  EXPECT_EQ(r["points"].size(), 3u);  // AR, TiDAR w = 1, TiDAR w = 0.5
  EXPECT_EQ(r["provenance"]["dataset"]["path"], dir + "/p.jsonl");
  EXPECT_EQ(r["provenance"]["model"]["weights"]["kind"], "random");
  EXPECT_EQ(r["provenance"]["backend"], "cpu");
  EXPECT_TRUE(r["provenance"]["gpu"].is_null());  // no GPU backend ran
  EXPECT_EQ(r["step_cost"]["cpu"]["curve"].size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/r.html"));
  // The mixing point (w = 0.5) drifts from AR on these random weights; each divergence carries the
  // text around it (the byte tokenizer's), which the HTML shows.
  const auto& divergences = r["points"][2]["quality"]["vs_ar"]["divergences"];
  ASSERT_FALSE(divergences.empty()) << r["points"][2]["quality"].dump();
  for (const auto& d : divergences) {
    EXPECT_EQ(d["verdict"], "lossy");
    EXPECT_TRUE(d["text"]["before"].is_string() && d["text"]["ar"].is_string() && d["text"]["point"].is_string())
        << d.dump();
    EXPECT_NE(d["text"]["ar"], d["text"]["point"]) << d.dump();
  }
  std::ifstream html(dir + "/r.html");
  EXPECT_NE(std::string(std::istreambuf_iterator<char>(html), {}).find("<q>"), std::string::npos);
  // report and compare read it back.
  ASSERT_EQ(run_cli("report " + dir + "/r.json -o " + dir + "/again.html", &out), 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/again.html"));
  ASSERT_EQ(run_cli("compare " + dir + "/r.json " + dir + "/r.json", &out), 0) << out;
  EXPECT_NE(out.find("0 regression(s)"), std::string::npos) << out;
}

// A checkpoint folder with a tokenizer.json and no byte tokenizer: text in (--prompt), text out.
TEST(Cli, TokenizerJsonGivesTextInAndOut) {
  const std::string dir = dllm::testutil::fresh_dir("bpe_model");
  std::filesystem::copy(saved_tiny(), dir,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  cfg.erase("dllm_tokenizer");
  std::ofstream(dir + "/config.json") << cfg.dump();
  expect_failure("generate --model " + dir + " --prompt hi", "no tokenizer dllm-bench knows");
  expect_failure("tokenize --model " + dir + " --text hi", "no tokenizer dllm-bench knows");
  std::ofstream(dir + "/p.jsonl") << "{\"id\": \"a\", \"prompt\": \"hi hi\", \"answer\": \"hi\"}\n";
  expect_failure("verify --model " + dir + " --prompts " + dir + "/p.jsonl", "is text but the model has no tokenizer");

  // "hi" merges to 262 (after the config's special tokens 256..261); <bos> (256) before every text.
  nlohmann::json tok = dllm::testutil::byte_level_tokenizer({{"h", "i"}});
  tok["model"]["vocab"]["hi"] = 262;
  tok["added_tokens"] = {{{"id", 256}, {"content", "<s>"}, {"special", true}}};
  tok["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [256], "tokens": ["<s>"]}}})");
  std::ofstream(dir + "/tokenizer.json") << tok.dump();
  std::string out;
  ASSERT_EQ(run_cli("tokenize --model " + dir + " --text 'hi, é'", &out), 0) << out;
  EXPECT_EQ(out, "256,262,44,32,195,169\n");
  ASSERT_EQ(run_cli("tokenize --model " + dir + " --ids 262,33,256 --json", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["text"], "hi!<s>");
  ASSERT_EQ(run_cli("generate --model " + dir + " --prompt hi --max-new-tokens 4", &out), 0) << out;
  EXPECT_EQ(out.rfind("hi", 0), 0u) << out;  // the prompt without <bos>, then the generated text
  EXPECT_NE(out.find("tokens:"), std::string::npos) << out;
  ASSERT_EQ(run_cli("generate --model " + dir + " --prompt hi --max-new-tokens 4 --json", &out), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["prompt_tokens"], nlohmann::json({256, 262}));
  EXPECT_TRUE(j["text"].is_string());
  // A text suite through the tokenizer (verify and bench read suites alike).
  ASSERT_EQ(run_cli("verify --model " + dir + " --prompts " + dir + "/p.jsonl --max-new-tokens 4", &out), 0) << out;
  // Without --prompts, bench gives a model with a tokenizer.json the realistic text suite.
  ASSERT_EQ(run_cli("bench --model " + dir + " --strategies ar --limit 2 --max-new-tokens 2 --repetitions 1 " +
                        "--warmup 0 --step-cost none --out " + dir + "/r.json --quiet",
                    &out),
            0)
      << out;
  const auto report = nlohmann::json::parse(std::ifstream(dir + "/r.json"));
  EXPECT_EQ(report["provenance"]["dataset"]["path"], std::string(DLLM_SOURCE_DIR) + "/datasets/text/suite.jsonl");
}

// A checkpoint folder with a chatml template: --chat prompts in its format, the markers as single ids.
TEST(Cli, ChatPromptsInTheModelsFormat) {
  const std::string dir = dllm::testutil::fresh_dir("chat_model");
  std::filesystem::copy(saved_tiny(), dir,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  cfg.erase("dllm_tokenizer");
  std::ofstream(dir + "/config.json") << cfg.dump();
  nlohmann::json tok = dllm::testutil::byte_level_tokenizer({});
  tok["added_tokens"] = nlohmann::json::parse(R"([{"id": 262, "content": "<|im_start|>", "special": true},
                                                   {"id": 263, "content": "<|im_end|>", "special": true}])");
  std::ofstream(dir + "/tokenizer.json") << tok.dump();
  expect_failure("generate --model " + dir + " --chat --user hi", dir + " has no chat template");
  expect_failure("generate --model preset:tiny --chat --user hi", "preset:tiny has no chat template");
  expect_failure("generate --model preset:tiny --chat --user hi --chat-format chatml",
                 "the tokenizer has no single token for <|im_start|>");
  std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template": "{{ '<|im_start|>' + message.role }}"})";
  expect_failure("generate --model " + dir + " --chat --user hi --chat-format llama3",
                 "no single token for <|start_header_id|>");
  expect_failure("generate --model " + dir + " --chat --user hi --chat-date '1 May 2025'",
                 "--chat-date applies to the llama3.1 chat format only, not chatml");
  expect_failure("generate --model " + dir + " --prompt hi --chat-date '1 May 2025'",
                 "--chat-date applies to --chat only");

  // <|im_start|>system\nbe<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n
  std::vector<int32_t> want;
  const auto turn = [&](const std::string& text, bool end) {
    want.push_back(262);
    want.insert(want.end(), text.begin(), text.end());
    if (end) want.insert(want.end(), {263, '\n'});
  };
  turn("system\nbe", true);
  turn("user\nhi", true);
  turn("assistant\n", false);
  const std::string chat = " --chat --system be --user hi";
  std::string out;
  ASSERT_EQ(run_cli("tokenize --model " + dir + chat + " --json", &out), 0) << out;
  const auto t = nlohmann::json::parse(out);
  EXPECT_EQ(t["ids"], nlohmann::json(want));
  EXPECT_EQ(t["text"], "<|im_start|>system\nbe<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  ASSERT_EQ(run_cli("generate --model " + dir + chat + " --max-new-tokens 2 --json", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["prompt_tokens"], nlohmann::json(want));
  ASSERT_EQ(run_cli("verify --model " + dir + chat + " --max-new-tokens 2 --seeds none", &out), 0) << out;

  // A suite as chats: each text prompt the user turn; the report says how the prompts were put.
  std::ofstream(dir + "/suite.jsonl") << R"({"id": "a", "prompt": "hi"})"
                                      << "\n";
  const std::string suite = " --prompts " + dir + "/suite.jsonl --chat --system be";
  ASSERT_EQ(
      run_cli("verify --model " + dir + suite + " --max-new-tokens 2 --seeds none --out " + dir + "/v.json", &out), 0)
      << out;
  ASSERT_EQ(run_cli("bench --model " + dir + suite +
                        " --strategies ar --samplers greedy --mix-weights 1 --max-new-tokens 2 --warmup 0 "
                        "--repetitions 1 --min-seconds 0 --min-tokens 0 --step-cost none --quiet --html none --out " +
                        dir + "/r.json",
                    &out),
            0)
      << out;
  const auto report = nlohmann::json::parse(std::ifstream(dir + "/r.json"));
  EXPECT_EQ(report["suite"]["chat_format"], "chatml");
  EXPECT_EQ(report["suite"]["chat_system"], "be");
  EXPECT_EQ(report["examples"][0]["prompt_text"], t["text"]) << report["examples"].dump();
  expect_failure("verify --model " + dir + suite + " --user hi",
                 "with --prompts each prompt of the suite is the user turn");
  std::ofstream(dir + "/ids.jsonl") << R"({"id": "b", "tokens": [104, 105]})"
                                    << "\n";
  expect_failure("verify --model " + dir + " --prompts " + dir + "/ids.jsonl --chat",
                 "prompt b is token ids, which --chat cannot put in a chat turn");
}

// The realistic text suite: 12 text prompts in each of the seven categories, ids unique.
TEST(Cli, TextSuiteHasItsCategories) {
  std::map<std::string, int> per_category;
  std::set<std::string> ids;
  for (const dllm::Prompt& p : dllm::load_prompts(DLLM_SOURCE_DIR "/datasets/text/suite.jsonl")) {
    EXPECT_TRUE(p.text && !p.text->empty()) << p.id;
    EXPECT_TRUE(ids.insert(p.id).second) << p.id;
    ++per_category[p.category];
  }
  const std::map<std::string, int> expected{{"code", 12}, {"conversation", 12},  {"math", 12},       {"qa", 12},
                                            {"rag", 12},  {"summarization", 12}, {"translation", 12}};
  EXPECT_EQ(per_category, expected);
}

// A model without a mask token: every path that would decode TiDAR says so, in the same words.
TEST(Cli, TidarWithoutAMaskTokenIsTheSameErrorEverywhere) {
  const std::string dir = dllm::testutil::fresh_dir("no_mask");
  std::filesystem::copy(saved_tiny(), dir,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  cfg.erase("mask_token_id");
  std::ofstream(dir + "/config.json") << cfg.dump();
  const std::string phrase = "this model's config.json has no mask_token_id";
  expect_failure("generate --model " + dir + " --prompt hi --strategy tidar", phrase);
  expect_failure("verify --model " + dir + " --prompt hi", phrase);
  expect_failure("bench --model " + dir + " --strategies tidar --limit 1 --out " + dir + "/r.json", phrase);
  expect_failure("bench --model " + dir + " --layouts two --limit 1 --out " + dir + "/r.json", phrase);
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.json"));
  std::string out;
  EXPECT_EQ(run_cli("generate --model " + dir + " --prompt hi --max-new-tokens 4", &out), 0) << out;  // AR still runs
}

namespace {

const char* kTinyBench =
    " --model preset:tiny --block-sizes 4 --mix-weights 1,0.5 --warmup 0 --repetitions 1 --min-seconds 0 "
    "--max-new-tokens 8 --step-cost 1,5 --step-cost-reps 1 --quiet --html none";

std::string two_prompts(const std::string& dir) {
  std::ofstream(dir + "/p.jsonl")
      << "{\"id\": \"a\", \"prompt\": \"hello\"}\n{\"id\": \"b\", \"tokens\": [256, 7, 8]}\n";
  return " --prompts " + dir + "/p.jsonl";
}

nlohmann::json read_report(const std::string& path) { return nlohmann::json::parse(std::ifstream(path)); }

// id -> config of every point of a report.
std::map<std::string, nlohmann::json> configs_of(const nlohmann::json& r) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& p : r["points"]) out[p["id"]] = p["config"];
  return out;
}

}  // namespace

TEST(Cli, BenchRunsBothLayouts) {
  const std::string dir = dllm::testutil::fresh_dir("bench_layouts");
  std::string out;
  ASSERT_EQ(run_cli("bench" + std::string(kTinyBench) + two_prompts(dir) + " --samplers greedy --levels dense:0,2,4 " +
                        "--layouts single,two --out " + dir + "/r.json",
                    &out),
            0)
      << out;
  const auto points = configs_of(read_report(dir + "/r.json"));
  // AR, and per w: two single-forward level sets and one two-forward point.
  ASSERT_EQ(points.size(), 1u + 2 * 3) << out;
  const auto& two = points.at("tidar/greedy/w1/K4/none/two/cpu");
  EXPECT_EQ(two["layout"], "two");
  EXPECT_EQ(two["pass_tokens"], 5);
  EXPECT_EQ(points.at("tidar/greedy/w1/K4/dense/single/cpu")["pass_tokens"], 5 * 6);
  const nlohmann::json report = read_report(dir + "/r.json");  // the loop below reads into it
  for (const auto& p : report["points"]) {
    if (p["config"]["strategy"] == "tidar" && p["config"]["mix_weight"] == 1) {
      EXPECT_EQ(p["quality"]["vs_ar"]["exact_match"], 2) << p["id"];  // lossless in both layouts
    }
  }
  ASSERT_EQ(run_cli("bench" + std::string(kTinyBench) + two_prompts(dir) + " --samplers greedy --layouts two --out " +
                        dir + "/two.json",
                    &out),
            0)
      << out;
  EXPECT_EQ(read_report(dir + "/two.json")["points"].size(), 3u);  // AR and two weights
}

// bench --shard I/N slices the plan; merge puts the slices back together, refusing reports of
// different runs and points measured twice; the merged report renders.
TEST(Cli, ShardedBenchMergesIntoThePlan) {
  const std::string dir = dllm::testutil::fresh_dir("bench_shards");
  const std::string bench = "bench" + std::string(kTinyBench) + two_prompts(dir) + " --levels dense:0,2,4";
  std::string out;
  ASSERT_EQ(run_cli(bench + " --out " + dir + "/all.json", &out), 0) << out;
  std::string shards;
  for (int i = 0; i < 3; ++i) {
    const std::string path = dir + "/s" + std::to_string(i) + ".json";
    ASSERT_EQ(run_cli(bench + " --shard " + std::to_string(i) + "/3 --out " + path, &out), 0) << out;
    EXPECT_EQ(read_report(path)["shard"]["index"], i);
    EXPECT_LT(read_report(path)["points"].size(), read_report(dir + "/all.json")["points"].size());
    shards += " " + path;
  }
  ASSERT_EQ(run_cli("merge" + shards + " -o " + dir + "/merged.json", &out), 0) << out;
  const auto merged = read_report(dir + "/merged.json");
  EXPECT_EQ(configs_of(merged), configs_of(read_report(dir + "/all.json")));
  EXPECT_EQ(merged["merged_from"].size(), 3u);
  EXPECT_FALSE(merged.contains("shard"));
  for (const auto& p : merged["points"]) {  // every TiDAR point kept its AR baseline, borrowed or not
    if (p["config"]["strategy"] == "tidar") {
      EXPECT_TRUE(p.contains("speedup_vs_ar")) << p["id"];
    }
  }
  ASSERT_EQ(run_cli("report " + dir + "/merged.json -o " + dir + "/merged.html", &out), 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/merged.html"));

  expect_failure("merge" + shards + " " + dir + "/s1.json -o " + dir + "/dup.json", "is in both");
  ASSERT_EQ(run_cli(bench + " --weights-seed 1 --shard 1/3 --out " + dir + "/other.json", &out), 0) << out;
  expect_failure("merge " + dir + "/s0.json " + dir + "/other.json -o " + dir + "/bad.json", "differ in their model");
  ASSERT_EQ(run_cli(bench + " --seed 3 --shard 1/3 --out " + dir + "/seed.json", &out), 0) << out;
  expect_failure("merge " + dir + "/s0.json " + dir + "/seed.json -o " + dir + "/bad.json", "differ in their settings");
  EXPECT_FALSE(std::filesystem::exists(dir + "/dup.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.json"));
  expect_failure(bench + " --shard 3/3 --out " + dir + "/x.json", "--shard 3/3");
  expect_failure(bench + " --shard 50/99 --out " + dir + "/x.json", "this slice is empty");
}

// A peer comparison record (tools/peer-llamacpp) renders alone; a missing or broken one is an error
// naming the file, and no HTML is written.
TEST(Cli, ReportRendersAPeerComparison) {
  const std::string dir = dllm::testutil::fresh_dir("report_peer");
  const std::string fixture = DLLM_SOURCE_DIR "/tests/reports/fixture-peer.json";
  std::string out;
  ASSERT_EQ(run_cli("report " + fixture + " -o " + dir + "/peer.html", &out), 0) << out;
  std::ifstream html(dir + "/peer.html");
  EXPECT_NE(std::string(std::istreambuf_iterator<char>(html), {}).find("<h2 id=peer>"), std::string::npos);

  expect_failure("report " + dir + "/none.json -o " + dir + "/x.html", dir + "/none.json: cannot read the file");
  nlohmann::json bad = nlohmann::json::parse(std::ifstream(fixture));
  bad["settings"].erase("rounds");
  std::ofstream(dir + "/bad.json") << bad.dump();
  expect_failure("report " + dir + "/bad.json -o " + dir + "/x.html",
                 dir + "/bad.json: not a peer comparison of schema version 1");
  bad = nlohmann::json::parse(std::ifstream(fixture));
  bad["results"][0]["decode"]["peer_tokens_per_s"].push_back(1.0);
  std::ofstream(dir + "/rounds.json") << bad.dump();
  expect_failure("report " + dir + "/rounds.json -o " + dir + "/x.html", dir + "/rounds.json: results[");
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.html"));
}

TEST(Cli, BenchAndReportRejectBadInput) {
  const std::string dir = dllm::testutil::fresh_dir("bench_bad");
  expect_failure("bench --model preset:tiny --levels 0,99 --out " + dir + "/r.json", "level");
  expect_failure("bench --model preset:tiny --samplers nucleus --out " + dir + "/r.json",
                 "sampler must be greedy or stochastic");
  expect_failure("bench --model preset:tiny --mix-weights 1,x --out " + dir + "/r.json", "'x' is not a number");
  std::ofstream(dir + "/spec.json") << R"({"repetitons": 3})";
  expect_failure("bench --model preset:tiny --spec " + dir + "/spec.json --out " + dir + "/r.json",
                 "unknown key 'repetitons'");
  expect_failure(
      "bench --model preset:tiny --probe " + dir + "/none.json --limit 1 --step-cost none --out " + dir + "/r.json",
      "cannot read the probe file");
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.json"));
  std::ofstream(dir + "/x.json") << R"({"foo": 1})";
  expect_failure("report " + dir + "/x.json -o " + dir + "/x.html", "neither a dllm-bench report");
  expect_failure("report " + dir + "/x.json", "-o OUT.html");
  expect_failure("compare " + dir + "/x.json", "exactly two reports");
  expect_failure("compare " + dir + "/x.json " + dir + "/x.json", "A is not a dllm-bench report");
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.html"));
}

TEST(Cli, BenchStopsCleanlyOnCtrlC) {
  const std::string dir = dllm::testutil::fresh_dir("bench_sigint");
  const std::string bench = std::string(DLLM_BENCH_EXE) +
                            " bench --model preset:tiny --strategies ar --samplers greedy " +
                            "--limit 4 --max-new-tokens 48 --warmup 0 --repetitions 1000 --step-cost none --quiet " +
                            "--out " + dir + "/r.json";
  const std::string script =
      bench + " > " + dir + "/log 2>&1 & pid=$!; sleep 3; kill -INT $pid; wait $pid; echo $? > " + dir + "/rc";
  ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0);
  int rc = 0;
  std::ifstream(dir + "/rc") >> rc;
  EXPECT_EQ(rc, 130);
  std::ifstream in(dir + "/r.json");
  ASSERT_TRUE(in.good()) << "no report after Ctrl-C";
  const auto r = nlohmann::json::parse(in);
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_GT(r["points"][0]["repetitions"].get<int>(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.json.tmp"));
}

TEST(Cli, BenchRefusesAnUnwritableOutputBeforeRunning) {
  expect_failure("bench --model preset:tiny --out /proc/no/such/r.json", "/proc/no/such/r.json");
}

// An MoE model's report carries its routing locality (measured passes against uniform routing) and
// its HTML the chart.
TEST(Cli, BenchReportsRoutingLocalityOfMoeModels) {
  const std::string dir = dllm::testutil::fresh_dir("bench_routing");
  std::ofstream(dir + "/p.jsonl")
      << "{\"id\": \"a\", \"prompt\": \"copy abcdefghij=\", \"answer\": \"abcdefghij\"}\n"
         "{\"id\": \"b\", \"prompt\": \"reverse 0123456789=\", \"answer\": \"9876543210\"}\n";
  std::string out;
  ASSERT_EQ(
      run_cli(
          "bench --model preset:tiny-zaya --block-sizes 4 --levels dense --mix-weights 1 --samplers greedy --warmup 0 "
          "--repetitions 1 --min-seconds 0 --max-new-tokens 8 --step-cost none --quiet --prompts " +
              dir + "/p.jsonl --out " + dir + "/r.json",
          &out),
      0)
      << out;
  const nlohmann::json r = read_report(dir + "/r.json");
  ASSERT_TRUE(r.contains("routing_locality")) << out;
  const auto& passes = r["routing_locality"]["passes"];
  ASSERT_GE(passes.size(), 4u);  // T = 1, 2, 4, 8 fit in the two documents (about 30 tokens each)
  EXPECT_EQ(passes[0]["tokens"], 1);
  EXPECT_EQ(r["routing_locality"]["suite_tokens"].get<int>(),
            (1 + 16 + 10 + 1) + (1 + 19 + 10 + 1));  // <bos> prompt answer <eos>
  for (const auto& p : passes) {
    EXPECT_LE(p["experts_per_layer"].get<double>(), p["tokens"].get<double>());
    EXPECT_GT(p["uniform_experts_per_layer"].get<double>(), 0);
  }
  std::ifstream html(dir + "/r.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("data-chart=\"routing_locality\""), std::string::npos);
  // A dense model's report has none.
  ASSERT_EQ(
      run_cli("bench" + std::string(kTinyBench) + two_prompts(dir) + " --levels dense --out " + dir + "/dense.json",
              &out),
      0)
      << out;
  EXPECT_FALSE(read_report(dir + "/dense.json").contains("routing_locality"));
}

// bench --step-cost-models: another model's step-cost curve (random weights) in the report and its
// HTML; a model that does not exist fails before anything is measured, naming it, writing nothing.
TEST(Cli, BenchShowsTheStepCostOfOtherModels) {
  const std::string dir = dllm::testutil::fresh_dir("bench_step_cost_models");
  std::string out;
  std::string flags = kTinyBench;
  flags.replace(flags.find(" --html none"), 12, " --html " + dir + "/r.html");
  ASSERT_EQ(run_cli("bench" + flags + two_prompts(dir) + " --levels dense --step-cost-models preset:tiny-zaya --out " +
                        dir + "/r.json",
                    &out),
            0)
      << out;
  const nlohmann::json r = read_report(dir + "/r.json");
  ASSERT_EQ(r["step_cost_models"].size(), 1u) << out;
  const nlohmann::json& m = r["step_cost_models"][0];
  EXPECT_EQ(m["model"], "preset:tiny-zaya");
  EXPECT_EQ(m["backend"], "cpu");
  std::vector<int> sizes;
  for (const auto& c : m["curve"]) sizes.push_back(c["tokens"].get<int>());
  for (int t : {1, 16, 64}) EXPECT_NE(std::find(sizes.begin(), sizes.end(), t), sizes.end()) << t;
  std::ifstream html(dir + "/r.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("Step cost of preset:tiny-zaya on cpu"), std::string::npos);

  EXPECT_NE(run_cli("bench" + std::string(kTinyBench) + two_prompts(dir) +
                        " --levels dense --step-cost-models preset:no-such-model --out " + dir + "/bad.json",
                    &out),
            0);
  EXPECT_NE(out.find("no-such-model"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.json"));
}
