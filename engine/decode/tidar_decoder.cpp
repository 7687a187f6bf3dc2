#include "engine/decode/tidar_decoder.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "engine/core/check.h"

namespace dllm {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The next step's drafts and the diffusion logits that produced them.
struct Drafts {
  std::vector<int32_t> tokens;  // [K]
  std::vector<float> logits;    // [K, V]
  std::vector<bool> padded;     // no prediction covers the position: a mask-token placeholder
};

// Mixing divergence at the positions this step decided with mixed rows: the n accepted drafts and,
// when a draft was rejected, the recovered token's row (the bonus row is pure AR).
void record_mixing(DecodeMetrics::Mixing& mix, const float* verify_rows, const std::vector<Draft>& drafts, int n,
                   int vocab, const VerifyConfig& vc) {
  const int k = int(drafts.size());
  for (int j = 0; j <= std::min(n, k - 1); ++j) {
    if (drafts[size_t(j)].logits == nullptr) continue;  // a padding draft's row is not mixed
    const MixingDivergence d = mixing_divergence(verify_rows + size_t(j) * vocab, drafts[size_t(j)], vocab, vc);
    ++mix.positions;
    mix.same_top1 += d.same_top1;
    mix.kl_sum += d.kl;
    mix.tv_sum += d.tv;
    mix.kl_max = std::max(mix.kl_max, d.kl);
  }
}

// Drafts for positions first..first+K-1 from pass rows: row_of(j) is the row predicting draft j,
// or -1 when no row covers it.
template <typename RowOf>
Drafts drafts_from_rows(const std::vector<float>& logits, int k, int vocab, const VerifyConfig& vc,
                        uint32_t seq, int first, int32_t mask, RowOf row_of) {
  Drafts d;
  d.tokens.resize(size_t(k));
  d.logits.assign(size_t(k) * vocab, 0.0f);
  d.padded.assign(size_t(k), false);
  for (int j = 0; j < k; ++j) {
    const int row = row_of(j);
    if (row < 0) {
      d.tokens[size_t(j)] = mask;
      d.padded[size_t(j)] = true;
      continue;
    }
    const float* y = logits.data() + size_t(row) * vocab;
    std::copy(y, y + vocab, d.logits.begin() + ptrdiff_t(size_t(j) * vocab));
    d.tokens[size_t(j)] = draft_token(y, vocab, vc, seq, first + j);
  }
  return d;
}

}  // namespace

std::vector<int> parse_levels(const std::string& spec, int k) {
  std::vector<int> levels;
  if (spec == "dense") {
    for (int p = 0; p <= k; ++p) levels.push_back(p);
    return levels;
  }
  const std::string list = spec == "P3" ? "0,6,16" : spec == "P5" ? "0,2,5,10,16" : spec;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    DLLM_CHECK(!item.empty() && *end == '\0', "--levels ", spec,
               ": expected dense, P3, P5 or comma-separated levels like 0,6,16");
    DLLM_CHECK(v >= 0 && v <= k, "--levels ", spec, ": level ", v, " lies outside [0, K = ", k,
               "] (the presets P3/P5 need K >= 16)");
    DLLM_CHECK(levels.empty() || v > levels.back(), "--levels ", spec, ": levels must increase");
    levels.push_back(int(v));
  }
  DLLM_CHECK(!levels.empty() && levels.front() == 0, "--levels ", spec,
             ": the set must contain level 0 (the proposal used when no draft is accepted)");
  return levels;
}

TidarDecoder::TidarDecoder(Transformer& model, TidarOptions options) : model_(model), opt_(std::move(options)) {
  const ModelConfig& cfg = model_.config();
  DLLM_CHECK(opt_.block_size >= 1, "--block-size must be at least 1, got ", opt_.block_size);
  DLLM_CHECK(cfg.mask_token_id >= 0,
             "this model's config.json has no mask_token_id: TiDAR decoding needs the mask token");
  if (opt_.levels.empty()) opt_.levels = parse_levels("dense", opt_.block_size);
  DLLM_CHECK(opt_.levels.front() == 0 && opt_.levels.back() <= opt_.block_size, "levels must lie in [0, K] and start at 0");
  DLLM_CHECK(opt_.mix_weight >= 0.0f && opt_.mix_weight <= 1.0f, "--mix-weight must lie in [0, 1], got ", opt_.mix_weight);
  DLLM_CHECK(opt_.draft_temperature >= 0.0f, "--draft-temperature must be >= 0");
}

void TidarDecoder::forward(const Pass& pass, KvCache& cache, const std::vector<int32_t>& context,
                           std::vector<float>& logits, DecodeMetrics& m) {
  counted_forward(model_, pass, cache, {}, logits, m);
  if (opt_.pass_hook) opt_.pass_hook(context, pass, logits);
}

