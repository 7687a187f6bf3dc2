// Chat prompts: the text a model's chat template makes of one optional system turn and one user turn
// with the assistant's turn opened, as transformers' apply_chat_template(messages, tokenize=False,
// add_generation_prompt=True) renders the released templates of these families:
//   chatml  Qwen2/2.5/3   <|im_start|>ROLE\nCONTENT<|im_end|>\n ... <|im_start|>assistant\n
//                         no BOS, content as given. Qwen3 with enable_thinking left unset (no empty
//                         <think> block). Qwen2/2.5 write a default system turn when none is given:
//                         a literal '<|im_start|>system\n...<|im_end|>' in the template, read from it.
//   llama3  Llama 3       BOS <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ...
//                         <|start_header_id|>assistant<|end_header_id|>\n\n; content trimmed.
//   llama3.1 Llama 3.1-3.3 the same turns, and a system turn always, opening with a dated block:
//                         "Cutting Knowledge Date: K\nToday Date: D\n\n" then the system text (if any).
//                         K is read from the template; D is today's date ("06 Dec 2026") where the
//                         template calls strftime_now (3.2), else its date_string literal (3.1:
//                         "26 Jul 2024"), unless given (--chat-date, transformers' date_string).
//   gemma   Gemma 3/ZAYA1 BOS <start_of_turn>user\nSYSTEM\n\nUSER<end_of_turn>\n<start_of_turn>model\n:
//                         the system text folded into the first user turn; the user text trimmed.
// "Trimmed" is Jinja's trim filter: Python's str.strip(), which strips Unicode whitespace.
// The format is detected from the template's markers or named (--chat-format); the BOS text is the
// tokenizer_config.json's bos_token (the template's {{ bos_token }}), else the family's own.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/tokenizer.h"

namespace dllm {

enum class ChatFormat { chatml, llama3, llama31, gemma };

struct ChatTurns {
  std::optional<std::string> system;  // none: no system turn (an empty one is still a turn)
  std::string user;
};

struct ChatTemplate {
  ChatFormat format;
  std::string bos_token;  // what the template's {{ bos_token }} writes (unused by chatml)
  // chatml: the system turn the template writes when none is given (Qwen2/2.5); none: no such turn.
  std::optional<std::string> default_system = std::nullopt;
  // llama3.1: the dated block that opens the system turn ("Cutting Knowledge Date: ...\n\n").
  std::string date_block = "";
};

// "chatml", "llama3", "llama3.1" or "gemma"; throws naming --chat-format otherwise.
ChatFormat parse_chat_format(const std::string& name);
const char* chat_format_name(ChatFormat format);

// The family whose markers a chat_template (Jinja source) holds; null when it holds none or the
// markers of more than one family.
std::optional<ChatFormat> detect_chat_format(const std::string& chat_template);

// The text of a chatml template's fixed system turn: a Jinja string literal
// '<|im_start|>system\nTEXT<|im_end|>' whose TEXT has no expression in it; null when there is none.
std::optional<std::string> chatml_default_system(const std::string& chat_template);

// The chat template of the model folder `dir` (chat_template.jinja, else tokenizer_config.json's
// chat_template, as transformers reads them): the `named` format when given, else the one detected.
// `today`: llama3.1's date ("26 Jul 2024") instead of the template's. Throws naming the file and
// --chat-format when the template is missing or of no known family.
ChatTemplate find_chat_template(const std::string& dir, std::optional<ChatFormat> named,
                                const std::optional<std::string>& today = std::nullopt);

// The prompt text of `turns` in template `t`, ending with the opened assistant turn.
std::string chat_text(const ChatTemplate& t, const ChatTurns& turns);

// The ids of chat_text(t, turns) under `tok`, as apply_chat_template(tokenize=True) gives them: the
// text alone (the template writes its own BOS; no post-processor tokens). Throws naming `source`
// when a marker of the format (or the BOS text) is not one token of `tok`, as the model then was
// not trained for this format.
std::vector<int32_t> encode_chat(const Tokenizer& tok, const ChatTemplate& t, const ChatTurns& turns,
                                 const std::string& source);

}  // namespace dllm
