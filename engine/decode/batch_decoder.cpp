#include "engine/decode/batch_decoder.h"

#include <algorithm>
#include <deque>

#include "core/check.h"
#include "core/clock.h"

namespace dllm {

std::vector<Generation> decode_batch(Transformer& model, std::vector<std::unique_ptr<SequenceDecoder>> sequences,
                                     const BatchOptions& options, BatchTrace* trace) {
  DLLM_CHECK(options.max_batch >= 1, "the batch size must be at least 1, got ", options.max_batch);
  DLLM_CHECK(!sequences.empty(), "nothing to decode");
  const ModelConfig& cfg = model.config();
  const int n = int(sequences.size()), rows = std::min(options.max_batch, n);
  int slots = 0;
  for (const auto& s : sequences) slots = std::max(slots, s->cache_slots());
  KvCache cache(cfg, rows, slots, model.backend().memory(), model.backend().kv_cache_dtype(cfg));

  std::vector<int> row_of(size_t(n), -1);  // cache row of each admitted sequence
  std::vector<int> free_rows;
  for (int r = rows - 1; r >= 0; --r) free_rows.push_back(r);
  std::deque<int> waiting;
  for (int i = 0; i < n; ++i) waiting.push_back(i);
  std::vector<int> active;              // admitted, not finished, in admission order
  std::vector<SharedPrefill> prefills;  // prompts prefilled so far, while a waiting sequence may need one
  std::vector<Generation> out(static_cast<size_t>(n));
  std::vector<bool> collected(static_cast<size_t>(n), false);
  Pass pass;
  PassRows wanted;
  std::vector<int> index_of_row;
  const auto t0 = Clock::now();

  auto collect_finished = [&]() {
    for (size_t a = 0; a < active.size();) {
      const int i = active[a];
      if (!sequences[size_t(i)]->done()) {
        ++a;
        continue;
      }
      out[size_t(i)] = sequences[size_t(i)]->take_result();
      collected[size_t(i)] = true;
      free_rows.push_back(row_of[size_t(i)]);
      active.erase(active.begin() + ptrdiff_t(a));
    }
  };
  auto find_prefill = [&](const std::vector<int32_t>& prompt) -> const SharedPrefill* {
    for (const SharedPrefill& p : prefills)
      if (p.prompt == prompt) return &p;
    return nullptr;
  };

  while (!waiting.empty() || !active.empty()) {
    // Admit waiting sequences into free rows; one whose prompt was prefilled starts from it at once.
    while (!waiting.empty() && !free_rows.empty()) {
      const int i = waiting.front();
      const std::vector<int32_t>& prompt = sequences[size_t(i)]->request().prompt;
      // A rollout whose prompt is being prefilled right now waits one forward and then imports it.
      if (options.share_prefill && !find_prefill(prompt) && std::any_of(active.begin(), active.end(), [&](int j) {
            return !sequences[size_t(j)]->started() && sequences[size_t(j)]->request().prompt == prompt;
          }))
        break;
      waiting.pop_front();
      const int row = free_rows.back();
      free_rows.pop_back();
      row_of[size_t(i)] = row;
      active.push_back(i);
      SequenceDecoder& s = *sequences[size_t(i)];
      if (const SharedPrefill* p = options.share_prefill ? find_prefill(s.request().prompt) : nullptr) {
        s.start_from(*p, cache, row);
        if (trace) ++trace->shared_prefills;
      }
    }
    collect_finished();  // a shared prefill may already have produced the whole output
    if (active.empty()) continue;

    pass.tokens.clear();
    wanted = PassRows{};
    for (int i : active) sequences[size_t(i)]->add_to_pass(row_of[size_t(i)], pass, wanted);
    index_of_row.assign(size_t(pass.size()), -1);
    for (size_t j = 0; j < wanted.index.size(); ++j) index_of_row[size_t(wanted.index[j])] = int(j);
    const auto tf = Clock::now();
    const PassLogits& logits = model.forward(pass, cache, wanted.index, wanted.draws);
    const double seconds = seconds_since(tf);
    if (trace) {
      trace->pass_tokens.push_back(pass.size());
      trace->pass_sequences.push_back(int(active.size()));
      trace->pass_seconds.push_back(seconds);
    }
    const RowLogits view(logits, index_of_row);
    const bool alone = active.size() == 1;
    for (int i : active) {
      SequenceDecoder& s = *sequences[size_t(i)];
      const bool had_prefill = s.has_own_prefill();
      s.after_forward(view, cache, pass, alone, seconds);
      // Keep a fresh prefill while a waiting sequence has the same prompt.
      if (options.share_prefill && !had_prefill && s.has_own_prefill() && !find_prefill(s.request().prompt) &&
          std::any_of(waiting.begin(), waiting.end(),
                      [&](int w) { return sequences[size_t(w)]->request().prompt == s.request().prompt; }))
        prefills.push_back(s.export_prefill(cache, row_of[size_t(i)], view));
    }
    collect_finished();
    // Drop prefills no waiting sequence needs any more.
    prefills.erase(std::remove_if(prefills.begin(), prefills.end(),
                                  [&](const SharedPrefill& p) {
                                    return std::none_of(waiting.begin(), waiting.end(), [&](int w) {
                                      return sequences[size_t(w)]->request().prompt == p.prompt;
                                    });
                                  }),
                   prefills.end());
  }
  if (trace) trace->total_seconds = seconds_since(t0);
  DLLM_ASSERT(std::all_of(collected.begin(), collected.end(), [](bool c) { return c; }));
  return out;
}

}  // namespace dllm