Generation TidarDecoder::generate(const GenerateRequest& r) {
  const ModelConfig& cfg = model_.config();
  const int k = opt_.block_size, vocab = cfg.vocab_size;
  const int32_t mask = cfg.mask_token_id;
  const bool single = opt_.layout == Layout::single_forward;
  // Passes reach K positions past the anchor (verify, draft block) or 2K + 1 (proposal blocks).
  validate_request(r, cfg, single ? 2 * k + 1 : k);
  const uint32_t seq = uint32_t(r.sequence);
  const int prompt_len = int(r.prompt.size());
  KvCache cache(cfg, 1, prompt_len + r.max_new_tokens + k + 1);
  VerifyConfig vc{r.sampler, opt_.mix_weight, opt_.draft_temperature};

  Generation g;
  DecodeMetrics& m = g.metrics;
  m.prompt_tokens = prompt_len;
  m.accepted_histogram.assign(size_t(k) + 1, 0);
  m.slot_verified.assign(size_t(k), 0);
  m.slot_accepted.assign(size_t(k), 0);
  TokenSink sink(g, cfg, r.max_new_tokens);
  std::vector<int32_t> context = r.prompt;  // tokens in the cache, [0, L)
  std::vector<float> logits;
  const auto t0 = Clock::now();

  int32_t anchor = prefill_first_token(model_, cache, r, g, sink);  // exactly as the AR decoder draws it
  bool more = !sink.done();
  int len = prompt_len;  // L: committed tokens in the cache; the anchor sits at position L

  // A draft pass [anchor, mask x K]: the first drafts, and every step's drafts in two-forward mode.
  auto draft_pass = [&]() {
    Pass p;
    add_draft_block(p, 0, anchor, k, mask, len);
    forward(p, cache, context, logits, m);
    return drafts_from_rows(logits, k, vocab, vc, seq, len + 1, mask, [](int j) { return j + 1; });
  };
  Drafts drafts;
  if (more) drafts = draft_pass();

  while (more) {
    const auto ts = Clock::now();
    if (opt_.draft_hook) opt_.draft_hook(len + 1, drafts.tokens);
    Pass pass;
    const int verify = add_verify_segment(pass, 0, anchor, drafts.tokens, len);
    std::vector<int> block_of_level;
    if (single)
      for (int level : opt_.levels)
        block_of_level.push_back(add_proposal_block(pass, 0, verify, level, k, mask, len, opt_.proposal_attention));
    forward(pass, cache, context, logits, m);

    std::vector<Draft> to_verify(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j)
      to_verify[size_t(j)] = Draft{drafts.tokens[size_t(j)],
                                   drafts.padded[size_t(j)] ? nullptr : drafts.logits.data() + size_t(j) * vocab};
    const VerifyOutcome out = verify_drafts(logits.data() + size_t(verify) * vocab, to_verify, vocab, vc, seq, len + 1);
    const int n = out.accepted;
    ++m.accepted_histogram[size_t(n)];
    if (vc.mix_weight != 1.0f) record_mixing(m.mixing, logits.data() + size_t(verify) * vocab, to_verify, n, vocab, vc);
    for (int j = 0; j < std::min(n + 1, k); ++j) {
      ++m.slot_verified[size_t(j)];
      if (j < n) ++m.slot_accepted[size_t(j)];
    }

    // Commit d1..dn and the next token; the cache now holds the anchor and d1..dn.
    context.push_back(anchor);
    for (int j = 0; j < n; ++j) context.push_back(drafts.tokens[size_t(j)]);
    for (int j = 0; j < n && more; ++j) more = sink.push(drafts.tokens[size_t(j)]);
    if (more) more = sink.push(out.next);
    sink.end_step();
    len += n + 1;
    cache.set_length(0, len);
    anchor = out.next;

    if (more) {
      if (single) {
        // The proposal at level n, or the closest level below: its row i predicts position
        // L_old + p + 1 + i; the next drafts sit at L_new + 1 + j = L_old + n + 2 + j.
        const size_t li = size_t(std::upper_bound(opt_.levels.begin(), opt_.levels.end(), n) - opt_.levels.begin()) - 1;
        const int level = opt_.levels[li], block = block_of_level[li];
        drafts = drafts_from_rows(logits, k, vocab, vc, seq, len + 1, mask, [&](int j) {
          const int i = j + 1 + (n - level);
          return i <= k ? block + i : -1;
        });
      } else {
        drafts = draft_pass();
      }
    }
    m.step_seconds.push_back(seconds_since(ts));
  }
  m.total_seconds = seconds_since(t0);
  return g;
}

}  // namespace dllm
