#include "engine/model/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <queue>
#include <nlohmann/json.hpp>

#ifdef DLLM_HAVE_ICU
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#endif

#include "core/check.h"

namespace dllm {

using nlohmann::json;

namespace {

// GPT-2's split, which a ByteLevel pre-tokenizer with use_regex applies.
constexpr const char* kGpt2Split = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

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

// The length of the valid UTF-8 sequence at s[i], or 0 when none begins there.
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  const unsigned char c1 = byte(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
    return 0;  // overlong, a surrogate, or past U+10FFFF
  return n;
}

// The code points of a UTF-8 string known to be valid (JSON strings are).
std::vector<uint32_t> code_points(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string type_of(const json& j) { return j.is_object() ? j.value("type", std::string("(no type)")) : "null"; }

// A token id read from the file: an integer in 0..2^22 (real vocabularies hold up to a few 100k).
int32_t token_id(const json& v, const std::string& path, const std::string& what) {
  DLLM_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (1 << 22), path, ": ", what, " ",
             v.dump(), ", not a token id (an integer in 0..4194303)");
  return int32_t(v.get<int64_t>());
}

bool null_or_empty(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key].get<std::string>().empty());
}

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

BpeTokenizer::BpeTokenizer(const std::string& path) : path_(path) {
  std::ifstream in(path);
  DLLM_CHECK(in.good(), path, ": cannot open the tokenizer file");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  DLLM_CHECK(j.is_object(), path, ": not a tokenizer.json (the top level is not an object)");
  try {
    const auto unsupported = [&](const std::string& component, const std::string& what) {
      fail(path, ": ", component, " ", what,
           " is not supported (dllm-bench reads byte-level BPE tokenizers: GPT-2, Llama 3, Qwen2/3)");
    };

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
      unsupported("normalizer", type_of(norm));
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
        if (s.value("add_prefix_space", false)) unsupported("pre_tokenizer ByteLevel", "with add_prefix_space true");
        if (s.value("use_regex", true)) splits_.push_back(std::make_unique<Regex>(kGpt2Split, false, path));
      } else if (t == "Split") {
        const std::string behavior = s.value("behavior", std::string());
        if (behavior != "Isolated") unsupported("pre_tokenizer Split", "with behavior " + behavior);
        if (s.value("invert", false)) unsupported("pre_tokenizer Split", "with invert true");
        const json pat = s.value("pattern", json());
        if (pat.contains("Regex"))
          splits_.push_back(std::make_unique<Regex>(pat["Regex"].get<std::string>(), false, path));
        else if (pat.contains("String"))
          splits_.push_back(std::make_unique<Regex>(pat["String"].get<std::string>(), true, path));
        else
          unsupported("pre_tokenizer Split", "with pattern " + pat.dump());
      } else {
        unsupported("pre_tokenizer", t);
      }
    }
    if (!byte_level) unsupported("pre_tokenizer", type_of(pre) + " without ByteLevel");

    // model
    const json model = j.value("model", json());
    if (type_of(model) != "BPE") unsupported("model", type_of(model));
    if (model.value("byte_fallback", false)) unsupported("model BPE", "with byte_fallback true");
    if (!model.value("dropout", json()).is_null() && model["dropout"].get<double>() != 0.0)
      unsupported("model BPE", "with dropout");
    if (!null_or_empty(model, "continuing_subword_prefix") || !null_or_empty(model, "end_of_word_suffix"))
      unsupported("model BPE", "with a continuing_subword_prefix or end_of_word_suffix");
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
    const std::vector<json> merges = model.value("merges", std::vector<json>());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      std::string left, right;
      if (merges[rank].is_string()) {
        const std::string m = merges[rank].get<std::string>();
        const size_t space = m.find(' ');
        DLLM_CHECK(space != std::string::npos && m.find(' ', space + 1) == std::string::npos, path, ": merge ", rank,
                   " \"", m, "\" is not two tokens separated by one space");
        left = m.substr(0, space), right = m.substr(space + 1);
      } else {
        DLLM_CHECK(merges[rank].is_array() && merges[rank].size() == 2, path, ": merge ", rank, " is not a pair");
        left = merges[rank][0].get<std::string>(), right = merges[rank][1].get<std::string>();
      }
      const auto l = vocab_.find(left), r = vocab_.find(right), lr = vocab_.find(left + right);
      DLLM_CHECK(l != vocab_.end() && r != vocab_.end() && lr != vocab_.end(), path, ": merge ", rank, " (\"", left,
                 "\" \"", right, "\") names a token the vocab does not have");
      const uint64_t key = uint64_t(uint32_t(l->second)) << 32 | uint32_t(r->second);
      merges_.emplace(key, Merge{int32_t(rank), lr->second});  // a repeated pair keeps its first rank
    }

    // added_tokens
    for (const json& t : j.value("added_tokens", std::vector<json>())) {
      const std::string content = t.value("content", std::string());
      DLLM_CHECK(!content.empty(), path, ": an added token has no content");
      for (const char* flag : {"single_word", "lstrip", "rstrip"})
        if (t.value(flag, false)) unsupported("added token \"" + content + "\"", std::string("with ") + flag + " true");
      added_.push_back({content, token_id(t.value("id", json()), path, "added token \"" + content + "\" has id")});
      set_token(added_.back().id, content);
    }
    std::stable_sort(added_.begin(), added_.end(),
                     [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });

    // post_processor: special tokens around the text
    const std::function<void(const json&)> post = [&](const json& p) {
      const std::string t = type_of(p);
      if (t == "Sequence") {
        for (const json& q : p.value("processors", std::vector<json>())) post(q);
      } else if (t == "TemplateProcessing") {
        bool after = false;
        for (const json& piece : p.value("single", std::vector<json>())) {
          if (piece.contains("Sequence")) {
            after = true;
            continue;
          }
          DLLM_CHECK(piece.contains("SpecialToken"), path, ": post_processor TemplateProcessing piece ", piece.dump(),
                     " is not supported");
          const std::string name = piece["SpecialToken"].value("id", std::string());
          const json ids = p.value("special_tokens", json::object()).value(name, json::object()).value("ids", json());
          DLLM_CHECK(ids.is_array(), path, ": post_processor TemplateProcessing names special token ", name,
                     " but does not give its ids");
          for (const json& id : ids)
            (after ? suffix_ : prefix_)
                .push_back(token_id(id, path, "post_processor special token " + name + " has id"));
        }
      } else if (t != "ByteLevel" && t != "null") {  // ByteLevel only adjusts offsets
        unsupported("post_processor", t);
      }
    };
    post(j.value("post_processor", json()));

    // decoder
    const json dec = j.value("decoder", json());
    if (type_of(dec) != "ByteLevel") unsupported("decoder", type_of(dec));
  } catch (const json::exception& e) {  // a field of the wrong type: the file is wrong, not dllm-bench
    fail(path, ": not a tokenizer.json dllm-bench can read (", e.what(), ")");
  }
}

