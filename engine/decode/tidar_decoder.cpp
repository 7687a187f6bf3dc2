#include "engine/decode/tidar_decoder.h"

#include <algorithm>

#include "core/rng.h"
#include "engine/decode/batch_decoder.h"
#include "engine/decode/tidar_layout.h"
#include "ref/verify.h"

namespace dllm {

namespace {

// The next step's drafts.
struct Drafts {
  std::vector<int32_t> tokens;  // [K]
  std::vector<bool> padded;     // no prediction covers the position: a mask-token placeholder
};

// TiDAR: each step verifies the previous K drafts and drafts the next K, in one forward (the verify
// segment and the proposal blocks, single-forward layout) or two (a verify pass, then a draft pass).
class TidarSequence : public SequenceDecoder {
 public:
  TidarSequence(Transformer& model, const GenerateRequest& r, const TidarOptions& o)
      : SequenceDecoder(model, r, validated(o, model.config()).lookahead()),
        opt_(o),
        mixing_(o.mix_weight != 1.0f),
        // Rejection sampling needs a stochastic target; a greedy one compares argmaxes whatever drafts.
        rejection_(o.draft_temperature != 0.0f && !r.sampler.greedy()),
        draft_rows_(model.backend().memory()) {
    const int k = opt_.block_size;
    DecodeMetrics& m = result_.metrics;
    m.accepted_histogram.assign(size_t(k) + 1, 0);
    m.slot_verified.assign(size_t(k), 0);
    m.slot_accepted.assign(size_t(k), 0);
    context_ = r.prompt;
    opt_.levels = o.level_set();
    if (mixing_ || rejection_) draft_rows_.resize(size_t(k) * size_t(model.config().vocab_size));
  }

 private:
  enum class Phase { draft, verify };
  // Building a TiDAR sequence validates its options against the model, before anything is allocated.
  static const TidarOptions& validated(const TidarOptions& o, const ModelConfig& cfg) {
    o.validate(cfg);
    return o;
  }
  int vocab() const { return model_.config().vocab_size; }

  void on_first_token(int32_t token) override {
    anchor_ = token;
    len_ = int(request_.prompt.size());
    phase_ = Phase::draft;  // the first drafts come from a draft pass [anchor, mask x K]
  }

  void add_step(int32_t row, Pass& pass, PassRows& rows) override {
    const int k = opt_.block_size;
    const int32_t mask = model_.config().mask_token_id;
    pass_begin_ = pass.size();
    if (phase_ == Phase::draft) {
      add_draft_block(pass, row, anchor_, k, mask, len_);
    } else {
      if (opt_.draft_hook) opt_.draft_hook(len_ + 1, drafts_.tokens);
      verify_ = add_verify_segment(pass, row, anchor_, drafts_.tokens, len_);
      block_of_level_.clear();
      if (opt_.layout == Layout::single_forward)
        for (int level : opt_.levels)
          block_of_level_.push_back(
              add_proposal_block(pass, row, verify_, level, k, mask, len_, opt_.proposal_attention));
    }
    pass_end_ = pass.size();
    // Every row's token is drawn with the pass: a draft row predicting position p under the drafter's
    // draw, verify row j (predicting L + 1 + j) under verify_draw; the rest take the argmax.
    std::vector<RowDraw> draws(size_t(pass_end_ - pass_begin_));
    if (phase_ == Phase::draft) {
      for (int j = 0; j < k; ++j) draws[size_t(j + 1)] = draft_draw(len_ + 1 + j);
    } else {
      for (int j = 0; j <= k; ++j) draws[size_t(verify_ - pass_begin_ + j)] = verify_draw(j);
      // Proposal row i of level p's block predicts position L + p + 1 + i (i = 1..K).
      for (size_t li = 0; li < block_of_level_.size(); ++li)
        for (int i = 1; i <= k; ++i)
          draws[size_t(block_of_level_[li] - pass_begin_ + i)] = draft_draw(len_ + opt_.levels[li] + 1 + i);
    }
    for (int i = pass_begin_; i < pass_end_; ++i) rows.add(i, draws[size_t(i - pass_begin_)]);
  }

