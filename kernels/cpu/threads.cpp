#include "kernels/cpu/threads.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/check.h"

namespace dllm::cpu {

namespace {

// Workers 1..n-1 wait for a generation number to change, run their share, and report back; the
// calling thread runs share 0. One job at a time: concurrent callers take turns, and a call from
// inside a job (nested) runs inline.
class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      ++generation_;
    }
    start_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int size() const { return n_; }

  void run(const std::function<void(int)>& job) {
    std::lock_guard<std::mutex> turn(turn_);
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &job;
      pending_ = n_ - 1;
      ++generation_;
    }
    start_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      {
        std::unique_lock<std::mutex> lock(m_);
        start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  const int n_;
  std::vector<std::thread> workers_;
  std::mutex m_, turn_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
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
  p.run([&](int i) {
    if (i >= workers) return;
    in_job = true;  // this thread's flag: a nested parallel_for runs inline
    struct Reset {
      ~Reset() { in_job = false; }
    } reset;
    const int64_t begin = std::min(n, chunks * i / workers * grain),
                  end = std::min(n, chunks * (i + 1) / workers * grain);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace dllm::cpu
