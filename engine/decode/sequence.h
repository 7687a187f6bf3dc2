// One sequence's decoding as a series of forward passes that a batch runs together (docs/ARCHITECTURE.md,
// batches): each round a sequence adds its tokens to the shared Pass, the batch runs one forward, and
// each sequence consumes the logits of its rows. AR and TiDAR decoding are both written this way; a
// batch of one is the ordinary single-sequence decoder. Because every kernel is batch invariant, a
// sequence decodes the same tokens whatever else shares its passes.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "engine/decode/generation.h"
#include "engine/decode/tidar_options.h"
#include "engine/model/pass_logits.h"
#include "engine/model/transformer.h"

namespace dllm {

// The pass rows a forward must return, and how each becomes a token (the argmax by default).
struct PassRows {
  std::vector<int> index;      // pass indices
  std::vector<RowDraw> draws;  // [index.size()]
  void add(int pass_index, const RowDraw& draw = {}) {
    index.push_back(pass_index);
    draws.push_back(draw);
  }
};

// The logits of the pass rows a forward computed, by pass index (an index that was asked for):
// argmax(i) and token(i) (under the row's RowDraw) cost nothing; row(i) [V] brings the whole row to
// the host, so only what needs a row (logit mixing, a sampling drafter, hooks) asks for it.
class RowLogits {
 public:
  RowLogits(const PassLogits& logits, const std::vector<int>& index_of_row) : logits_(logits), index_(index_of_row) {}
  const float* row(int pass_index) const { return logits_.row(at(pass_index)); }
  int32_t argmax(int pass_index) const { return logits_.argmax(at(pass_index)); }
  int32_t token(int pass_index) const { return logits_.token(at(pass_index)); }
  MixDivergence divergence(int pass_index) const { return logits_.divergence(at(pass_index)); }
  const float* device_row(int pass_index) const { return logits_.device_row(at(pass_index)); }

 private:
  int at(int pass_index) const;
  const PassLogits& logits_;
  const std::vector<int>& index_;  // [T] row of `logits_` of each pass row, -1 when not computed
};

// A prompt's prefill, kept so that other sequences with the same prompt (rollouts) start from it.
struct SharedPrefill {
  std::vector<int32_t> prompt;
  std::vector<float> kv;           // KvCache::export_prefix of the prompt
  std::vector<float> last_logits;  // [V] logits of the last prompt position
};

class SequenceDecoder {
 public:
  SequenceDecoder(Transformer& model, GenerateRequest request, int lookahead);
  virtual ~SequenceDecoder() = default;

  const GenerateRequest& request() const { return request_; }
  // Cache slots the sequence needs: prompt + max_new_tokens + how far its passes reach.
  int cache_slots() const { return int(request_.prompt.size()) + request_.max_new_tokens + lookahead_ + 1; }
  bool done() const { return finished_; }
  bool started() const { return prefilled_; }  // the first token exists

  // Appends the tokens of the sequence's next forward to `pass` (they live in cache row `row`) and
  // the pass rows whose logits it needs, with their draws, to `rows`.
  void add_to_pass(int32_t row, Pass& pass, PassRows& rows);
  // After the forward: consume the rows' logits. `alone`: no other sequence shared the pass (the
  // test hooks see only such passes). `seconds`: the forward's wall time.
  void after_forward(const RowLogits& logits, KvCache& cache, const Pass& pass, bool alone, double seconds);

  // Starts from a prefill computed elsewhere (the same prompt): imports its K/V into `row` and draws
  // the first token from its logits, with this sequence's own random stream. No forward is counted.
  void start_from(const SharedPrefill& prefill, KvCache& cache, int32_t row);
  // After this sequence's own prefill forward, with that forward's logits: the prefill others may
  // start from.
  bool has_own_prefill() const { return prefilled_ && !shared_; }
  SharedPrefill export_prefill(const KvCache& cache, int32_t row, const RowLogits& logits) const;

  Generation take_result();

 protected:
  // Decoding after the first token, written by AR and TiDAR.
  virtual void add_step(int32_t row, Pass& pass, PassRows& rows) = 0;
  // What a forward was to the step in progress: the step is complete, it continues with another
  // forward (a TiDAR two-forward step), or the forward stands outside every step (TiDAR's first draft
  // pass, counted as a forward but not as a decode step).
  enum class StepState { complete, continues, outside };
  virtual StepState after_step(const RowLogits& logits, KvCache& cache, const Pass& pass, bool alone) = 0;
  // Called once the first token exists (after prefill).
  virtual void on_first_token(int32_t token) = 0;
  // The request's sampler as the draw of the row that predicts position `pos` (its uniform is the
  // position's Purpose::sample draw): the row's token is then the AR decoder's token there.
  RowDraw target_draw(int pos) const;

  Transformer& model_;
  GenerateRequest request_;
  Generation result_;
  TokenSink sink_;
  bool finished_ = false;
  int32_t row_ = 0;  // cache row this sequence occupies

 private:
  void first_token(int32_t token);
  int lookahead_;
  int prefill_index_ = 0;  // pass row of the last prompt token in the prefill forward
  bool prefilled_ = false, shared_ = false;
  int prefill_row_ = -1;
  double step_seconds_ = 0;  // forward time of the step in progress
  Clock::time_point start_;
};

// The strategies, one file each: AR (ar_decoder.cpp) and TiDAR (tidar_decoder.cpp, which validates
// the options against the model).
std::unique_ptr<SequenceDecoder> make_ar_sequence(Transformer& model, const GenerateRequest& request);
std::unique_ptr<SequenceDecoder> make_tidar_sequence(Transformer& model, const GenerateRequest& request,
                                                     const TidarOptions& options);

}  // namespace dllm