  // The drafter's draw of the row predicting position `pos`: the argmax, or a sample at the draft
  // temperature with the position's Purpose::draft uniform.
  RowDraw draft_draw(int pos) const {
    if (opt_.draft_temperature == 0.0f) return RowDraw{};
    return RowDraw{opt_.draft_temperature, 0, 1.0f,
                   uniform01(request_.sampler.seed, uint32_t(request_.sequence), uint32_t(pos), Purpose::draft)};
  }

  // Verify row j: the target's draw at position L + 1 + j (ref/verify.h's rules). Mixed with draft j's
  // diffusion row when mixing, and testing draft j against its drafter's row when rejection sampling
  // (not the bonus row j = K, nor a padding draft's row: those are plain AR).
  RowDraw verify_draw(int j) const {
    const int k = opt_.block_size, pos = len_ + 1 + j;
    RowDraw draw = target_draw(pos);
    if (j == k || drafts_.padded[size_t(j)]) return draw;
    const float* draft_row = draft_rows_.data() + size_t(j) * size_t(vocab());
    if (mixing_) draw.mix = draft_row, draw.mix_weight = opt_.mix_weight;
    if (rejection_) {
      const uint64_t seed = request_.sampler.seed;
      const uint32_t seq = uint32_t(request_.sequence);
      draw.draft_row = draft_row, draw.draft_temperature = opt_.draft_temperature;
      draw.draft_token = drafts_.tokens[size_t(j)];
      draw.u_accept = uniform01(seed, seq, uint32_t(pos), Purpose::accept);
      draw.u = uniform01(seed, seq, uint32_t(pos), Purpose::residual);
    }
    return draw;
  }

  // Drafts for the next K positions: row_of(j) is the pass row predicting draft j, or -1; its token
  // was drawn with the pass (draft_draw). When mixing or rejection sampling, each draft's row is
  // kept in the backend's memory for the next verify pass.
  template <typename RowOf>
  Drafts drafts_from_rows(const RowLogits& logits, RowOf row_of) {
    const int k = opt_.block_size, v = vocab();
    Drafts d;
    d.tokens.resize(size_t(k));
    d.padded.assign(size_t(k), false);
    for (int j = 0; j < k; ++j) {
      const int row = row_of(j);
      if (row < 0) {
        d.tokens[size_t(j)] = model_.config().mask_token_id;
        d.padded[size_t(j)] = true;
        continue;
      }
      d.tokens[size_t(j)] = logits.token(row);
      if (mixing_ || rejection_)
        draft_rows_.memory().copy(draft_rows_.data() + size_t(j) * size_t(v), logits.device_row(row),
                                  size_t(v) * sizeof(float));
    }
    return d;
  }

  // Mixing divergence (computed with the pass) at the positions this step decided with mixed rows: the
  // n accepted drafts and, when a draft was rejected, the recovered token's row (the bonus row is pure
  // AR).
  void record_mixing(const RowLogits& logits, int n) {
    DecodeMetrics::Mixing& mix = result_.metrics.mixing;
    const int k = opt_.block_size;
    for (int j = 0; j <= std::min(n, k - 1); ++j) {
      if (drafts_.padded[size_t(j)]) continue;  // a padding draft's row is not mixed
      const MixDivergence d = logits.divergence(verify_ + j);
      ++mix.positions;
      mix.same_top1 += d.same_top1;
      mix.kl_sum += d.kl;
      mix.tv_sum += d.tv;
      mix.kl_max = std::max(mix.kl_max, d.kl);
    }
  }

  void call_pass_hook(const RowLogits& logits, const Pass& pass, bool alone) const {
    if (!opt_.pass_hook || !alone) return;
    std::vector<float> all;  // [T, V] of this (single-sequence) pass
    for (int i = pass_begin_; i < pass_end_; ++i) all.insert(all.end(), logits.row(i), logits.row(i) + vocab());
    opt_.pass_hook(context_, pass, all);
  }

