#include "engine/model/sentencepiece_bpe.h"

#include <algorithm>
#include <cctype>

#include "core/check.h"

namespace dllm {

using nlohmann::json;
using tokjson::refuse;
using tokjson::type_of;

namespace {

// Every `from` in `text` (left to right, not overlapping) replaced by `to`.
std::string replace_all(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t done = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, done)) {
    out.append(text, done, at - done).append(to);
    done = at + from.size();
  }
  return out.append(text, done);
}

// The String of a Replace or Split pattern; refuses a Regex.
std::string string_pattern(const json& step, const std::string& path, const std::string& component) {
  const json pat = step.value("pattern", json());
  if (!pat.is_object() || !pat.contains("String")) refuse(path, component, "with pattern " + pat.dump());
  const std::string s = pat["String"].get<std::string>();
  if (s.empty()) refuse(path, component, "with an empty pattern");
  return s;
}

// The byte a token "<0xXX>" stands for (as ByteFallback reads it), or -1.
int fallback_byte(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  if (!hex(token[3]) || !hex(token[4])) return -1;
  return std::stoi(token.substr(3, 2), nullptr, 16);
}

std::string byte_token(int b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("<0x") + digits[b >> 4] + digits[b & 15] + ">";
}

}  // namespace

SentencePieceBpeTokenizer::SentencePieceBpeTokenizer(const std::string& path, const json& j) : path_(path) {
  try {
    read_normalizer(j.value("normalizer", json()));
    read_pre_tokenizer(j.value("pre_tokenizer", json()));
    read_model(j.value("model", json()));
    const json added = j.value("added_tokens", json::array());
    raw_added_ = tokjson::AddedTokens(added, path, [](const json& t) { return !t.value("normalized", false); });
    normalized_added_ = tokjson::AddedTokens(added, path, [](const json& t) { return t.value("normalized", false); });
    normalized_added_.transform([&](const std::string& content) { return normalize(content); });
    // An added token's string (a normalized one's in its normalized form) is what the decoder reads,
    // in place of the vocab's, as in Hugging Face tokenizers.
    for (const auto* set : {&raw_added_, &normalized_added_})
      for (const tokjson::AddedTokens::Token& t : set->tokens()) {
        if (size_t(t.id) >= tokens_.size()) tokens_.resize(size_t(t.id) + 1), known_.resize(size_t(t.id) + 1);
        tokens_[size_t(t.id)] = t.content;
        known_[size_t(t.id)] = true;
      }
    template_ = tokjson::TextTemplate(j.value("post_processor", json()), path);
    read_decoder(j.value("decoder", json()));
  } catch (const json::exception& e) {  // a field of the wrong type: the file is wrong, not dllm-bench
    fail(path, ": not a tokenizer.json dllm-bench can read (", e.what(), ")");
  }
}

void SentencePieceBpeTokenizer::read_normalizer(const json& norm) {
  const std::string t = type_of(norm);
  if (t == "Sequence") {
    for (const json& step : norm.value("normalizers", std::vector<json>())) read_normalizer(step);
  } else if (t == "Prepend") {
    normalizer_.push_back({norm.at("prepend").get<std::string>(), "", ""});
  } else if (t == "Replace") {
    normalizer_.push_back(
        {"", string_pattern(norm, path_, "normalizer Replace"), norm.at("content").get<std::string>()});
  } else if (t != "null") {
    refuse(path_, "normalizer", t);
  }
}

void SentencePieceBpeTokenizer::read_pre_tokenizer(const json& pre) {
  const std::string t = type_of(pre);
  if (t == "Metaspace") {
    metaspace_ = true;
    replacement_ = pre.at("replacement").get<std::string>();
    DLLM_CHECK(tokjson::code_points(replacement_).size() == 1, path_, ": pre_tokenizer Metaspace replacement \"",
               replacement_, "\" is not one character");
    const std::string scheme = pre.contains("prepend_scheme")        ? pre["prepend_scheme"].get<std::string>()
                               : pre.value("add_prefix_space", true) ? "always"
                                                                     : "never";
    if (scheme == "always")
      prepend_ = Prepend::kAlways;
    else if (scheme == "first")
      prepend_ = Prepend::kFirst;
    else if (scheme == "never")
      prepend_ = Prepend::kNever;
    else
      refuse(path_, "pre_tokenizer Metaspace", "with prepend_scheme " + scheme);
    split_at_replacement_ = pre.value("split", true);
  } else if (t == "Split") {
    const std::string behavior = pre.value("behavior", std::string());
    if (behavior != "MergedWithPrevious") refuse(path_, "pre_tokenizer Split", "with behavior " + behavior);
    if (pre.value("invert", false)) refuse(path_, "pre_tokenizer Split", "with invert true");
    split_after_ = string_pattern(pre, path_, "pre_tokenizer Split");
  } else if (t != "null") {
    refuse(path_, "pre_tokenizer", t);
  }
}

