#include "engine/model/export.h"

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "core/check.h"
#include "engine/model/bpe_tokenizer.h"

namespace dllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The config's special tokens above the bytes, by the names the byte tokenizer's models use.
std::vector<std::pair<std::string, int>> special_tokens(const ModelConfig& cfg) {
  std::vector<std::pair<std::string, int>> named;
  const auto add = [&](const char* name, int id) {
    if (id >= 256) named.emplace_back(name, id);
  };
  add("<bos>", cfg.bos_token_id);
  for (int eos : cfg.eos_token_ids) add("<eos>", eos);
  add("<mask>", cfg.mask_token_id);
  add("<pad>", cfg.pad_token_id);
  return named;
}

void write_json(const fs::path& path, const json& j) {
  std::ofstream os(path);
  os << j.dump(2) << "\n";
  DLLM_CHECK(os.good(), path.string(), ": cannot write (is the folder writable, the disk full?)");
}

}  // namespace

json byte_tokenizer_json(const ModelConfig& cfg) {
  DLLM_CHECK(cfg.byte_tokenizer, "byte_tokenizer_json: the config does not declare \"dllm_tokenizer\": \"bytes\"");
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_symbol(uint8_t(b))] = b;
  json added = json::array();
  for (const auto& [name, id] : special_tokens(cfg)) {
    added.push_back({{"id", id},
                     {"content", name},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab[name] = id;
  }
  json post = nullptr;
  if (cfg.bos_token_id >= 256) {
    const json bos = {{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}};
    post = {
        {"type", "TemplateProcessing"},
        {"single", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<bos>", {{"id", "<bos>"}, {"ids", {cfg.bos_token_id}}, {"tokens", {"<bos>"}}}}}}};
  }
  const json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  // transformers 5 reads a qwen2 model's tokenizer as Qwen2Tokenizer, which normalizes NFC whatever
  // the file says: the file says so too, so that both read it alike.
  const json normalizer = cfg.model_type == "qwen2" ? json{{"type", "NFC"}} : json(nullptr);
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", normalizer},
          {"pre_tokenizer", byte_level},
          {"post_processor", post},
          {"decoder", byte_level},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", json::array()}}}};
}

json byte_tokenizer_config_json(const ModelConfig& cfg) {
  json j = {{"tokenizer_class", "PreTrainedTokenizerFast"},
            {"model_max_length", cfg.context_length()},
            {"clean_up_tokenization_spaces", false}};
  for (const auto& [name, id] : special_tokens(cfg)) {
    const std::string key = name.substr(1, name.size() - 2) + "_token";  // <bos> -> bos_token
    if (!j.contains(key)) j[key] = name;
  }
  return j;
}

std::string export_model(const Model& model, const std::string& source_dir, const std::string& out_dir) {
  const fs::path out = fs::absolute(out_dir).lexically_normal();
  DLLM_CHECK(!out.empty() && out.has_filename(), "--out ", out_dir, ": give the folder to create");
  DLLM_CHECK(!fs::exists(out), "--out ", out_dir, " already exists: give a new folder (export never overwrites)");
  DLLM_CHECK(fs::is_directory(out.parent_path()), "--out ", out_dir, ": the parent folder ", out.parent_path().string(),
             " does not exist");
  const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".partial");
  fs::remove_all(tmp);  // what an interrupted export left
  try {
    model.save(tmp.string());
    std::string tokenizer = "none";
    const fs::path source = source_dir.empty() ? fs::path() : fs::path(source_dir);
    if (!source.empty() &&
        (fs::is_regular_file(source / "tokenizer.json") || fs::is_regular_file(source / "tokenizer.model"))) {
      for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                               "chat_template.jinja"})
        if (fs::is_regular_file(source / name)) fs::copy_file(source / name, tmp / name);
      tokenizer = "copied";
    } else if (model.config().byte_tokenizer) {
      write_json(tmp / "tokenizer.json", byte_tokenizer_json(model.config()));
      write_json(tmp / "tokenizer_config.json", byte_tokenizer_config_json(model.config()));
      tokenizer = "generated";
    }
    fs::rename(tmp, out);
    return tokenizer;
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

}  // namespace dllm
