#include "engine/model/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#ifdef DLLM_HAVE_ICU
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#endif

#include "core/check.h"

namespace dllm {

using nlohmann::json;
using tokjson::append_utf8;
using tokjson::code_points;
using tokjson::refuse;
using tokjson::token_id;
using tokjson::type_of;
using tokjson::utf8_sequence;

namespace {

// GPT-2's split, which a ByteLevel pre-tokenizer with use_regex applies.
constexpr const char* kGpt2Split = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The byte-level alphabet: every byte stands for one printable code point. Bytes that print as
// themselves ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) keep their value; the others, in byte order,
// take U+0100, U+0101, ...
std::array<uint32_t, 256> byte_code_points() {
  std::array<uint32_t, 256> cp{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool prints = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    cp[b] = prints ? b : next++;
  }
  return cp;
}
const std::array<uint32_t, 256> kByteCodePoints = byte_code_points();

}  // namespace

// A pattern compiled for UTF-8 text with Unicode properties (\p{L}, \s, case folding of (?i:...)).
class BpeTokenizer::Regex {
 public:
  Regex(const std::string& pattern, bool literal, const std::string& path) {
    int err = 0;
    PCRE2_SIZE at = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0), &err, &at, nullptr);
    if (!code_) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail(path, ": pre_tokenizer Split pattern does not compile (", reinterpret_cast<char*>(msg), " at offset ", at,
           "): ", pattern);
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // faster where JIT is available; plain matching otherwise
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Splits `text` into its matches and the text between them ("Isolated"), in order; none empty.
  void split(const std::string& text, std::vector<std::string>& out) const {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    // Match data of this call alone: encode may run on several threads at once.
    const std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(
        pcre2_match_data_create_from_pattern(code_, nullptr), pcre2_match_data_free);
    size_t done = 0, from = 0;
    while (from < text.size()) {
      const int rc = pcre2_match(code_, subject, text.size(), from, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      DLLM_CHECK(rc >= 0, "pre-tokenizer regex failed on the text (PCRE2 error ", rc, ")");
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
      const size_t begin = ov[0], end = ov[1];
      if (begin == end) {  // an empty match splits nothing: go on after this code point
        from = begin + std::max<size_t>(1, utf8_sequence(text, begin));
        continue;
      }
      if (begin > done) out.push_back(text.substr(done, begin - done));
      out.push_back(text.substr(begin, end - begin));
      done = from = end;
    }
    if (done < text.size()) out.push_back(text.substr(done));
  }

 private:
  pcre2_code* code_ = nullptr;
};

BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer::BpeTokenizer(const std::string& path, const json& j) : path_(path) {
  try {
    // normalizer
    const json norm = j.value("normalizer", json());
    if (type_of(norm) == "NFC") {
#ifdef DLLM_HAVE_ICU
      nfc_ = true;
#else
      fail(path,
           ": normalizer NFC needs ICU, and this dllm-bench was built without it (install libicu-dev and rebuild)");
#endif
    } else if (!norm.is_null()) {
      refuse(path, "normalizer", type_of(norm));
    }

    // pre_tokenizer: Split steps, then ByteLevel
    const json pre = j.value("pre_tokenizer", json());
    std::vector<json> steps;
    if (type_of(pre) == "Sequence")
      steps = pre.value("pretokenizers", std::vector<json>());
    else
      steps = {pre};
    bool byte_level = false;
    for (const json& s : steps) {
      const std::string t = type_of(s);
      DLLM_CHECK(!byte_level, path, ": pre_tokenizer ", t, " after ByteLevel is not supported");
      if (t == "ByteLevel") {
        byte_level = true;
        if (s.value("add_prefix_space", false)) refuse(path, "pre_tokenizer ByteLevel", "with add_prefix_space true");
        if (s.value("use_regex", true)) splits_.push_back(std::make_unique<Regex>(kGpt2Split, false, path));
      } else if (t == "Split") {
        const std::string behavior = s.value("behavior", std::string());
        if (behavior != "Isolated") refuse(path, "pre_tokenizer Split", "with behavior " + behavior);
        if (s.value("invert", false)) refuse(path, "pre_tokenizer Split", "with invert true");
        const json pat = s.value("pattern", json());
        if (pat.contains("Regex"))
          splits_.push_back(std::make_unique<Regex>(pat["Regex"].get<std::string>(), false, path));
        else if (pat.contains("String"))
          splits_.push_back(std::make_unique<Regex>(pat["String"].get<std::string>(), true, path));
        else
          refuse(path, "pre_tokenizer Split", "with pattern " + pat.dump());
      } else {
        refuse(path, "pre_tokenizer", t);
      }
    }
    if (!byte_level) refuse(path, "pre_tokenizer", type_of(pre) + " without ByteLevel");

    // model
    const json model = j.value("model", json());
    if (type_of(model) != "BPE") refuse(path, "model", type_of(model));
    if (model.value("byte_fallback", false)) refuse(path, "model BPE", "with byte_fallback true");
    if (!model.value("dropout", json()).is_null() && model["dropout"].get<double>() != 0.0)
      refuse(path, "model BPE", "with dropout");
    if (!tokjson::null_or_empty(model, "continuing_subword_prefix") ||
        !tokjson::null_or_empty(model, "end_of_word_suffix"))
      refuse(path, "model BPE", "with a continuing_subword_prefix or end_of_word_suffix");
    ignore_merges_ = model.value("ignore_merges", false);
    DLLM_CHECK(model.contains("vocab") && model["vocab"].is_object(), path, ": model.vocab is missing");
    std::unordered_map<uint32_t, int> byte_of;
    for (int b = 0; b < 256; ++b) byte_of[kByteCodePoints[size_t(b)]] = b;
    const auto set_token = [&](int32_t id, std::string bytes) {
      if (size_t(id) >= bytes_.size()) bytes_.resize(size_t(id) + 1), known_.resize(size_t(id) + 1);
      DLLM_CHECK(!known_[size_t(id)] || bytes_[size_t(id)] == bytes, path, ": id ", id,
                 " is given to two different tokens");
      bytes_[size_t(id)] = std::move(bytes);
      known_[size_t(id)] = true;
    };
    for (const auto& [symbol, id_json] : model["vocab"].items()) {
      const int32_t id = token_id(id_json, path, "vocab token \"" + symbol + "\" has id");
      std::string bytes;
      for (uint32_t cp : code_points(symbol)) {
        const auto b = byte_of.find(cp);
        DLLM_CHECK(b != byte_of.end(), path, ": vocab token \"", symbol, "\" (id ", id,
                   ") is not byte-level (decoder ByteLevel cannot map it to bytes)");
        bytes.push_back(char(b->second));
      }
      vocab_[symbol] = id;
      set_token(id, std::move(bytes));
    }
    for (int b = 0; b < 256; ++b) {
      std::string symbol;
      append_utf8(symbol, kByteCodePoints[size_t(b)]);
      const auto it = vocab_.find(symbol);
      DLLM_CHECK(it != vocab_.end(), path, ": the vocab has no token for byte ", b, " (\"", symbol,
                 "\"): not a byte-level vocabulary");
      byte_ids_[size_t(b)] = it->second;
    }
    const std::vector<std::pair<std::string, std::string>> merges = tokjson::read_merges(model, path);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [left, right] = merges[rank];
      const auto l = vocab_.find(left), r = vocab_.find(right), lr = vocab_.find(left + right);
      DLLM_CHECK(l != vocab_.end() && r != vocab_.end() && lr != vocab_.end(), path, ": merge ", rank, " (\"", left,
                 "\" \"", right, "\") names a token the vocab does not have");
      merges_.add(l->second, r->second, lr->second);
    }

    added_ = tokjson::AddedTokens(j.value("added_tokens", json::array()), path, [](const json&) { return true; });
    for (const tokjson::AddedTokens::Token& t : added_.tokens()) set_token(t.id, t.content);
    template_ = tokjson::TextTemplate(j.value("post_processor", json()), path);

    // decoder
    const json dec = j.value("decoder", json());
    if (type_of(dec) != "ByteLevel") refuse(path, "decoder", type_of(dec));
  } catch (const json::exception& e) {  // a field of the wrong type: the file is wrong, not dllm-bench
    fail(path, ": not a tokenizer.json dllm-bench can read (", e.what(), ")");
  }
}

