#include "engine/decode/sequence.h"

#include "core/check.h"
#include "core/clock.h"
#include "core/rng.h"
#include "engine/decode/sampler.h"

namespace dllm {

int RowLogits::at(int pass_index) const {
  const int i = index_.at(size_t(pass_index));
  DLLM_ASSERT(i >= 0);
  return i;
}

SequenceDecoder::SequenceDecoder(Transformer& model, GenerateRequest request, int lookahead)
    : model_(model),
      request_(std::move(request)),
      sink_(result_, model.config(), request_.max_new_tokens),
      lookahead_(lookahead) {
  validate_request(request_, model.config(), lookahead);
  result_.metrics.prompt_tokens = int(request_.prompt.size());
}

void SequenceDecoder::add_to_pass(int32_t row, Pass& pass, PassRows& rows) {
  DLLM_ASSERT(!finished_);
  if (!prefilled_) {
    start_ = Clock::now();
    row_ = row;
    const int begin = pass.add_causal(row, request_.prompt, 0, 0, true);
    prefill_index_ = begin + int(request_.prompt.size()) - 1;
    rows.add(prefill_index_, target_draw(int(request_.prompt.size())));  // only the last row is needed
    return;
  }
  add_step(row, pass, rows);
}

void SequenceDecoder::after_forward(const RowLogits& logits, KvCache& cache, const Pass& pass, bool alone,
                                    double seconds) {
  const auto t0 = Clock::now();
  DecodeMetrics& m = result_.metrics;
  ++m.forwards;
  m.forward_seconds += seconds;
  if (model_.config().arch == Arch::zaya) {
    m.moe.layers = model_.config().num_layers;
    m.moe.experts += model_.moe_traffic().experts;
    m.moe.weight_bytes += double(model_.moe_traffic().weight_bytes);
  }
  step_seconds_ += seconds;
  if (!prefilled_) {
    cache.set_length(row_, int(request_.prompt.size()));
    prefill_row_ = row_;
    first_token(logits.token(prefill_index_));
    step_seconds_ = 0;
    return;
  }
  switch (after_step(logits, cache, pass, alone)) {
    case StepState::complete:
      m.step_seconds.push_back(step_seconds_ + seconds_since(t0));
      step_seconds_ = 0;
      finished_ = sink_.done();
      break;
    case StepState::continues:
      step_seconds_ += seconds_since(t0);
      break;
    case StepState::outside:
      step_seconds_ = 0;
      break;
  }
  if (finished_) m.total_seconds = seconds_since(start_);
}

RowDraw SequenceDecoder::target_draw(int pos) const {
  const SamplerConfig& s = request_.sampler;
  return s.draw(uniform01(s.seed, uint32_t(request_.sequence), uint32_t(pos), Purpose::sample));
}

void SequenceDecoder::first_token(int32_t token) {
  sink_.push(token);
  sink_.end_step();
  prefilled_ = true;
  result_.metrics.prefill_seconds = seconds_since(start_);
  if (sink_.done()) {
    finished_ = true;
    result_.metrics.total_seconds = seconds_since(start_);
    return;
  }
  on_first_token(token);
}

void SequenceDecoder::start_from(const SharedPrefill& prefill, KvCache& cache, int32_t row) {
  DLLM_ASSERT(!prefilled_ && prefill.prompt == request_.prompt);
  start_ = Clock::now();
  row_ = row;
  cache.import_prefix(row, prefill.kv, int(request_.prompt.size()));
  shared_ = true;
  first_token(sample_token(prefill.last_logits.data(), model_.config().vocab_size, request_.sampler,
                           uint32_t(request_.sequence), uint32_t(request_.prompt.size())));
}

SharedPrefill SequenceDecoder::export_prefill(const KvCache& cache, int32_t row, const RowLogits& logits) const {
  DLLM_ASSERT(has_own_prefill() && row == prefill_row_);
  const float* last = logits.row(prefill_index_);
  return {request_.prompt, cache.export_prefix(row, int(request_.prompt.size())),
          std::vector<float>(last, last + model_.config().vocab_size)};
}

Generation SequenceDecoder::take_result() {
  DLLM_ASSERT(finished_);
  return std::move(result_);
}

}  // namespace dllm
