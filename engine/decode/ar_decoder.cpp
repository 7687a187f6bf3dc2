#include "engine/decode/ar_decoder.h"

#include "engine/decode/batch_decoder.h"

namespace dllm {

namespace {

// AR: each step feeds the last token at position L and samples the token at L + 1.
class ArSequence : public SequenceDecoder {
 public:
  ArSequence(Transformer& model, const GenerateRequest& r) : SequenceDecoder(model, r, 0) {}

 private:
  void on_first_token(int32_t token) override {
    token_ = token;
    pos_ = int(request_.prompt.size());
  }
  void add_step(int32_t row, Pass& pass, PassRows& rows) override {
    index_ = pass.add_causal(row, {token_}, pos_, pos_, true);
    rows.add(index_, target_draw(pos_ + 1));
  }
  StepState after_step(const RowLogits& logits, KvCache& cache, const Pass&, bool) override {
    cache.set_length(row_, pos_ + 1);
    token_ = logits.token(index_);
    ++pos_;
    sink_.push(token_);
    sink_.end_step();
    return StepState::complete;
  }
  int index_ = 0;  // pass row of token_
  int32_t token_ = 0;
  int pos_ = 0;  // position of token_, the last committed token (not yet in the cache)
};

}  // namespace

std::unique_ptr<SequenceDecoder> make_ar_sequence(Transformer& model, const GenerateRequest& request) {
  return std::make_unique<ArSequence>(model, request);
}

Generation ArDecoder::generate(const GenerateRequest& r) {
  std::vector<std::unique_ptr<SequenceDecoder>> one;
  one.push_back(make_ar_sequence(model_, r));
  return std::move(decode_batch(model_, std::move(one), BatchOptions{1, false}, nullptr).front());
}

}  // namespace dllm
