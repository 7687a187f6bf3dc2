#include "engine/decode/ar_decoder.h"

#include "engine/decode/batch_decoder.h"

namespace dllm {

Generation ArDecoder::generate(const GenerateRequest& r) {
  std::vector<std::unique_ptr<SequenceDecoder>> one;
  one.push_back(make_ar_sequence(model_, r));
  return std::move(decode_batch(model_, std::move(one), BatchOptions{1, false}, nullptr).front());
}

}  // namespace dllm
