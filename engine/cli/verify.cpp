// dllm-bench verify: the lossless gate. For every prompt, AR and TiDAR decode the same weights
// (greedy, and stochastic with the argmax drafter for each seed); their outputs must be equal token
// for token. Writes a JSON record; exits 3 when any divergence is a bug.
#include <algorithm>
#include <cstdio>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/bench/suite.h"
#include "engine/backend/backend.h"
#include "engine/cli/commands.h"
#include "engine/cli/common.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "engine/decode/ar_decoder.h"
#include "engine/decode/equivalence.h"
#include "engine/model/tokenizer.h"

namespace dllm::cli {

namespace {

using nlohmann::json;

std::vector<SuitePrompt> verify_prompts(const Args& a, const ModelConfig& cfg) {
  if (!a.has("--prompts")) return {{"prompt", "", prompt_ids(a, cfg), std::nullopt}};
  for (const char* flag : {"--prompt", "--tokens"})
    DLLM_CHECK(!a.has(flag), "give --prompts FILE or ", flag, ", not both");
  DLLM_CHECK(!a.has("--user"), "--user: with --prompts each prompt of the suite is the user turn; drop --user");
  const std::optional<SuiteChat> chat = suite_chat(a);
  return load_suite(a.str("--prompts", ""), split_list(a.str("--categories", "")),
                    find_tokenizer(model_spec(a), cfg).get(), chat ? &*chat : nullptr);
}

}  // namespace

int run_verify(int argc, char** argv) {
  Args a("verify",
         "The lossless gate: decodes every prompt with AR and with TiDAR (greedy, and stochastic with\n"
         "the argmax drafter for each seed) and checks the outputs are equal token for token.\n"
         "Exit code 3 when any divergence is a bug (not a numerical near-tie).",
         concat({kModelFlags,
                 kLoadFlags,
                 kPromptFlags,
                 {{"--prompts", "FILE",
                   "JSONL prompt suite (datasets/README.md) instead of --prompt/--tokens/--user; with --chat each "
                   "text prompt is the user turn of a chat"},
                  {"--categories", "LIST", "only the prompts of these categories, e.g. copy,upper"},
                  {"--max-new-tokens", "N", "tokens to generate per prompt (default 64)"},
                  {"--temperature", "T", "temperature of the stochastic runs (default 0.8)"},
                  {"--seeds", "LIST", "seeds of the stochastic runs (default 0,1; 'none' for greedy only)"}},
                 kTidarFlags,
                 {{"--out", "FILE", "write the JSON record there (default: print it)"}}}));
  if (parse_or_help(a, argc, argv)) return 0;
  DLLM_CHECK(!a.has("--mix-weight") || a.number("--mix-weight", 1, 0, 1) == 1.0,
             "verify checks the lossless sampler: --mix-weight must be 1 (measure mixing with generate or bench)");
  DLLM_CHECK(!a.has("--draft-temperature") || a.number("--draft-temperature", 0, 0, 100) == 0.0,
             "verify checks token equality, which needs the argmax drafter: drop --draft-temperature");
  if (a.has("--out")) check_output_writable(a.str("--out", ""));
  auto backend = make_backend(a.str("--backend", "cpu"));
  const ModelSummary summary = describe_model(model_spec(a));
  const TidarOptions opt = tidar_options(a, summary.config);
  const int max_new = int(a.integer("--max-new-tokens", 64, 1, INT32_MAX));
  const float temperature = float(a.number("--temperature", 0.8, 1e-6, 100.0));
  std::vector<int32_t> seeds;
  if (a.str("--seeds", "") != "none") seeds = a.has("--seeds") ? a.int_list("--seeds") : std::vector<int32_t>{0, 1};
  const std::vector<SuitePrompt> prompts = verify_prompts(a, summary.config);
  GenerateRequest longest;  // the run's memory is that of its longest prompt
  longest.max_new_tokens = max_new;
  for (const SuitePrompt& p : prompts)
    if (p.ids.size() > longest.prompt.size()) longest.prompt = p.ids;
  check_run_fits(a, summary, generate_shape(longest, summary.config, &opt), *backend);
  auto model = load_model(a);
  const ModelConfig& cfg = model->config();
  Transformer tf(cfg, model->weights(), *backend);
  const std::unique_ptr<Tokenizer> tok = find_tokenizer(model_spec(a), cfg);  // null: ids only

  json cases = json::array();
  int exact = 0, bugs = 0, near_ties = 0;
  int64_t tidar_tokens = 0, tidar_forwards = 0, step_tokens = 0, steps = 0;
  std::map<std::string, std::pair<int, int>> accuracy;  // category -> (correct, scored), greedy AR
  std::vector<int64_t> histogram(size_t(opt.block_size) + 1, 0);
  for (const SuitePrompt& p : prompts) {
    std::vector<std::pair<std::string, SamplerConfig>> modes = {{"greedy", SamplerConfig{}}};
    for (int32_t s : seeds) modes.push_back({"stochastic", SamplerConfig{temperature, 0, 1.0f, uint64_t(s)}});
    for (const auto& [mode, sampler] : modes) {
      GenerateRequest req{p.ids, max_new, sampler, 0};
      const Generation ar = ArDecoder(tf).generate(req);
      const Generation td = TidarDecoder(tf, opt).generate(req);
      const Equivalence eq = compare_outputs(tf, p.ids, ar.tokens, td.tokens);
      exact += eq.exact_match, bugs += eq.verdict == "bug", near_ties += eq.verdict == "near_tie";
      tidar_tokens += td.metrics.generated_tokens, tidar_forwards += td.metrics.forwards;
      steps += int64_t(td.metrics.step_seconds.size());
      step_tokens += td.metrics.step_seconds.empty() ? 0 : td.metrics.generated_tokens - 1;
      for (size_t i = 0; i < histogram.size(); ++i) histogram[i] += td.metrics.accepted_histogram[i];
      json c = {{"prompt_id", p.id},
                {"mode", mode},
                {"exact_match", eq.exact_match},
                {"first_divergence", eq.first_divergence},
                {"verdict", eq.verdict},
                {"ar_tokens", ar.tokens},
                {"tidar_tokens", td.tokens},
                {"tokens_per_forward", td.metrics.tokens_per_forward()},
                {"accepted_histogram", td.metrics.accepted_histogram}};
      c["tokens_per_step"] = td.metrics.tokens_per_step();
      if (td.metrics.moe.layers > 0) c["moe"] = td.metrics.to_json()["moe"];
      if (mode == "stochastic") c["seed"] = sampler.seed, c["temperature"] = sampler.temperature;
      if (p.answer) {
        const bool correct = ar.tokens == *p.answer;
        c["answer_correct"] = correct;
        if (mode == "greedy") {
          for (const std::string& key : {std::string("all"), p.category}) {
            accuracy[key].first += correct;
            accuracy[key].second += 1;
          }
        }
      }
      if (!eq.exact_match) c["ar_top1_top2_margin"] = eq.ar_margin;
      std::fprintf(stderr, "%-16s %-10s %s  tokens/forward %.2f\n", p.id.c_str(), mode.c_str(), eq.verdict.c_str(),
                   td.metrics.tokens_per_forward());
      if (!eq.exact_match && tok) {  // the text around the divergence
        const DivergenceText t = divergence_text(*tok, ar.tokens, td.tokens, eq.first_divergence);
        c["divergence_text"] = {{"before", t.before}, {"ar", t.ar}, {"tidar", t.other}};
        std::fprintf(stderr, "  at token %d after \"%s\": AR \"%s\", TiDAR \"%s\"\n", eq.first_divergence,
                     t.before.c_str(), t.ar.c_str(), t.other.c_str());
      }
      cases.push_back(c);
    }
  }
  const int n = int(cases.size());
  json record = {{"command", "verify"},
                 {"model", model->source()},
                 {"backend", backend->name()},
                 {"max_new_tokens", max_new},
                 {"tidar", tidar_options_json(opt)},
                 {"totals",
                  {{"cases", n},
                   {"exact_match", exact},
                   {"exact_match_rate", double(exact) / n},
                   {"near_tie", near_ties},
                   {"bug", bugs},
                   {"tokens_per_forward", tidar_forwards ? double(tidar_tokens) / double(tidar_forwards) : 0.0},
                   {"tokens_per_step", steps ? double(step_tokens) / double(steps) : 0.0},
                   {"accepted_histogram", histogram}}},
                 {"cases", cases}};
  if (!accuracy.empty()) {
    json acc = json::object();
    for (const auto& [category, cs] : accuracy)
      acc[category.empty() ? "uncategorized" : category] = {
          {"correct", cs.first}, {"scored", cs.second}, {"accuracy", double(cs.first) / cs.second}};
    record["totals"]["greedy_task_accuracy"] = acc;
  }
  const std::string text = record.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  if (a.has("--out"))
    write_file_atomic(a.str("--out", ""), text);
  else
    std::cout << text;
  std::fprintf(stderr, "verify: %d/%d exact, %d near-tie, %d bug; TiDAR tokens/forward %.2f, tokens/step %.2f\n", exact,
               n, near_ties, bugs, tidar_forwards ? double(tidar_tokens) / double(tidar_forwards) : 0.0,
               steps ? double(step_tokens) / double(steps) : 0.0);
  if (accuracy.count("all"))
    std::fprintf(stderr, "greedy task accuracy %.3f (%d/%d)\n", double(accuracy["all"].first) / accuracy["all"].second,
                 accuracy["all"].first, accuracy["all"].second);
  return bugs ? 3 : 0;
}

}  // namespace dllm::cli
