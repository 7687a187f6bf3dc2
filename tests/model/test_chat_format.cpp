// Chat formats without Python: each family's prompt text written out by hand (from the released
// templates' structure), Jinja's trim as Python's str.strip(), detection from the markers, where the
// template and the BOS text are read from, and the markers as single ids. Parity with transformers'
// apply_chat_template: tools/parity/chat_parity.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/check.h"
#include "engine/model/tokenizer.h"
#include "engine/model/chat_format.h"
#include "tests/testing.h"

namespace dllm {
namespace {

using nlohmann::json;

const ChatTemplate kChatml{ChatFormat::chatml, ""};
const ChatTemplate kLlama3{ChatFormat::llama3, "<|begin_of_text|>"};
const ChatTemplate kGemma{ChatFormat::gemma, "<bos>"};

// The message of the dllm::Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatFormat, TextOfEachFamily) {
  const ChatTurns both{"Be brief.", "Hi!"}, user_only{std::nullopt, "Hi!"};
  EXPECT_EQ(chat_text(kChatml, both),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat_text(kChatml, user_only), "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      chat_text(kLlama3, both),
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(chat_text(kLlama3, user_only),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(chat_text(kGemma, both), "<bos><start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(chat_text(kGemma, user_only), "<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n");
  // An empty system text is still a turn.
  EXPECT_EQ(chat_text(kChatml, {"", "Hi!"}),
            "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatFormat, Llama31OpensEverySystemTurnWithItsDates) {
  ChatTemplate dated{ChatFormat::llama31, "<|begin_of_text|>"};
  dated.date_block = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
  const std::string head = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + dated.date_block;
  const std::string tail =
      "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(chat_text(dated, {" Be brief. ", " Hi! "}), head + "Be brief." + tail);
  EXPECT_EQ(chat_text(dated, {std::nullopt, "Hi!"}), head + tail);
}

TEST(ChatFormat, TrimIsPythonStrip) {
  // U+3000, U+00A0, U+2028 and \x1f are whitespace to str.strip(); U+200B (zero width space) is not.
  const std::string padded = "\u3000 \t\x1f Hi \u00a0\n\u2028";
  const ChatTurns turns{padded, padded};
  EXPECT_EQ(chat_text(kChatml, turns), "<|im_start|>system\n" + padded + "<|im_end|>\n<|im_start|>user\n" + padded +
                                           "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      chat_text(kLlama3, turns),
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nHi<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  // Gemma trims the user text, not the system text it folds in.
  EXPECT_EQ(chat_text(kGemma, turns),
            "<bos><start_of_turn>user\n" + padded + "\n\nHi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(chat_text(kLlama3, {std::nullopt, "\u200bx\u200b"}),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\u200bx\u200b<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // All whitespace trims to nothing; invalid UTF-8 is kept as it is.
  EXPECT_EQ(chat_text(kGemma, {std::nullopt, " \u3000\n"}),
            "<bos><start_of_turn>user\n<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(chat_text(kGemma, {std::nullopt, " \xff\xe3\x80 "}),
            "<bos><start_of_turn>user\n\xff\xe3\x80<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatFormat, DetectedFromTheMarkers) {
  EXPECT_EQ(detect_chat_format("{{- '<|im_start|>' + message.role }}"), ChatFormat::chatml);
  EXPECT_EQ(detect_chat_format("{{ bos_token }}{{ '<|start_header_id|>' + role }}"), ChatFormat::llama3);
  EXPECT_EQ(detect_chat_format("{{ '<start_of_turn>' + role + '\\n' }}"), ChatFormat::gemma);
  EXPECT_EQ(detect_chat_format("{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}"), std::nullopt);
  EXPECT_EQ(detect_chat_format("<|im_start|> and <start_of_turn>"), std::nullopt);
  EXPECT_EQ(parse_chat_format("gemma"), ChatFormat::gemma);
  EXPECT_EQ(std::string(chat_format_name(ChatFormat::llama3)), "llama3");
  const std::string bad = error_of([] { parse_chat_format("mistral"); });
  EXPECT_NE(bad.find("--chat-format must be one of chatml|llama3|llama3.1|gemma, got 'mistral'"), std::string::npos)
      << bad;
  EXPECT_EQ(parse_chat_format("llama3.1"), ChatFormat::llama31);
}

// Qwen2/2.5 write a fixed system turn when none is given; a system turn built from an expression
// (Qwen3, and the given-system branch of Qwen2.5) is no default.
TEST(ChatFormat, DefaultSystemTurnFromTheTemplate) {
  const std::string qwen25 =
      "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
      "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a "
      "helpful assistant.<|im_end|>\\n' }}{%- endif %}";
  EXPECT_EQ(chatml_default_system(qwen25), "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(chatml_default_system("{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"),
            std::nullopt);
  EXPECT_EQ(chatml_default_system("{{ '<|im_start|>system\\n{{ x }}<|im_end|>' }}"), std::nullopt);
  const ChatTemplate with_default{ChatFormat::chatml, "", "Be kind."};
  EXPECT_EQ(chat_text(with_default, {std::nullopt, "Hi!"}),
            "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat_text(with_default, {"Be brief.", "Hi!"}),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatFormat, TemplateAndBosFromTheFolder) {
  const std::string dir = testutil::fresh_dir("chat_template");
  const auto write_config = [&](const json& j) { std::ofstream(dir + "/tokenizer_config.json") << j.dump(); };
  // No template at all: the error names the folder and the flag; a named format needs none.
  std::string err = error_of([&] { find_chat_template(dir, std::nullopt); });
  EXPECT_NE(err.find(dir + " has no chat template"), std::string::npos) << err;
  EXPECT_NE(err.find("--chat-format chatml|llama3|llama3.1|gemma"), std::string::npos) << err;
  EXPECT_EQ(find_chat_template(dir, ChatFormat::gemma).bos_token, "<bos>");
  EXPECT_EQ(find_chat_template("preset:tiny", ChatFormat::llama3).bos_token, "<|begin_of_text|>");
  // A string template; the BOS text from bos_token (a string or an added token).
  write_config({{"chat_template", "{{ bos_token }}<start_of_turn>"}, {"bos_token", "<s>"}});
  ChatTemplate t = find_chat_template(dir, std::nullopt);
  EXPECT_EQ(t.format, ChatFormat::gemma);
  EXPECT_EQ(t.bos_token, "<s>");
  write_config({{"chat_template", "<|start_header_id|>"}, {"bos_token", {{"content", "<B>"}, {"lstrip", false}}}});
  EXPECT_EQ(find_chat_template(dir, std::nullopt).bos_token, "<B>");
  // chatml writes no BOS whatever the config says; a named format overrides the detected one.
  write_config({{"chat_template", "<|im_start|>"}, {"bos_token", "<s>"}});
  EXPECT_EQ(find_chat_template(dir, std::nullopt).bos_token, "");
  EXPECT_EQ(find_chat_template(dir, ChatFormat::llama3).bos_token, "<s>");
  // The list form: the template named "default".
  write_config({{"chat_template", json::array({{{"name", "tool_use"}, {"template", "<start_of_turn>"}},
                                               {{"name", "default"}, {"template", "<|im_start|>"}}})}});
  EXPECT_EQ(find_chat_template(dir, std::nullopt).format, ChatFormat::chatml);
  // chat_template.jinja comes before tokenizer_config.json (as transformers reads them).
  std::ofstream(dir + "/chat_template.jinja") << "{{ '<start_of_turn>' }}";
  EXPECT_EQ(find_chat_template(dir, std::nullopt).format, ChatFormat::gemma);
  // A template of no known family names its file and the flag.
  std::ofstream(dir + "/chat_template.jinja") << "[INST] {{ messages[0].content }} [/INST]";
  err = error_of([&] { find_chat_template(dir, std::nullopt); });
  EXPECT_NE(err.find(dir + "/chat_template.jinja: the chat_template is of no family"), std::string::npos) << err;
  EXPECT_NE(err.find("--chat-format"), std::string::npos) << err;
  EXPECT_EQ(find_chat_template(dir, ChatFormat::chatml).format, ChatFormat::chatml);
  std::filesystem::remove(dir + "/chat_template.jinja");
  // Llama 3.1's dated system block: the knowledge date and the date_string literal from the template,
  // or the date given; a template with neither a date_string nor strftime_now names the flag.
  const std::string dated =
      "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
      "{{- 'Cutting Knowledge Date: March 2025\\n' }}{{- 'Today Date: ' + date_string }}";
  write_config({{"chat_template", "{%- set date_string = \"01 Feb 2025\" %}" + dated}});
  t = find_chat_template(dir, std::nullopt);
  EXPECT_EQ(t.format, ChatFormat::llama31);
  EXPECT_EQ(t.date_block, "Cutting Knowledge Date: March 2025\nToday Date: 01 Feb 2025\n\n");
  EXPECT_EQ(find_chat_template(dir, std::nullopt, "2 Jan 2026").date_block,
            "Cutting Knowledge Date: March 2025\nToday Date: 2 Jan 2026\n\n");
  EXPECT_EQ(find_chat_template(dir, ChatFormat::llama3).format, ChatFormat::llama3);
  write_config({{"chat_template", dated}});
  err = error_of([&] { find_chat_template(dir, std::nullopt); });
  EXPECT_NE(err.find("tokenizer_config.json: the template sets no date_string"), std::string::npos) << err;
  EXPECT_NE(err.find("--chat-date"), std::string::npos) << err;
  // Llama 3.2's: today's date, as strftime_now("%d %b %Y") writes it.
  write_config({{"chat_template", "{%- set date_string = strftime_now(\"%d %b %Y\") %}" + dated}});
  const std::string block = find_chat_template(dir, std::nullopt).date_block;
  EXPECT_TRUE(std::regex_match(block, std::regex("Cutting Knowledge Date: March 2025\nToday Date: "
                                                 "[0-3][0-9] [A-Z][a-z][a-z] 2[0-9]{3}\n\n")))
      << block;
  // Named without a template: Llama 3.1's own dates.
  std::filesystem::remove(dir + "/tokenizer_config.json");
  EXPECT_EQ(find_chat_template(dir, ChatFormat::llama31).date_block,
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
  // Malformed files name themselves.
  std::ofstream(dir + "/tokenizer_config.json") << "{not json";
  err = error_of([&] { find_chat_template(dir, ChatFormat::chatml); });
  EXPECT_NE(err.find(dir + "/tokenizer_config.json: not a JSON object"), std::string::npos) << err;
  write_config({{"chat_template", 7}});
  err = error_of([&] { find_chat_template(dir, std::nullopt); });
  EXPECT_NE(err.find("tokenizer_config.json: chat_template must be a string"), std::string::npos) << err;
  write_config({{"chat_template", json::array({{{"name", "rag"}, {"template", "<|im_start|>"}}})}});
  err = error_of([&] { find_chat_template(dir, std::nullopt); });
  EXPECT_NE(err.find("without a template named \"default\""), std::string::npos) << err;
}

TEST(ChatFormat, MarkersBecomeSingleIds) {
  json j = testutil::byte_level_tokenizer({{"H", "i"}});
  j["added_tokens"] = json::parse(R"([{"id": 300, "content": "<|im_start|>", "special": true},
                                      {"id": 301, "content": "<|im_end|>", "special": true}])");
  const std::string path = testutil::fresh_dir("chat_tokenizer") + "/tokenizer.json";
  std::ofstream(path) << j.dump();
  const std::unique_ptr<Tokenizer> read = read_tokenizer_json(path);
  const Tokenizer& tok = *read;
  // <|im_start|> user \n Hi <|im_end|> \n <|im_start|> assistant \n
  std::vector<int32_t> want = {300, 'u', 's', 'e', 'r', '\n', 256, 301, '\n', 300};
  for (char c : std::string("assistant\n")) want.push_back(c);
  EXPECT_EQ(encode_chat(tok, kChatml, {std::nullopt, "Hi"}, "MODEL"), want);
  // This tokenizer has no <|start_header_id|>: the llama3 format is refused, naming the model and the flag.
  const std::string err = error_of([&] { encode_chat(tok, kLlama3, {std::nullopt, "Hi"}, "MODEL"); });
  EXPECT_NE(err.find("MODEL: the tokenizer has no single token for <|start_header_id|>"), std::string::npos) << err;
  EXPECT_NE(err.find("--chat-format"), std::string::npos) << err;
}

}  // namespace
}  // namespace dllm
