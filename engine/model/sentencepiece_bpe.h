// SentencePiece-style BPE read from a Hugging Face tokenizer.json: the pipeline of Llama 2, Mistral
// and Gemma (ZAYA1), where a space is the symbol "▁" and a character outside the vocab falls back to
// its bytes <0xXX>. Behaviour follows Hugging Face tokenizers. The components it reads (anything else
// is refused with an error naming the component and the file):
//   normalizer      null, Prepend, Replace (a String pattern), or a Sequence of these (Llama 2:
//                   Prepend "▁" then Replace " " -> "▁"; Gemma: Replace " " -> "▁")
//   pre_tokenizer   null; Metaspace (prepend_scheme always, first or never, or the older
//                   add_prefix_space; split); Split on a String with behavior MergedWithPrevious (Gemma)
//   model           BPE over code points: vocab, merges by rank, ignore_merges, byte_fallback,
//                   unk_token with fuse_unk
//   post_processor  null, TemplateProcessing (the special tokens its single template puts around the
//                   text), or a Sequence of these
//   decoder         a Sequence of Replace (String), ByteFallback, Fuse and Strip (after Fuse, from the
//                   start only), or Metaspace
//   added_tokens    matched before anything else, the longest at each position: those with normalized
//                   false in the raw text, those with normalized true in the normalized text (in their
//                   normalized form)
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/model/bpe_merges.h"
#include "engine/model/tokenizer.h"
#include "engine/model/tokenizer_json.h"

namespace dllm {

class SentencePieceBpeTokenizer : public Tokenizer {
 public:
  // Checks `j`, read from `path` (a tokenizer.json); throws dllm::Error naming the file and the component.
  SentencePieceBpeTokenizer(const std::string& path, const nlohmann::json& j);
  // Throws when `text` is not valid UTF-8.
  std::vector<int32_t> encode(const std::string& text) const override;
  std::vector<int32_t> encode_text(const std::string& text) const override;
  // The token in the middle of a text: "▁" as a space, <0xXX> as its byte.
  std::string token_bytes(int32_t id) const override;
  // The decoder's text: also what it does at the start of a text (Strip, Metaspace) and a run of
  // <0xXX> tokens that is not UTF-8 as one U+FFFD per token.
  std::string decode(const std::vector<int32_t>& ids) const override;

 private:
  struct NormalizerStep {
    std::string prepend;   // Prepend: this before a non-empty text
    std::string from, to;  // Replace: every `from` by `to`
  };
  enum class Prepend { kAlways, kFirst, kNever };
  struct DecoderStep {
    enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kMetaspace } kind;
    std::string from, to;  // Replace; Metaspace: from = its replacement
    std::string strip;     // Strip: the character taken from the start of the text
    size_t strip_count = 0;
    bool drop_first_replacement = false;  // Metaspace: the first token's replacement is not a space
  };

  void read_normalizer(const nlohmann::json& norm);
  void read_pre_tokenizer(const nlohmann::json& pre);
  void read_model(const nlohmann::json& model);
  void read_decoder(const nlohmann::json& dec);
  std::string normalize(std::string text) const;
  // Appends the ids of a normalized text without added tokens; `at_start`: it begins the input.
  void encode_normalized(const std::string& text, bool at_start, std::vector<int32_t>& ids) const;
  // Appends the ids of one pre-token: its code points (or their bytes, or unk), merged.
  void encode_word(const std::string& word, std::vector<int32_t>& ids) const;
  // The decoder run over token strings; `whole_text`: they are a whole text, not one token of a stream.
  std::string run_decoder(std::vector<std::string> tokens, bool whole_text) const;

  std::string path_;
  std::vector<NormalizerStep> normalizer_;
  // pre_tokenizer
  bool metaspace_ = false;
  std::string replacement_;  // Metaspace: what a space becomes
  Prepend prepend_ = Prepend::kNever;
  bool split_at_replacement_ = false;
  std::string split_after_;  // Split MergedWithPrevious: a piece ends after each of these
  // model
  std::unordered_map<std::string, int32_t> vocab_;
  BpeMerges merges_;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  std::array<int32_t, 256> byte_ids_{};  // the id of <0xXX>, or -1
  int32_t unk_ = -1;
  bool fuse_unk_ = false;
  tokjson::AddedTokens raw_added_, normalized_added_;
  tokjson::TextTemplate template_;
  std::vector<DecoderStep> decoder_;
  std::vector<std::string> tokens_;  // id -> its token string
  std::vector<bool> known_;          // id -> has a token
};

}  // namespace dllm
