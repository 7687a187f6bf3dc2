// Tokenizers: text to token ids and back. The project's own small models use the byte tokenizer
// (ids 0..255 are the bytes, higher ids are special tokens declared in config.json); a checkpoint
// folder with a tokenizer.json uses its byte-level BPE (engine/model/bpe_tokenizer.h) or its
// SentencePiece-style BPE (engine/model/sentencepiece_bpe.h), one with only a tokenizer.model its
// SentencePiece model (engine/model/sentencepiece_model.h). Other models take prompts as ids.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"

namespace dllm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // The ids of `text`, with what the tokenizer puts around every text (a <bos>, where it has one).
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
  // The ids of `text` alone (a continuation, such as an expected answer).
  virtual std::vector<int32_t> encode_text(const std::string& text) const = 0;
  // The bytes one id stands for (not always whole UTF-8 code points); an id the tokenizer does not
  // know as <|id|>, so nothing is hidden.
  virtual std::string token_bytes(int32_t id) const = 0;
  // The text of the ids from the start of a text; by default the bytes of the ids one after the
  // other (a tokenizer whose decoder treats the start of a text apart says so).
  virtual std::string decode(const std::vector<int32_t>& ids) const;
};

class ByteTokenizer : public Tokenizer {
 public:
  // Throws when the config does not declare "dllm_tokenizer": "bytes".
  explicit ByteTokenizer(const ModelConfig& cfg);
  // The bytes of `text`, after <bos> when the model has one.
  std::vector<int32_t> encode(const std::string& text) const override;
  std::vector<int32_t> encode_text(const std::string& text) const override;
  // Bytes as they are; any other id as <|id|> (EOS included).
  std::string token_bytes(int32_t id) const override;

 private:
  int bos_;
};

// The tokenizer of a tokenizer.json: byte-level BPE when its pre-tokenizer or decoder is ByteLevel,
// else SentencePiece-style BPE. Throws naming the file and any component it does not read.
std::unique_ptr<Tokenizer> read_tokenizer_json(const std::string& path);

// The tokenizer files of the folder `dir`: its tokenizer.json, else its tokenizer.model, else null.
std::unique_ptr<Tokenizer> find_tokenizer_files(const std::string& dir);

// The tokenizer of the model at `model` (a folder or preset:NAME) with config `cfg`: the folder's
// tokenizer files (find_tokenizer_files), else the byte tokenizer when the config declares it, else
// null.
std::unique_ptr<Tokenizer> find_tokenizer(const std::string& model, const ModelConfig& cfg);

// Text of a stream of ids, as it grows: push() returns only whole UTF-8 code points, holding back
// the bytes of a code point whose last bytes are still to come. Bytes that cannot begin or continue
// a code point (invalid UTF-8) pass through as they are.
class TextStream {
 public:
  explicit TextStream(const Tokenizer& tok) : tok_(tok) {}
  // The text that `id` completes (may be empty).
  std::string push(int32_t id);
  // What is still held back at the end of the stream (an unfinished code point), as U+FFFD.
  std::string finish();

 private:
  const Tokenizer& tok_;
  std::string held_;  // the first bytes of one unfinished code point
};

}  // namespace dllm
