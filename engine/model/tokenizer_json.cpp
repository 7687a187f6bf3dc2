#include "engine/model/tokenizer_json.h"

#include <algorithm>
#include <fstream>

#include "core/check.h"

namespace dllm::tokjson {

json read_file(const std::string& path) {
  std::ifstream in(path);
  DLLM_CHECK(in.good(), path, ": cannot open the tokenizer file");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  DLLM_CHECK(j.is_object(), path, ": not a tokenizer.json (the top level is not an object)");
  return j;
}

std::string type_of(const json& j) {
  if (!j.is_object()) return "null";
  const auto type = j.find("type");
  if (type == j.end()) return "(no type)";
  return type->is_string() ? type->get<std::string>() : "(type " + type->dump() + ")";
}

void refuse(const std::string& path, const std::string& component, const std::string& what) {
  fail(path, ": ", component, " ", what,
       " is not supported (dllm-bench reads byte-level BPE tokenizers: GPT-2, Llama 3, Qwen2/3; and "
       "SentencePiece-style BPE tokenizers: Llama 2, Mistral, Gemma)");
}

int32_t token_id(const json& v, const std::string& path, const std::string& what) {
  DLLM_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (1 << 22), path, ": ", what, " ",
             v.dump(), ", not a token id (an integer in 0..4194303)");
  return int32_t(v.get<int64_t>());
}

bool null_or_empty(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key].get<std::string>().empty());
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& path) {
  const std::vector<json> merges = model.value("merges", std::vector<json>());
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    if (merges[rank].is_string()) {
      const std::string m = merges[rank].get<std::string>();
      const size_t space = m.find(' ');
      DLLM_CHECK(space != std::string::npos && m.find(' ', space + 1) == std::string::npos, path, ": merge ", rank,
                 " \"", m, "\" is not two tokens separated by one space");
      out.emplace_back(m.substr(0, space), m.substr(space + 1));
    } else {
      DLLM_CHECK(merges[rank].is_array() && merges[rank].size() == 2, path, ": merge ", rank, " is not a pair");
      out.emplace_back(merges[rank][0].get<std::string>(), merges[rank][1].get<std::string>());
    }
  }
  return out;
}

AddedTokens::AddedTokens(const json& added_tokens, const std::string& path,
                         const std::function<bool(const json&)>& keep) {
  for (const json& t : added_tokens) {
    const std::string content = t.value("content", std::string());
    DLLM_CHECK(!content.empty(), path, ": an added token has no content");
    for (const char* flag : {"single_word", "lstrip", "rstrip"})
      if (t.value(flag, false)) refuse(path, "added token \"" + content + "\"", std::string("with ") + flag + " true");
    const int32_t id = token_id(t.value("id", json()), path, "added token \"" + content + "\" has id");
    if (keep(t)) tokens_.push_back({content, id});
  }
  index();
}

void AddedTokens::index() {
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const Token& a, const Token& b) { return a.content.size() > b.content.size(); });
  for (std::vector<size_t>& bucket : by_first_byte_) bucket.clear();
  for (size_t k = 0; k < tokens_.size(); ++k)
    by_first_byte_[static_cast<unsigned char>(tokens_[k].content[0])].push_back(k);
}

void AddedTokens::transform(const std::function<std::string(const std::string&)>& f) {
  for (Token& t : tokens_) t.content = f(t.content);
  std::erase_if(tokens_, [](const Token& t) { return t.content.empty(); });
  index();
}

void AddedTokens::split(const std::string& text, const std::function<void(const std::string&, size_t)>& on_text,
                        const std::function<void(int32_t)>& on_token) const {
  size_t plain = 0;  // the start of the text not yet handed on
  for (size_t i = 0; i < text.size();) {
    const Token* hit = nullptr;
    for (size_t k : by_first_byte_[static_cast<unsigned char>(text[i])])  // longest first
      if (text.compare(i, tokens_[k].content.size(), tokens_[k].content) == 0) {
        hit = &tokens_[k];
        break;
      }
    if (!hit) {
      i += std::max<size_t>(1, utf8_sequence(text, i));
      continue;
    }
    if (i > plain) on_text(text.substr(plain, i - plain), plain);
    on_token(hit->id);
    i = plain = i + hit->content.size();
  }
  if (plain < text.size()) on_text(text.substr(plain), plain);
}

TextTemplate::TextTemplate(const json& post_processor, const std::string& path) {
  const std::function<void(const json&)> read = [&](const json& p) {
    const std::string t = type_of(p);
    if (t == "Sequence") {
      for (const json& q : p.value("processors", std::vector<json>())) read(q);
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
          (after ? suffix : prefix).push_back(token_id(id, path, "post_processor special token " + name + " has id"));
      }
    } else if (t != "ByteLevel" && t != "null") {  // ByteLevel only adjusts offsets
      refuse(path, "post_processor", t);
    }
  };
  read(post_processor);
}

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

bool is_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void check_utf8(const std::string& text, const std::string& path) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence(text, i);
    DLLM_CHECK(n > 0, "the text is not valid UTF-8 (byte ", i, "), which ", path, " cannot encode");
    i += n;
  }
}

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

}  // namespace dllm::tokjson
