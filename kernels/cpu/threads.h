// The worker threads the CPU kernels split their work over: a fixed pool, sized once from
// DLLM_THREADS (default: the hardware threads). Work is split into contiguous, disjoint ranges
// whose results do not depend on how many threads there are (each output is computed by one thread,
// in an order fixed per output), so the thread count never changes a result bit.
#pragma once
#include <cstdint>
#include <functional>

namespace dllm::cpu {

// Threads the kernels use (>= 1): $DLLM_THREADS, else std::thread::hardware_concurrency().
int thread_count();

// Calls fn(begin, end) over disjoint ranges covering [0, n) in parallel; returns when all are
// done. Each range is one chunk of `grain` (the last may be shorter), taken by whichever thread is
// free; fn runs inline over all of [0, n) for one thread or when n <= grain.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace dllm::cpu
