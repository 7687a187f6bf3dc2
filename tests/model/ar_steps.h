// The prefill-then-greedy-AR-steps drive shared by the engine-against-reference tests (CPU dense,
// CPU zaya, GPU): each test says how a pass is checked, this says which passes run.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/pass.h"
#include "engine/backend/kv_cache.h"
#include "engine/model/transformer.h"

namespace dllm::testutil {

// check(context, pass, logits, where): `context` the tokens already in the cache, `logits` [T, V] of
// every pass row, `where` " prefill" or " step i".
using PassCheck = std::function<void(const std::vector<int32_t>& context, const Pass& pass,
                                     const std::vector<float>& logits, const std::string& where)>;

// Prefills `prompt` into cache row 0, then runs `steps` greedy AR steps (each feeds the argmax of the
// previous pass's last row); every pass goes to `check`, and `after_prefill` (if any) runs between
// the prefill and the steps. The cache needs prompt.size() + steps slots.
void run_prefill_and_greedy_steps(Transformer& tf, KvCache& cache, const std::vector<int32_t>& prompt, int steps,
                                  const PassCheck& check, const std::function<void()>& after_prefill = {});

}  // namespace dllm::testutil
