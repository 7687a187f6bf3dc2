#include "engine/model/sentencepiece_model.h"

#ifdef DLLM_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

#include "core/check.h"
#include "engine/model/tokenizer_json.h"

namespace dllm {

#ifdef DLLM_HAVE_SENTENCEPIECE

namespace {

class SentencePieceModelTokenizer : public Tokenizer {
 public:
  explicit SentencePieceModelTokenizer(const std::string& path) : path_(path) {
    const sentencepiece::util::Status status = sp_.Load(path);
    DLLM_CHECK(status.ok(), path, ": not a SentencePiece model sentencepiece can load (", status.ToString(), ")");
  }

  std::vector<int32_t> encode(const std::string& text) const override {
    std::vector<int32_t> ids;
    if (sp_.bos_id() >= 0) ids.push_back(sp_.bos_id());
    const std::vector<int32_t> body = encode_text(text);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }

  std::vector<int32_t> encode_text(const std::string& text) const override {
    tokjson::check_utf8(text, path_);
    std::vector<int> ids;
    const sentencepiece::util::Status status = sp_.Encode(text, &ids);
    DLLM_CHECK(status.ok(), path_, ": sentencepiece could not encode the text (", status.ToString(), ")");
    return std::vector<int32_t>(ids.begin(), ids.end());
  }

  std::string token_bytes(int32_t id) const override {
    if (!known(id)) return "<|" + std::to_string(id) + "|>";
    if (sp_.IsControl(id)) return "";
    if (sp_.IsByte(id)) return std::string(1, char(std::stoi(sp_.IdToPiece(id).substr(3, 2), nullptr, 16)));
    if (sp_.IsUnknown(id)) return " \xE2\x81\x87 ";  // sentencepiece's text for unk: " ⁇ "
    const std::string& piece = sp_.IdToPiece(id);
    std::string text;
    for (size_t i = 0; i < piece.size();) {
      const bool space = piece.compare(i, kSpace.size(), kSpace) == 0;
      text += space ? ' ' : piece[i];
      i += space ? kSpace.size() : 1;
    }
    return text;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    std::vector<int> run;  // ids of the model, decoded together
    const auto flush = [&] {
      std::string piece;
      const sentencepiece::util::Status status = sp_.Decode(run, &piece);
      DLLM_CHECK(status.ok(), path_, ": sentencepiece could not decode the ids (", status.ToString(), ")");
      text += piece;
      run.clear();
    };
    for (int32_t id : ids) {  // an id outside the model as <|id|>, so nothing is hidden
      if (known(id)) {
        run.push_back(id);
        continue;
      }
      flush();
      text += "<|" + std::to_string(id) + "|>";
    }
    flush();
    return text;
  }

 private:
  static constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁"
  bool known(int32_t id) const { return id >= 0 && id < sp_.GetPieceSize(); }
  std::string path_;
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path) {
  return std::make_unique<SentencePieceModelTokenizer>(path);
}

#else

std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path) {
  fail(path,
       ": a SentencePiece model needs the sentencepiece library, and this dllm-bench was built without it "
       "(install libsentencepiece-dev, e.g. tools/setup-deps, and rebuild; or give the folder a tokenizer.json)");
}

#endif

}  // namespace dllm
