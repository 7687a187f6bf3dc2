#include "engine/model/chat_format.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/check.h"
#include "core/clock.h"

namespace dllm {

namespace {

using nlohmann::json;

struct FormatSpec {
  ChatFormat format;
  const char* name;
  const char* marker;                 // the marker that identifies the family in a chat_template (none:
                                      // a refinement of another family, see detect_chat_format)
  const char* default_bos;            // the family's BOS text; empty when the template writes none
  std::vector<const char*> specials;  // the markers that must be single tokens
};

const std::vector<FormatSpec>& format_specs() {
  static const std::vector<FormatSpec> specs = {
      {ChatFormat::chatml, "chatml", "<|im_start|>", "", {"<|im_start|>", "<|im_end|>"}},
      {ChatFormat::llama3,
       "llama3",
       "<|start_header_id|>",
       "<|begin_of_text|>",
       {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}},
      {ChatFormat::llama31,
       "llama3.1",
       nullptr,
       "<|begin_of_text|>",
       {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}},
      {ChatFormat::gemma, "gemma", "<start_of_turn>", "<bos>", {"<start_of_turn>", "<end_of_turn>"}},
  };
  return specs;
}

const FormatSpec& spec_of(ChatFormat f) {
  for (const FormatSpec& s : format_specs())
    if (s.format == f) return s;
  DLLM_ASSERT(false);
}

std::string format_names() {
  std::string names;
  for (const FormatSpec& s : format_specs()) {
    if (!names.empty()) names += '|';
    names += s.name;
  }
  return names;
}

// The code point of the UTF-8 sequence at s[i] and its length in *len; -1 (length 1) for a byte
// that begins no valid sequence.
int32_t code_point_at(const std::string& s, size_t i, size_t* len) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  *len = 1;
  if (n == 0 || i + n > s.size()) return -1;
  int32_t cp = n == 1 ? c : c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  *len = n;
  return cp;
}

// Python's str.isspace(): what Jinja's trim filter (str.strip()) removes.
bool python_space(int32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Jinja's `text | trim`.
std::string trim(const std::string& text) {
  size_t begin = 0, len = 0;
  while (begin < text.size() && python_space(code_point_at(text, begin, &len))) begin += len;
  size_t end = text.size();
  while (end > begin) {
    size_t start = end - 1;  // the lead byte of the last code point
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    if (!python_space(code_point_at(text, start, &len)) || start + len != end) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::optional<std::string> read_text(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  DLLM_CHECK(in.good() || in.eof(), path.string(), ": cannot be read");
  return text.str();
}

// tokenizer_config.json's chat_template: a string, or a list of {name, template} (the "default" one).
std::optional<std::string> config_template(const json& config, const std::string& file) {
  if (!config.contains("chat_template") || config["chat_template"].is_null()) return std::nullopt;
  const json& t = config["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  DLLM_CHECK(t.is_array(), file, ": chat_template must be a string or a list of {name, template}");
  for (const json& named : t)
    if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
        named["template"].is_string())
      return named["template"].get<std::string>();
  fail(file, ": chat_template is a list without a template named \"default\"");
}

// tokenizer_config.json's bos_token: a string, or an added token {"content": ...}.
std::optional<std::string> config_bos(const json& config) {
  const json bos = config.value("bos_token", json());
  if (bos.is_string()) return bos.get<std::string>();
  if (bos.is_object() && bos.contains("content") && bos["content"].is_string())
    return bos["content"].get<std::string>();
  return std::nullopt;
}

constexpr const char* kKnowledgeDate = "Cutting Knowledge Date: ";

// The text of the Jinja source `t` from `key` on to the first string-literal end (a newline escape
// \n, a quote); null when `key` is absent or nothing follows it.
std::optional<std::string> literal_after(const std::string& t, const std::string& key) {
  const size_t at = t.find(key);
  if (at == std::string::npos) return std::nullopt;
  const size_t begin = at + key.size(), end = t.find_first_of("\\'\"", begin);
  if (end == std::string::npos || end == begin) return std::nullopt;
  return t.substr(begin, end - begin);
}

// Llama 3.1+'s dated block: the knowledge date the template writes (December 2023 without a template)
// and `today`, else today's date where the template calls strftime_now, else its date_string literal.
std::string date_block(const std::optional<std::string>& chat_template, const std::optional<std::string>& today,
                       const std::string& source) {
  const std::string knowledge =
      chat_template ? literal_after(*chat_template, kKnowledgeDate).value_or("") : "December 2023";
  DLLM_CHECK(!knowledge.empty(), source, ": the template's \"", kKnowledgeDate, "\" has no date after it");
  std::string date = today.value_or("");
  if (date.empty() && chat_template && chat_template->find("strftime_now") != std::string::npos)
    date = format_now("%d %b %Y", false);  // as transformers' strftime_now: datetime.now().strftime
  if (date.empty() && chat_template) {     // {%- set date_string = "26 Jul 2024" %}
    for (const char* key : {"date_string = \"", "date_string = '"})
      if (date.empty()) date = literal_after(*chat_template, key).value_or("");
  }
  if (date.empty() && !chat_template) date = "26 Jul 2024";  // Llama 3.1's own default
  DLLM_CHECK(!date.empty(), source, ": the template sets no date_string and does not call strftime_now: give ",
             "the date with --chat-date, e.g. \"26 Jul 2024\"");
  return std::string(kKnowledgeDate) + knowledge + "\nToday Date: " + date + "\n\n";
}

// A Llama 3 turn, without its <|eot_id|>.
std::string turn(const std::string& role, const std::string& content) {
  return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content;
}

}  // namespace

ChatFormat parse_chat_format(const std::string& name) {
  for (const FormatSpec& s : format_specs())
    if (name == s.name) return s.format;
  fail("--chat-format must be one of ", format_names(), ", got '", name, "'");
}

const char* chat_format_name(ChatFormat format) { return spec_of(format).name; }

std::optional<ChatFormat> detect_chat_format(const std::string& chat_template) {
  std::optional<ChatFormat> found;
  for (const FormatSpec& s : format_specs()) {
    if (!s.marker || chat_template.find(s.marker) == std::string::npos) continue;
    if (found) return std::nullopt;
    found = s.format;
  }
  // Llama 3.1 and later: Llama 3's markers and a dated system block.
  if (found == ChatFormat::llama3 && chat_template.find(kKnowledgeDate) != std::string::npos)
    return ChatFormat::llama31;
  return found;
}

std::optional<std::string> chatml_default_system(const std::string& chat_template) {
  // In the Jinja source a newline inside a string literal is the escape \n.
  const std::string open = "<|im_start|>system\\n", close = "<|im_end|>";
  for (size_t at = chat_template.find(open); at != std::string::npos; at = chat_template.find(open, at + 1)) {
    const size_t begin = at + open.size(), end = chat_template.find(close, begin);
    if (end == std::string::npos) break;
    const std::string text = chat_template.substr(begin, end - begin);
    // Text only: a quote ends the literal (an expression follows), a brace or backslash is Jinja or an escape.
    if (!text.empty() && text.find_first_of("'\"{}\\") == std::string::npos) return text;
  }
  return std::nullopt;
}

ChatTemplate find_chat_template(const std::string& dir, std::optional<ChatFormat> named,
                                const std::optional<std::string>& today) {
  const std::filesystem::path jinja = std::filesystem::path(dir) / "chat_template.jinja";
  const std::filesystem::path config_path = std::filesystem::path(dir) / "tokenizer_config.json";
  json config = json::object();
  if (const std::optional<std::string> text = read_text(config_path)) {
    config = json::parse(*text, nullptr, false);
    DLLM_CHECK(config.is_object(), config_path.string(), ": not a JSON object");
  }
  std::optional<std::string> source_file;
  std::optional<std::string> chat_template = read_text(jinja);
  if (chat_template) {
    source_file = jinja.string();
  } else if ((chat_template = config_template(config, config_path.string()))) {
    source_file = config_path.string();
  }
  const std::string set_flag = "name the format with --chat-format " + format_names();
  if (!named) {
    DLLM_CHECK(chat_template, dir, " has no chat template (no chat_template.jinja, no chat_template in ",
               "tokenizer_config.json): ", set_flag);
    named = detect_chat_format(*chat_template);
    DLLM_CHECK(
        named, *source_file, ": the chat_template is of no family dllm-bench knows (it holds the markers of ",
        "none or of several of chatml <|im_start|>, llama3 <|start_header_id|>, gemma <start_of_turn>): ", set_flag);
  }
  const FormatSpec& spec = spec_of(*named);
  ChatTemplate t{*named, *spec.default_bos ? config_bos(config).value_or(spec.default_bos) : ""};
  if (*named == ChatFormat::chatml && chat_template) t.default_system = chatml_default_system(*chat_template);
  if (*named == ChatFormat::llama31) t.date_block = date_block(chat_template, today, source_file.value_or(dir));
  return t;
}

std::string chat_text(const ChatTemplate& t, const ChatTurns& turns) {
  switch (t.format) {
    case ChatFormat::chatml: {
      std::string text;
      if (const std::optional<std::string> system = turns.system ? turns.system : t.default_system)
        text += "<|im_start|>system\n" + *system + "<|im_end|>\n";
      return text + "<|im_start|>user\n" + turns.user + "<|im_end|>\n<|im_start|>assistant\n";
    }
    case ChatFormat::llama3:
    case ChatFormat::llama31: {
      // llama3.1 always writes the system turn, opening with the knowledge and today's date
      std::string system;
      if (t.format == ChatFormat::llama31)
        system = turn("system", t.date_block + (turns.system ? trim(*turns.system) : "")) + "<|eot_id|>";
      else if (turns.system)
        system = turn("system", trim(*turns.system)) + "<|eot_id|>";
      return t.bos_token + system + turn("user", trim(turns.user)) + "<|eot_id|>" + turn("assistant", "");
    }
    case ChatFormat::gemma: {
      const std::string system = turns.system ? *turns.system + "\n\n" : "";
      return t.bos_token + "<start_of_turn>user\n" + system + trim(turns.user) +
             "<end_of_turn>\n<start_of_turn>model\n";
    }
  }
  DLLM_ASSERT(false);
}

std::vector<int32_t> encode_chat(const Tokenizer& tok, const ChatTemplate& t, const ChatTurns& turns,
                                 const std::string& source) {
  std::vector<std::string> singles(spec_of(t.format).specials.begin(), spec_of(t.format).specials.end());
  if (!t.bos_token.empty()) singles.push_back(t.bos_token);
  for (const std::string& marker : singles)
    DLLM_CHECK(tok.encode_text(marker).size() == 1, source, ": the tokenizer has no single token for ", marker,
               ", so the model was not trained for the ", chat_format_name(t.format),
               " chat format: name another with --chat-format, or give the prompt with --prompt");
  return tok.encode_text(chat_text(t, turns));
}

}  // namespace dllm
