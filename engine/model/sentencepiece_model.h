// A SentencePiece tokenizer.model (Llama 2, Mistral, Gemma), run by Google's sentencepiece library
// (Debian's libsentencepiece-dev):
//   encode       the model's <bos> (when it has one), then the ids sentencepiece gives the text
//   token_bytes  the piece in the middle of a text: "▁" as a space, <0xXX> as its byte, a control
//                token as nothing
//   decode       sentencepiece's text of the ids (no space at the start, a byte run that is not UTF-8
//                as U+FFFD)
#pragma once
#include <memory>
#include <string>

#include "engine/model/tokenizer.h"

namespace dllm {

// Loads `path`; throws dllm::Error naming it when it cannot, or when this build has no sentencepiece
// library (then saying what to install).
std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path);

}  // namespace dllm
