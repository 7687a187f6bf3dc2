#include "engine/bench/suite.h"

#include <algorithm>
#include <sstream>

#include "datasets/prompts.h"
#include "core/check.h"

namespace dllm {

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<SuitePrompt> load_suite(const std::string& path, const std::vector<std::string>& categories,
                                    const Tokenizer* tok, const SuiteChat* chat) {
  std::vector<SuitePrompt> out;
  for (const Prompt& p : load_prompts(path)) {
    if (!categories.empty() && std::find(categories.begin(), categories.end(), p.category) == categories.end())
      continue;
    DLLM_CHECK(p.tokens || tok, path, ": prompt ", p.id,
               " is text but the model has no tokenizer (no tokenizer.json, no tokenizer.model, no byte tokenizer): "
               "give the prompts "
               "as token ids");
    DLLM_CHECK(!(p.tokens && chat), path, ": prompt ", p.id,
               " is token ids, which --chat cannot put in a chat turn: give text prompts, or drop --chat");
    SuitePrompt s{p.id, p.category,
                  p.tokens ? *p.tokens
                  : chat   ? encode_chat(*tok, chat->chat_template, {chat->system, *p.text}, chat->source)
                           : tok->encode(*p.text),
                  std::nullopt};
    if (p.answer) {  // the answer's ids alone, without the <bos> the tokenizer puts before a prompt
      DLLM_CHECK(tok, path, ": prompt ", p.id, " has a text answer but the model has no tokenizer");
      s.answer = tok->encode_text(*p.answer);
    }
    out.push_back(std::move(s));
  }
  std::string wanted;
  for (const std::string& c : categories) wanted += (wanted.empty() ? "" : ",") + c;
  DLLM_CHECK(!out.empty(), path, ": no prompt selected", categories.empty() ? "" : " by categories " + wanted);
  return out;
}

}  // namespace dllm