std::vector<int32_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids = template_.prefix;
  const std::vector<int32_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), template_.suffix.begin(), template_.suffix.end());
  return ids;
}

std::vector<int32_t> BpeTokenizer::encode_text(const std::string& text) const {
  tokjson::check_utf8(text, path_);
  std::vector<int32_t> ids;
  added_.split(
      text, [&](const std::string& plain, size_t) { encode_plain(plain, ids); },
      [&](int32_t id) { ids.push_back(id); });
  return ids;
}

void BpeTokenizer::encode_plain(const std::string& text, std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  std::vector<std::string> pieces;
#ifdef DLLM_HAVE_ICU
  if (nfc_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
    DLLM_CHECK(U_SUCCESS(status), "ICU has no NFC normalizer (", u_errorName(status), ")");
    const icu::UnicodeString normalized = nfc->normalize(icu::UnicodeString::fromUTF8(text), status);
    DLLM_CHECK(U_SUCCESS(status), "NFC normalization failed (", u_errorName(status), ")");
    pieces.emplace_back();
    normalized.toUTF8String(pieces.back());
  }
#endif
  if (pieces.empty()) pieces.push_back(text);
  for (const auto& regex : splits_) {
    std::vector<std::string> next;
    for (const std::string& p : pieces) regex->split(p, next);
    pieces = std::move(next);
  }
  for (const std::string& word : pieces) encode_word(word, ids);
}

void BpeTokenizer::encode_word(const std::string& word, std::vector<int32_t>& ids) const {
  if (ignore_merges_) {
    std::string symbol;
    for (unsigned char b : word) append_utf8(symbol, kByteCodePoints[b]);
    if (const auto it = vocab_.find(symbol); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> symbols;
  for (unsigned char b : word) symbols.push_back(byte_ids_[b]);
  merges_.apply(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  if (id >= 0 && size_t(id) < known_.size() && known_[size_t(id)]) return bytes_[size_t(id)];
  return "<|" + std::to_string(id) + "|>";
}

std::string byte_level_symbol(uint8_t b) {
  std::string out;
  append_utf8(out, kByteCodePoints[b]);
  return out;
}

}  // namespace dllm
