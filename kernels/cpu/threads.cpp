#include "kernels/cpu/threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/check.h"

namespace dllm::cpu {

namespace {

// How long a thread polls a counter before it sleeps on it. A decode step runs a few hundred jobs
// back to back with a few microseconds of single-threaded work between them; waking a sleeping
// thread costs tens of microseconds (more in a virtual machine), while it is the other thread that
// finishes a job's share last.
constexpr auto kSpin = std::chrono::microseconds(500);

// Between two polls the thread yields its CPU rather than pausing on it: when the machine has
// more runnable threads than CPUs (tests side by side, a build), the thread being waited for may
// need this very CPU, and a thread that kept it would wait out its whole spin (measured: 1 ms per
// job with pause, 5 us with yield, on 2 busy CPUs).
void relax() { std::this_thread::yield(); }

// Returns once ready(counter) holds: spinning for kSpin, then sleeping on the counter's changes.
template <typename Ready>
void wait_until(const std::atomic<int>& counter, Ready ready) {
  const auto give_up = std::chrono::steady_clock::now() + kSpin;
  bool spinning = true;
  for (int i = 1;; ++i) {
    const int v = counter.load(std::memory_order_acquire);
    if (ready(v)) return;
    if (spinning && i % 64 == 0) spinning = std::chrono::steady_clock::now() < give_up;
    if (spinning)
      relax();
    else
      counter.wait(v, std::memory_order_acquire);
  }
}

// Workers 1..n-1 wait for the generation counter to change, run their share, and count down
// `pending`; the calling thread runs share 0. One job at a time: concurrent callers take turns, and
// a call from inside a job (nested) runs inline.
class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int size() const { return n_; }

  void run(const std::function<void(int)>& job) {
    std::lock_guard<std::mutex> turn(turn_);
    job_ = &job;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    job(0);
    wait_until(pending_, [](int v) { return v == 0; });
  }

 private:
  void work(int index) {
    int seen = 0;
    for (;;) {
      wait_until(generation_, [&](int v) { return v != seen; });
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed)) return;
      (*job_)(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  const int n_;
  std::vector<std::thread> workers_;
  std::mutex turn_;
  const std::function<void(int)>* job_ = nullptr;  // written before generation_ moves on
  std::atomic<int> generation_{0}, pending_{0};
  std::atomic<bool> stop_{false};
};

int configured_threads() {
  if (const char* e = std::getenv("DLLM_THREADS"); e && *e) {
    char* end = nullptr;
    const long n = std::strtol(e, &end, 10);
    DLLM_CHECK(*end == 0 && n >= 1 && n <= 1024, "DLLM_THREADS=", e,
               " is not a thread count: set a whole number from 1 to 1024, or unset it for all hardware threads");
    return int(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

Pool& pool() {
  static Pool p(configured_threads());
  return p;
}

}  // namespace

int thread_count() { return pool().size(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  Pool& p = pool();
  const int64_t chunks = (n + grain - 1) / grain;
  const int workers = int(std::min<int64_t>(p.size(), chunks));
  thread_local bool in_job = false;
  if (workers <= 1 || in_job) {
    if (n > 0) fn(0, n);
    return;
  }
  // Chunks of `grain` go to whichever thread asks next, so a thread that starts late or is
  // interrupted takes fewer of them instead of holding the others up.
  std::atomic<int64_t> next{0};
  p.run([&](int i) {
    if (i >= workers) return;
    in_job = true;  // this thread's flag: a nested parallel_for runs inline
    struct Reset {
      ~Reset() { in_job = false; }
    } reset;
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
      fn(c * grain, std::min(n, (c + 1) * grain));
  });
}

}  // namespace dllm::cpu