  StepState after_step(const RowLogits& logits, KvCache& cache, const Pass& pass, bool alone) override {
    call_pass_hook(logits, pass, alone);
    const int k = opt_.block_size;
    if (phase_ == Phase::draft) {
      drafts_ = drafts_from_rows(logits, [&](int j) { return pass_begin_ + j + 1; });
      const bool first_drafts = !drafted_once_;
      drafted_once_ = true;
      phase_ = Phase::verify;
      // In two-forward mode a draft pass completes the step its verify pass began; the very first
      // draft pass belongs to no step.
      return first_drafts ? StepState::outside : StepState::complete;
    }
    // Each verify row's token under verify_draw decides: a draft stands while it equals its row's
    // token (greedy, sample-and-match, and rejection sampling, whose rejected token is never the draft).
    std::vector<int32_t> target(size_t(k) + 1);
    for (int j = 0; j <= k; ++j) target[size_t(j)] = logits.token(verify_ + j);
    const ref::VerifyOutcome out = ref::verify_greedy(target, drafts_.tokens);
    const int n = out.accepted;
    DecodeMetrics& m = result_.metrics;
    ++m.accepted_histogram[size_t(n)];
    if (mixing_) record_mixing(logits, n);
    for (int j = 0; j < std::min(n + 1, k); ++j) {
      ++m.slot_verified[size_t(j)];
      if (j < n) ++m.slot_accepted[size_t(j)];
    }

    // Commit d1..dn and the next token; the cache now holds the anchor and d1..dn.
    bool more = true;
    context_.push_back(anchor_);
    for (int j = 0; j < n; ++j) context_.push_back(drafts_.tokens[size_t(j)]);
    for (int j = 0; j < n && more; ++j) more = sink_.push(drafts_.tokens[size_t(j)]);
    if (more) more = sink_.push(out.next);
    sink_.end_step();
    len_ += n + 1;
    cache.set_length(row_, len_);
    anchor_ = out.next;
    if (!more) return StepState::complete;
    if (opt_.layout == Layout::two_forward) {
      phase_ = Phase::draft;  // the step ends with its draft pass
      return StepState::continues;
    }
    // The proposal at level n, or the closest level below: its row i predicts position
    // L_old + p + 1 + i; the next drafts sit at L_new + 1 + j = L_old + n + 2 + j.
    const size_t li = size_t(std::upper_bound(opt_.levels.begin(), opt_.levels.end(), n) - opt_.levels.begin()) - 1;
    const int level = opt_.levels[li], block = block_of_level_[li];
    drafts_ = drafts_from_rows(logits, [&](int j) {
      const int i = j + 1 + (n - level);
      return i <= k ? block + i : -1;
    });
    return StepState::complete;
  }

  TidarOptions opt_;
  bool mixing_, rejection_;
  Buffer<float> draft_rows_;  // [K, V] when mixing or rejection sampling: the drafts' rows, in the backend's memory
  Phase phase_ = Phase::draft;
  bool drafted_once_ = false;
  int32_t anchor_ = 0;
  int len_ = 0;                   // L: committed tokens in the cache; the anchor sits at position L
  std::vector<int32_t> context_;  // tokens in the cache, [0, L)
  Drafts drafts_;
  int pass_begin_ = 0, pass_end_ = 0, verify_ = 0;  // this sequence's rows in the current pass
  std::vector<int> block_of_level_;
};

}  // namespace

std::unique_ptr<SequenceDecoder> make_tidar_sequence(Transformer& model, const GenerateRequest& request,
                                                     const TidarOptions& options) {
  return std::make_unique<TidarSequence>(model, request, options);
}

TidarDecoder::TidarDecoder(Transformer& model, TidarOptions options) : model_(model), opt_(std::move(options)) {
  opt_.validate(model_.config());
}

Generation TidarDecoder::generate(const GenerateRequest& r) {
  std::vector<std::unique_ptr<SequenceDecoder>> one;
  one.push_back(make_tidar_sequence(model_, r, opt_));
  return std::move(decode_batch(model_, std::move(one), BatchOptions{1, false}, nullptr).front());
}

}  // namespace dllm