void SentencePieceBpeTokenizer::read_model(const json& model) {
  if (type_of(model) != "BPE") refuse(path_, "model", type_of(model));
  if (!model.value("dropout", json()).is_null() && model["dropout"].get<double>() != 0.0)
    refuse(path_, "model BPE", "with dropout");
  if (!tokjson::null_or_empty(model, "continuing_subword_prefix") ||
      !tokjson::null_or_empty(model, "end_of_word_suffix"))
    refuse(path_, "model BPE", "with a continuing_subword_prefix or end_of_word_suffix");
  ignore_merges_ = model.value("ignore_merges", false);
  byte_fallback_ = model.value("byte_fallback", false);
  fuse_unk_ = model.value("fuse_unk", false);
  DLLM_CHECK(model.contains("vocab") && model["vocab"].is_object(), path_, ": model.vocab is missing");
  for (const auto& [token, id_json] : model["vocab"].items()) {
    const int32_t id = tokjson::token_id(id_json, path_, "vocab token \"" + token + "\" has id");
    if (size_t(id) >= tokens_.size()) tokens_.resize(size_t(id) + 1), known_.resize(size_t(id) + 1);
    DLLM_CHECK(!known_[size_t(id)], path_, ": id ", id, " is given to two different tokens");
    tokens_[size_t(id)] = token;
    known_[size_t(id)] = true;
    vocab_[token] = id;
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab_.find(byte_token(b));
    byte_ids_[size_t(b)] = it == vocab_.end() ? -1 : it->second;
  }
  if (!tokjson::null_or_empty(model, "unk_token")) {
    const std::string unk = model["unk_token"].get<std::string>();
    const auto it = vocab_.find(unk);
    DLLM_CHECK(it != vocab_.end(), path_, ": model.unk_token \"", unk, "\" is not in the vocab");
    unk_ = it->second;
  }
  const std::vector<std::pair<std::string, std::string>> merges = tokjson::read_merges(model, path_);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab_.find(left), r = vocab_.find(right), lr = vocab_.find(left + right);
    DLLM_CHECK(l != vocab_.end() && r != vocab_.end() && lr != vocab_.end(), path_, ": merge ", rank, " (\"", left,
               "\" \"", right, "\") names a token the vocab does not have");
    merges_.add(l->second, r->second, lr->second);
  }
}

void SentencePieceBpeTokenizer::read_decoder(const json& dec) {
  const std::string t = type_of(dec);
  DecoderStep step{};
  if (t == "Sequence") {
    for (const json& d : dec.value("decoders", std::vector<json>())) read_decoder(d);
    return;
  }
  if (t == "Replace") {
    step.kind = DecoderStep::Kind::kReplace;
    step.from = string_pattern(dec, path_, "decoder Replace");
    step.to = dec.at("content").get<std::string>();
  } else if (t == "ByteFallback") {
    step.kind = DecoderStep::Kind::kByteFallback;
  } else if (t == "Fuse") {
    step.kind = DecoderStep::Kind::kFuse;
  } else if (t == "Strip") {
    // After Fuse it takes characters from the start of the whole text, which a stream can follow; at
    // the end (stop) or before Fuse (every token) it could not.
    const bool fused = std::any_of(decoder_.begin(), decoder_.end(),
                                   [](const DecoderStep& s) { return s.kind == DecoderStep::Kind::kFuse; });
    if (!fused) refuse(path_, "decoder Strip", "before Fuse");
    if (dec.value("stop", 0) != 0) refuse(path_, "decoder Strip", "with stop " + dec["stop"].dump());
    step.kind = DecoderStep::Kind::kStrip;
    step.strip = dec.at("content").get<std::string>();
    step.strip_count = dec.value("start", size_t(0));
  } else if (t == "Metaspace") {
    step.kind = DecoderStep::Kind::kMetaspace;
    step.from = dec.at("replacement").get<std::string>();
    const std::string scheme = dec.contains("prepend_scheme")        ? dec["prepend_scheme"].get<std::string>()
                               : dec.value("add_prefix_space", true) ? "always"
                                                                     : "never";
    step.drop_first_replacement = scheme != "never";
  } else {
    refuse(path_, "decoder", t);
  }
  decoder_.push_back(step);
}

std::vector<int32_t> SentencePieceBpeTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids = template_.prefix;
  const std::vector<int32_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), template_.suffix.begin(), template_.suffix.end());
  return ids;
}

std::vector<int32_t> SentencePieceBpeTokenizer::encode_text(const std::string& text) const {
  tokjson::check_utf8(text, path_);
  std::vector<int32_t> ids;
  const auto add_id = [&](int32_t id) { ids.push_back(id); };
  // Raw added tokens cut the input; each piece between them is normalized, then cut by the
  // normalized added tokens.
  raw_added_.split(
      text,
      [&](const std::string& raw, size_t raw_at) {
        normalized_added_.split(
            normalize(raw),
            [&](const std::string& piece, size_t at) { encode_normalized(piece, raw_at == 0 && at == 0, ids); },
            add_id);
      },
      add_id);
  return ids;
}

