#include "engine/bench/suite.h"

#include <algorithm>
#include <sstream>

#include "datasets/prompts.h"
#include "core/check.h"
#include "engine/model/tokenizer.h"

namespace dllm {

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<SuitePrompt> load_suite(const std::string& path, const std::vector<std::string>& categories,
                                    const ModelConfig& cfg) {
  std::vector<SuitePrompt> out;
  for (const Prompt& p : load_prompts(path)) {
    if (!categories.empty() && std::find(categories.begin(), categories.end(), p.category) == categories.end())
      continue;
    DLLM_CHECK(p.tokens || cfg.byte_tokenizer, path, ": prompt ", p.id,
               " is text but the model has no byte tokenizer: give the prompts as token ids");
    SuitePrompt s{p.id, p.category, p.tokens ? *p.tokens : ByteTokenizer(cfg).encode(*p.text), std::nullopt};
    if (p.answer) {  // answer bytes, without the <bos> the tokenizer puts first
      std::vector<int32_t> ids = ByteTokenizer(cfg).encode(*p.answer);
      if (cfg.bos_token_id >= 0) ids.erase(ids.begin());
      s.answer = ids;
    }
    out.push_back(std::move(s));
  }
  std::string wanted;
  for (const std::string& c : categories) wanted += (wanted.empty() ? "" : ",") + c;
  DLLM_CHECK(!out.empty(), path, ": no prompt selected", categories.empty() ? "" : " by categories " + wanted);
  return out;
}

}  // namespace dllm
