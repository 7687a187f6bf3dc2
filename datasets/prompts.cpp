#include "datasets/prompts.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/check.h"

namespace dllm {

namespace {

using nlohmann::json;

std::string string_field(const json& j, const char* key, const std::string& where) {
  DLLM_CHECK(j.at(key).is_string(), where, ": \"", key, "\" must be a string");
  return j.at(key).get<std::string>();
}

Prompt parse_line(const json& j, const std::string& where, int line) {
  DLLM_CHECK(j.is_object(), where, ": each line must be a JSON object");
  Prompt p;
  if (j.contains("id"))
    p.id = j.at("id").is_string() ? j.at("id").get<std::string>() : j.at("id").dump();
  else if (j.contains("question_id"))
    p.id = j.at("question_id").dump();
  else
    p.id = "line" + std::to_string(line);
  if (j.contains("category")) p.category = string_field(j, "category", where);
  if (j.contains("answer")) p.answer = string_field(j, "answer", where);
  const int forms = int(j.contains("prompt")) + int(j.contains("tokens")) + int(j.contains("turns"));
  DLLM_CHECK(forms == 1, where, ": give exactly one of \"prompt\", \"tokens\" or \"turns\"");
  if (j.contains("prompt")) p.text = string_field(j, "prompt", where);
  if (j.contains("turns")) {
    const json& turns = j.at("turns");
    DLLM_CHECK(turns.is_array() && !turns.empty() && turns[0].is_string(), where,
               ": \"turns\" must be a non-empty array of strings");
    p.text = turns[0].get<std::string>();  // the first turn: single-turn decoding
  }
  if (j.contains("tokens")) {
    const json& t = j.at("tokens");
    DLLM_CHECK(t.is_array() && !t.empty(), where, ": \"tokens\" must be a non-empty array of token ids");
    std::vector<int32_t> ids;
    for (const json& id : t) {
      DLLM_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX, where,
                 ": \"tokens\" must hold non-negative integers, got ", id.dump());
      ids.push_back(int32_t(id.get<int64_t>()));
    }
    p.tokens = ids;
  }
  return p;
}

}  // namespace

std::vector<Prompt> load_prompts(const std::string& path) {
  std::ifstream in(path);
  DLLM_CHECK(in.good(), path, ": cannot open the prompt file (does it exist?)");
  std::vector<Prompt> prompts;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line);
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception&) {
      fail(where, ": not valid JSON; each line must be one JSON object");
    }
    prompts.push_back(parse_line(j, where, line));
  }
  DLLM_CHECK(!prompts.empty(), path, ": no prompts in the file");
  return prompts;
}

}  // namespace dllm