std::string SentencePieceBpeTokenizer::normalize(std::string text) const {
  for (const NormalizerStep& step : normalizer_) {
    if (!step.from.empty())
      text = replace_all(text, step.from, step.to);
    else if (!text.empty())
      text = step.prepend + text;
  }
  return text;
}

void SentencePieceBpeTokenizer::encode_normalized(const std::string& text, bool at_start,
                                                  std::vector<int32_t>& ids) const {
  if (!split_after_.empty()) {
    size_t begin = 0;
    for (size_t at = text.find(split_after_); at != std::string::npos; at = text.find(split_after_, begin)) {
      encode_word(text.substr(begin, at + split_after_.size() - begin), ids);
      begin = at + split_after_.size();
    }
    if (begin < text.size()) encode_word(text.substr(begin), ids);
    return;
  }
  if (!metaspace_) return encode_word(text, ids);
  std::string s = replace_all(text, " ", replacement_);
  const bool starts_with_replacement = s.compare(0, replacement_.size(), replacement_) == 0;
  if (!starts_with_replacement && (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && at_start)))
    s = replacement_ + s;
  if (!split_at_replacement_) return encode_word(s, ids);
  size_t begin = 0;  // each replacement begins a new word
  for (size_t at = s.find(replacement_, 1); at != std::string::npos; at = s.find(replacement_, at + 1)) {
    encode_word(s.substr(begin, at - begin), ids);
    begin = at;
  }
  encode_word(s.substr(begin), ids);
}

void SentencePieceBpeTokenizer::encode_word(const std::string& word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_)
    if (const auto it = vocab_.find(word); it != vocab_.end()) return ids.push_back(it->second);
  std::vector<int32_t> symbols;
  bool unk_pending = false;  // an unknown character whose unk is not yet written (fuse_unk joins a run)
  for (size_t i = 0; i < word.size();) {
    const size_t n = tokjson::utf8_sequence(word, i);
    const std::string ch = word.substr(i, n);
    i += n;
    if (const auto it = vocab_.find(ch); it != vocab_.end()) {
      if (unk_pending) symbols.push_back(unk_), unk_pending = false;
      symbols.push_back(it->second);
      continue;
    }
    const bool bytes_known =
        std::all_of(ch.begin(), ch.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; });
    if (byte_fallback_ && bytes_known) {
      // As Hugging Face tokenizers: the bytes go before an unk still pending.
      for (char c : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (unk_ < 0) continue;  // no unk token: the character is dropped, as Hugging Face tokenizers does
    if (unk_pending && !fuse_unk_) symbols.push_back(unk_);
    unk_pending = true;
  }
  if (unk_pending) symbols.push_back(unk_);
  merges_.apply(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

std::string SentencePieceBpeTokenizer::run_decoder(std::vector<std::string> tokens, bool whole_text) const {
  for (const DecoderStep& step : decoder_) {
    switch (step.kind) {
      case DecoderStep::Kind::kReplace:
        for (std::string& t : tokens) t = replace_all(t, step.from, step.to);
        break;
      case DecoderStep::Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = replace_all(tokens[i], step.from,
                                  whole_text && i == 0 && step.drop_first_replacement ? "" : std::string(" "));
        break;
      case DecoderStep::Kind::kByteFallback: {
        // A run of byte tokens becomes its bytes; in a whole text, a run that is not UTF-8 becomes one
        // U+FFFD per token (in a stream, the next tokens may finish its code point).
        std::vector<std::string> out;
        std::string run;
        size_t run_tokens = 0;
        const auto flush = [&] {
          if (run_tokens == 0) return;
          if (!whole_text || tokjson::is_utf8(run))
            out.push_back(run);
          else
            for (size_t k = 0; k < run_tokens; ++k) out.push_back("\xEF\xBF\xBD");
          run.clear();
          run_tokens = 0;
        };
        for (std::string& t : tokens) {
          if (const int b = fallback_byte(t); b >= 0) {
            run.push_back(char(b));
            ++run_tokens;
            continue;
          }
          flush();
          out.push_back(std::move(t));
        }
        flush();
        tokens = std::move(out);
        break;
      }
      case DecoderStep::Kind::kFuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens = {all};
        break;
      }
      case DecoderStep::Kind::kStrip:
        if (!whole_text) break;
        for (size_t k = 0; k < step.strip_count && !tokens.empty(); ++k)
          if (tokens[0].compare(0, step.strip.size(), step.strip) == 0) tokens[0].erase(0, step.strip.size());
        break;
    }
  }
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

std::string SentencePieceBpeTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || size_t(id) >= known_.size() || !known_[size_t(id)]) return "<|" + std::to_string(id) + "|>";
  return run_decoder({tokens_[size_t(id)]}, false);
}

std::string SentencePieceBpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids)
    tokens.push_back(id >= 0 && size_t(id) < known_.size() && known_[size_t(id)] ? tokens_[size_t(id)]
                                                                                 : "<|" + std::to_string(id) + "|>");
  return run_decoder(std::move(tokens), true);
}

}  // namespace dllm