std::vector<int32_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> ids = prefix_;
  const std::vector<int32_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

std::vector<int32_t> BpeTokenizer::encode_text(const std::string& text) const {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence(text, i);
    DLLM_CHECK(n > 0, "the text is not valid UTF-8 (byte ", i, "), which ", path_, " cannot encode");
    i += n;
  }
  std::vector<int32_t> ids;
  size_t plain = 0;  // the start of the text not yet encoded
  for (size_t i = 0; i < text.size();) {
    const AddedToken* hit = nullptr;
    for (const AddedToken& t : added_)  // longest first
      if (text.compare(i, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    if (!hit) {
      i += utf8_sequence(text, i);
      continue;
    }
    encode_plain(text.substr(plain, i - plain), ids);
    ids.push_back(hit->id);
    i = plain = i + hit->content.size();
  }
  encode_plain(text.substr(plain), ids);
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
  // Repeatedly merge the pair with the lowest rank (the leftmost of equals). The word is a linked
  // list over its byte positions; a heap holds the candidate merges, each checked when it comes up
  // (a position's token only grows, so a candidate whose two tokens are still there is current).
  const int n = int(word.size());
  std::vector<int32_t> token(word.size());  // [n] the token starting at each live position
  std::vector<int> next(word.size()), prev(word.size());
  for (int i = 0; i < n; ++i) {
    token[size_t(i)] = byte_ids_[static_cast<unsigned char>(word[size_t(i)])];
    next[size_t(i)] = i + 1;
    prev[size_t(i)] = i - 1;
  }
  struct Candidate {
    int32_t rank, left, right;
    int at;  // position of the left token
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : at > o.at; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  const auto offer = [&](int at) {  // the pair starting at `at`, when the merges have it
    if (at < 0 || next[size_t(at)] >= n) return;
    const int32_t l = token[size_t(at)], r = token[size_t(next[size_t(at)])];
    const auto m = merges_.find(uint64_t(uint32_t(l)) << 32 | uint32_t(r));
    if (m != merges_.end()) heap.push({m->second.rank, l, r, at});
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  std::vector<bool> dead(word.size(), false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int r = next[size_t(c.at)];
    if (dead[size_t(c.at)] || r >= n || token[size_t(c.at)] != c.left || token[size_t(r)] != c.right) continue;
    token[size_t(c.at)] = merges_.at(uint64_t(uint32_t(c.left)) << 32 | uint32_t(c.right)).id;
    dead[size_t(r)] = true;
    next[size_t(c.at)] = next[size_t(r)];
    if (next[size_t(r)] < n) prev[size_t(next[size_t(r)])] = c.at;
    offer(prev[size_t(c.at)]);
    offer(c.at);
  }
  for (int i = 0; i < n; i = next[size_t(i)]) ids.push_back(token[size_t(i)]);
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  if (id >= 0 && size_t(id) < known_.size() && known_[size_t(id)]) return bytes_[size_t(id)];
  return "<|" + std::to_string(id) + "|>";
}

}  // namespace dllm
