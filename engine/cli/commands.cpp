#include "engine/cli/commands.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "datasets/prompts.h"
#include "engine/backend/backend.h"
#include "engine/cli/common.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/model/export.h"
#include "engine/model/tokenizer.h"
#include "engine/model/transformer.h"
#include "engine/model/zaya.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/device.h"
#endif

namespace dllm::cli {

namespace {

using nlohmann::json;

std::string dump(const json& j, int indent = 2) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

void print_metrics(const DecodeMetrics& m, const std::string& stop) {
  std::printf("generated %d tokens (stop: %s) in %d forwards, %.2f tokens/forward\n", m.generated_tokens, stop.c_str(),
              m.forwards, m.tokens_per_forward());
  std::printf("time to first token %.4f s | decode %.1f tokens/s | step p50 %.5f s p90 %.5f s p99 %.5f s\n",
              m.prefill_seconds, m.decode_tokens_per_second(), m.step_percentile(50), m.step_percentile(90),
              m.step_percentile(99));
  if (m.moe.layers > 0)
    std::printf("MoE: %.2f experts per layer per forward, %.1f MB of weights read per forward\n",
                double(m.moe.experts) / (double(m.forwards) * m.moe.layers), m.moe.weight_bytes / m.forwards / 1e6);
  if (m.accepted_histogram.empty()) return;
  std::printf("accepted drafts per step (n = 0..K):");
  for (int64_t c : m.accepted_histogram) std::printf(" %lld", (long long)c);
  std::printf("\nper-slot acceptance:");
  for (size_t i = 0; i < m.slot_verified.size(); ++i)
    std::printf(" %.2f", m.slot_verified[i] ? double(m.slot_accepted[i]) / double(m.slot_verified[i]) : 0.0);
  std::printf("\n");
}

std::string ends(const std::string& s, size_t n) { return s.size() >= n ? s.substr(s.size() - n) : s; }

}  // namespace

int run_generate(int argc, char** argv) {
  Args a("generate", "Generates text from a prompt and prints it with the decode statistics.",
         concat({kModelFlags,
                 kLoadFlags,
                 kPromptFlags,
                 kSamplerFlags,
                 {{"--strategy", "ar|tidar", "AR decoding (default) or TiDAR diffusion decoding"}},
                 kTidarFlags,
                 {{"--json", "", "print one JSON object (tokens, text, metrics) instead of text"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  const std::string strategy = a.str("--strategy", "ar");
  DLLM_CHECK(strategy == "ar" || strategy == "tidar", "--strategy must be ar or tidar, got '", strategy, "'");
  for (const FlagSpec& f : kTidarFlags)
    DLLM_CHECK(strategy == "tidar" || !a.has(f.name), f.name, " applies to --strategy tidar only");
  auto backend = make_backend(a.str("--backend", "cpu"));
  const ModelSummary summary = describe_model(model_spec(a));
  GenerateRequest req;
  req.prompt = prompt_ids(a, summary.config);
  req.max_new_tokens = int(a.integer("--max-new-tokens", 64, 1, INT32_MAX));
  req.sampler = sampler_config(a);
  const TidarOptions opt = strategy == "tidar" ? tidar_options(a, summary.config) : TidarOptions{};
  check_run_fits(a, summary, generate_shape(req, summary.config, strategy == "tidar" ? &opt : nullptr), *backend);
  auto model = load_model(a);
  const ModelConfig& cfg = model->config();
  Transformer tf(cfg, model->weights(), *backend);
  json strategy_json = {{"name", strategy}};
  Generation g;
  if (strategy == "tidar") {
    strategy_json["tidar"] = tidar_options_json(opt);
    g = TidarDecoder(tf, opt).generate(req);
  } else {
    g = ArDecoder(tf).generate(req);
  }

  const std::unique_ptr<Tokenizer> tok = find_tokenizer(model_spec(a), cfg);
  if (a.has("--json")) {
    json out = {{"model", model->source()},      {"strategy", strategy_json}, {"backend", backend->name()},
                {"prompt_tokens", req.prompt},   {"tokens", g.tokens},        {"stop_reason", g.stop_reason},
                {"metrics", g.metrics.to_json()}};
    if (tok) out["text"] = tok->decode(g.tokens);
    std::cout << dump(out) << "\n";
    return 0;
  }
  if (tok) {  // the prompt (without <bos>), then the generated text, token by token in whole code points
    const bool bos = !req.prompt.empty() && req.prompt[0] == cfg.bos_token_id;
    TextStream stream(*tok);
    for (size_t i = bos ? 1 : 0; i < req.prompt.size(); ++i) std::cout << stream.push(req.prompt[i]);
    for (int32_t t : g.tokens) std::cout << stream.push(t);
    std::cout << stream.finish() << "\n\n";
  }
  std::printf("strategy %s | backend %s | model %s\n", strategy.c_str(), backend->name().c_str(),
              model->source().c_str());
  print_metrics(g.metrics, g.stop_reason);
  std::printf("tokens:");
  for (int32_t t : g.tokens) std::printf(" %d", t);
  std::printf("\n");
  return 0;
}

namespace {

std::string npy_bytes(const std::vector<float>& data, int rows, int cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  const size_t total = 10 + header.size() + 1;  // magic(6) version(2) length(2) header '\n'
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  out.push_back(char(len & 0xff));
  out.push_back(char(len >> 8));
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  return out;
}

}  // namespace

int run_logits(int argc, char** argv) {
  Args a("logits",
         "Writes the logits of every position of a prompt (one causal prefill pass) to a .npy\n"
         "(float32 [N, V]) or .json file: the hook for parity checks against other implementations.",
         concat({kModelFlags,
                 kLoadFlags,
                 kPromptFlags,
                 {{"--out", "FILE", "output file, .npy or .json (required)"},
                  {"--token-by-token", "",
                   "one pass per prompt token through the KV cache, as a decode computes them"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  DLLM_CHECK(a.has("--out"), "dllm-bench logits needs --out FILE.npy or FILE.json");
  const std::string out = a.str("--out", "");
  const bool npy = ends(out, 4) == ".npy";
  DLLM_CHECK(npy || ends(out, 5) == ".json", "--out ", out, ": the file name must end in .npy or .json");
  check_output_writable(out);
  auto backend = make_backend(a.str("--backend", "cpu"));
  const ModelSummary summary = describe_model(model_spec(a));
  GenerateRequest req;
  req.prompt = prompt_ids(a, summary.config);
  req.max_new_tokens = 1;
  validate_request(req, summary.config, 0);
  const int n = int(req.prompt.size());
  check_run_fits(a, summary, RunShape{1, n, n}, *backend);
  auto model = load_model(a);
  const ModelConfig& cfg = model->config();
  Transformer tf(cfg, model->weights(), *backend);
  KvCache cache(cfg, 1, n, tf.backend().memory(), tf.backend().kv_cache_dtype(cfg));
  std::vector<float> logits;  // [N, V]
  if (a.has("--token-by-token")) {
    for (int i = 0; i < n; ++i) {
      Pass step;
      step.add_causal(0, {req.prompt[size_t(i)]}, i, i, true);
      std::vector<float> row;
      tf.forward(step, cache, {}, row);
      cache.set_length(0, i + 1);
      logits.insert(logits.end(), row.begin(), row.end());
    }
  } else {
    Pass pass;
    pass.add_causal(0, req.prompt, 0, 0, true);
    tf.forward(pass, cache, {}, logits);
  }

  if (npy) {
    write_file_atomic(out, npy_bytes(logits, n, cfg.vocab_size));
  } else {
    json rows = json::array();
    for (int i = 0; i < n; ++i)
      rows.push_back(std::vector<float>(logits.begin() + int64_t(i) * cfg.vocab_size,
                                        logits.begin() + int64_t(i + 1) * cfg.vocab_size));
    json j = {{"model", model->source()}, {"tokens", req.prompt}, {"vocab_size", cfg.vocab_size}, {"logits", rows}};
    write_file_atomic(out, j.dump() + "\n");
  }
  std::cout << "wrote logits [" << n << ", " << cfg.vocab_size << "] to " << out << "\n";
  return 0;
}

int run_info(int argc, char** argv) {
  Args a("info", "Prints a model's configuration, parameter count, weight bytes and KV bytes per token.",
         concat({kModelFlags, {{"--json", "", "print JSON"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  const ModelSummary model = describe_model(model_spec(a));
  const ModelConfig& c = model.config;
  const int64_t kv_f32 = c.kv_floats_per_token() * 4;
  json j = {{"model", model.source},
            {"model_type", c.model_type},
            {"hidden_size", c.hidden_size},
            {"layers", c.num_layers},
            {"heads", c.num_heads},
            {"kv_heads", c.num_kv_heads},
            {"head_dim", c.head_dim},
            {"rotary_dim", c.rotary_dim},
            {"intermediate_size", c.intermediate_size},
            {"vocab_size", c.vocab_size},
            {"max_position_embeddings", c.max_position_embeddings},
            {"context_length", c.context_length()},
            {"tie_word_embeddings", c.tie_word_embeddings},
            {"mask_token_id", c.mask_token_id},
            {"mask_token_key", c.mask_token_key},
            {"block_size", c.block_size},
            {"parameters", model.parameters},
            {"weight_bytes", model.weight_bytes},
            {"kv_bytes_per_token_f32", kv_f32},
            {"kv_bytes_per_token_bf16", kv_f32 / 2}};
  if (c.arch == Arch::zaya) {
    j["experts"] = c.num_experts;
    j["router_hidden_size"] = c.router_hidden_size;
    j["active_parameters"] = zaya_active_parameters(model);
    if (c.has_sliding_layers())
      j["sliding_window_layers"] = {{"layers", std::count(c.sliding_layers.begin(), c.sliding_layers.end(), true)},
                                    {"window", c.sliding_window},
                                    {"rope_theta", c.sliding_rope_theta}};
    // What a pass of T tokens reads, with routing assumed uniform (decoding measures the real one).
    for (int t : {1, 17, 68, 306}) {
      const MoePassEstimate e = zaya_pass_estimate(model, t);
      j["moe_pass_T" + std::to_string(t)] = {{"experts_per_layer", std::round(e.experts_per_layer * 100) / 100},
                                             {"weight_GB", std::round(e.weight_bytes / 1e7) / 100}};
    }
  }
#ifdef DLLM_HAVE_GPU
  std::string why_none;
  json gpus = json::array();
  for (const gpu::DeviceInfo& d : gpu::visible_devices(&why_none))
    gpus.push_back({{"name", d.name},
                    {"memory_bytes", d.memory_bytes},
                    {"multiprocessors", d.multiprocessors},
                    {"warp_size", d.warp_size},
                    {"runtime_version", d.runtime_version},
                    {"driver_version", d.driver_version}});
  j["gpus"] = gpus;
  if (gpus.empty()) j["gpus_unavailable"] = why_none;
#endif
  if (a.has("--json")) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (auto it = j.begin(); it != j.end(); ++it) std::printf("%-26s %s\n", it.key().c_str(), it.value().dump().c_str());
  return 0;
}

int run_export(int argc, char** argv) {
  Args a("export",
         "Writes a model as a Hugging Face folder other engines load: config.json, model.safetensors and the\n"
         "tokenizer (a folder's own tokenizer files, or for the byte tokenizer a generated tokenizer.json that\n"
         "encodes as it does). A preset's seeded random weights, so that transformers or llama.cpp can run the\n"
         "very same shape and bits. The folder must not exist; nothing is left behind on failure.",
         {kModelFlags[0],
          kModelFlags[1],
          {"--dtype", "f32|bf16|f16", "a preset's weight dtype (default: bf16 for hidden size >= 1024, else f32)"},
          {"--out", "DIR", "the folder to create"}});
  if (parse_or_help(a, argc, argv)) return 0;
  DLLM_CHECK(a.has("--out"), "give --out DIR, the folder to write");
  const std::string spec = model_spec(a);
  std::optional<DType> dtype;
  if (a.has("--dtype")) {
    DLLM_CHECK(is_preset(spec), "--dtype applies to a preset (preset:NAME); ", spec, " is exported as stored");
    const std::string name = a.str("--dtype", "");
    DLLM_CHECK(name == "f32" || name == "bf16" || name == "f16", "--dtype must be f32, bf16 or f16, got ", name);
    dtype = name == "f32" ? DType::f32 : name == "bf16" ? DType::bf16 : DType::f16;
  }
  const auto model = Model::load(spec, uint64_t(a.integer("--weights-seed", 0, 0, INT64_MAX)), dtype);
  const std::string out = a.str("--out", "");
  const std::string tokenizer = export_model(*model, is_preset(spec) ? "" : spec, out);
  std::cout << "wrote " << spec << " to " << out << " (config.json, model.safetensors"
            << (tokenizer == "generated" ? ", a generated byte-level tokenizer.json"
                : tokenizer == "copied"  ? ", its tokenizer files"
                                         : "; no tokenizer")
            << ")\n";
  return 0;
}

int run_tokenize(int argc, char** argv) {
  Args a("tokenize",
         "Encodes --text (or the --chat prompt) with the model's tokenizer and prints the ids, or decodes --ids\n"
         "and prints the text: a check of the tokenizer and chat format from outside (a folder's tokenizer.json or\n"
         "tokenizer.model and its chat template, or the byte tokenizer).",
         concat({{kModelFlags[0],
                  {"--text", "TEXT", "text to encode"},
                  {"--ids", "IDS", "comma-separated token ids to decode"}},
                 kChatFlags,
                 {{"--json", "",
                   "print one JSON object ({\"ids\": [...], \"text\": \"...\"}; with --chat the prompt text)"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  DLLM_CHECK(int(a.has("--text")) + int(a.has("--ids")) + int(a.has("--chat")) == 1,
             "give exactly one of --text TEXT, --ids IDS and --chat (with --user TEXT)");
  const std::optional<ChatPrompt> chat = chat_prompt(a);
  const std::string spec = model_spec(a);
  // A folder with only its tokenizer files is enough; the byte tokenizer needs the model's config.
  std::unique_ptr<Tokenizer> tok = find_tokenizer_files(spec);
  if (!tok) tok = find_tokenizer(spec, describe_model(spec).config);
  DLLM_CHECK(tok, spec,
             " has no tokenizer dllm-bench knows (no tokenizer.json, no tokenizer.model, no byte tokenizer in "
             "config.json)");
  std::vector<int32_t> ids;
  std::string text;
  if (chat) {
    ids = encode_chat(*tok, chat->chat_template, chat->turns, spec);
    text = chat_text(chat->chat_template, chat->turns);
  } else if (a.has("--ids")) {
    ids = a.int_list("--ids");
    text = tok->decode(ids);
  } else {
    text = a.str("--text", "");
    ids = tok->encode(text);
  }
  if (a.has("--json")) {
    std::cout << dump(json{{"ids", ids}, {"text", text}}, -1) << "\n";
  } else if (a.has("--ids")) {
    std::cout << text << "\n";
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? "," : "") << ids[i];
    std::cout << "\n";
  }
  return 0;
}

int run_main(int argc, char** argv) {
  const char* usage =
      "usage: dllm-bench COMMAND [flags]   (dllm-bench COMMAND --help for its flags)\n\n"
      "commands:\n"
      "  generate   generate text from a prompt (AR or TiDAR) and print decode statistics\n"
      "  verify     the lossless gate: TiDAR output against AR output, prompt by prompt\n"
      "  bench      benchmark AR vs TiDAR over a prompt suite; JSON + HTML report\n"
      "  report     render reports, peer comparisons and Google Benchmark JSON into one HTML file\n"
      "  compare    compare two reports; exit 4 on a significant regression\n"
      "  merge      merge the reports of bench --shard I/N runs into one report\n"
      "  logits     dump the logits of every prompt position (.npy or .json)\n"
      "  info       model configuration, parameter count, weight and KV bytes\n"
      "  tokenize   encode text to ids, or decode ids to text, with the model's tokenizer\n"
      "  export     write a model (a preset's random weights) as a Hugging Face folder with its tokenizer\n"
      "  probe      measure and store this machine's read bandwidth and peak FLOP/s\n"
      "  stepcost   the step-cost curve t(T)/t(1) of one model on this machine\n";
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "generate") return run_generate(argc, argv);
    if (cmd == "verify") return run_verify(argc, argv);
    if (cmd == "bench") return run_bench(argc, argv);
    if (cmd == "report") return run_report(argc, argv);
    if (cmd == "compare") return run_compare(argc, argv);
    if (cmd == "merge") return run_merge(argc, argv);
    if (cmd == "logits") return run_logits(argc, argv);
    if (cmd == "info") return run_info(argc, argv);
    if (cmd == "tokenize") return run_tokenize(argc, argv);
    if (cmd == "export") return run_export(argc, argv);
    if (cmd == "probe") return run_probe(argc, argv);
    if (cmd == "stepcost") return run_stepcost(argc, argv);
    std::cerr << "dllm-bench: unknown command '" << cmd << "'\n\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dllm-bench " << cmd << ": error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace dllm::cli
