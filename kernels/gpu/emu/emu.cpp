// The kernel-language emulator's runtime (emu.h): device memory that host code cannot touch, the
// fiber scheduler that runs a block's threads with real barriers and shuffles, launch checks and
// events.
#include "kernels/gpu/emu/emu.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/dtype.h"

#if !defined(__x86_64__)
#error "the emulator's fiber switch (dllm_emu_switch below) is written for x86-64"
#endif

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

// Saves the callee-saved registers on the current stack, stores its pointer in *save_sp, and resumes
// the fiber whose stack pointer is load_sp (System V x86-64: rbx, rbp, r12-r15 are callee-saved).
extern "C" void dllm_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .pushsection .text
  .p2align 4
  .globl dllm_emu_switch
  .type dllm_emu_switch, @function
dllm_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size dllm_emu_switch, .-dllm_emu_switch
  .popsection
)");

namespace dllm::emu {

namespace {

constexpr int kWarp = DLLM_EMU_WARP_SIZE;
constexpr unsigned kMaxThreads = 1024;
constexpr size_t kAlign = 256;  // device allocations are aligned like cudaMalloc's
const size_t kPage = size_t(sysconf(_SC_PAGESIZE));

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The launch error gpuGetLastError() reports (sticky until read, like the runtimes').
Error g_last_error = Error::success;
void set_error(Error e) {
  if (g_last_error == Error::success) g_last_error = e;
}
std::recursive_mutex g_mutex;  // one launch or copy at a time; device memory is opened inside

// ---- Device memory. Each allocation is its own mapping: data pages, then a guard page that is never
// accessible. The pointer is placed so the allocation (rounded to kAlign) ends at the guard page:
// a kernel reading or writing past the end faults. Outside kernels and copies the data pages are
// inaccessible too, so host code that dereferences a device pointer faults at once. Where the CPU
// has memory protection keys the data pages carry one key and opening the device is one register
// write; elsewhere every mapping is mprotect-ed at each open and close (slower, same checks).
struct Mapping {
  char* base;         // the mapping's first byte
  size_t data_bytes;  // accessible pages while the device is open
  size_t bytes;       // what was asked for
};
std::map<uintptr_t, Mapping> g_allocations;  // keyed by the pointer handed out
int g_pkey = -2;                             // -2: not tried yet; -1: no protection keys

int device_pkey() {
  if (g_pkey == -2) g_pkey = pkey_alloc(0, PKEY_DISABLE_ACCESS);
  return g_pkey;
}

void set_device_access(bool open) {
  if (device_pkey() >= 0) {
    pkey_set(g_pkey, open ? 0 : PKEY_DISABLE_ACCESS);
    return;
  }
  for (auto& [ptr, m] : g_allocations) mprotect(m.base, m.data_bytes, open ? PROT_READ | PROT_WRITE : PROT_NONE);
}

// Device memory is readable and writable for the lifetime of this object (kernels and copies).
class DeviceOpen {
 public:
  DeviceOpen() : lock_(g_mutex) {
    if (depth_++ == 0) set_device_access(true);
  }
  ~DeviceOpen() {
    if (--depth_ == 0) set_device_access(false);
  }
  DeviceOpen(const DeviceOpen&) = delete;
  DeviceOpen& operator=(const DeviceOpen&) = delete;

 private:
  std::lock_guard<std::recursive_mutex> lock_;
  static inline int depth_ = 0;
};

// The mapping whose data pages or guard page hold addr.
const Mapping* find_mapping(uintptr_t addr) {
  for (auto& [ptr, m] : g_allocations) {
    const uintptr_t lo = uintptr_t(m.base), hi = lo + m.data_bytes + kPage;
    if (addr >= lo && addr < hi) return &m;
  }
  return nullptr;
}

// Whether [p, p + bytes) lies inside one device allocation.
bool is_device_range(const void* p, size_t bytes) {
  const uintptr_t a = uintptr_t(p);
  auto it = g_allocations.upper_bound(a);
  if (it == g_allocations.begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->first + it->second.bytes;
}

// A fault inside a device mapping: say which kind, then let the default action end the process.
struct sigaction g_previous_segv;
void on_segv(int sig, siginfo_t* info, void* context) {
  const uintptr_t addr = uintptr_t(info->si_addr);
  if (const Mapping* m = find_mapping(addr)) {
    char msg[256];
    const uintptr_t data_end = uintptr_t(m->base) + m->data_bytes;
    const int n = addr >= data_end
                      ? std::snprintf(msg, sizeof msg,
                                      "dllm GPU emulator: access at %#lx is past the end of a device allocation of "
                                      "%zu bytes (out of bounds in a kernel or copy)\n",
                                      static_cast<unsigned long>(addr), m->bytes)
                      : std::snprintf(msg, sizeof msg,
                                      "dllm GPU emulator: host code touched device memory at %#lx (outside a kernel "
                                      "or copy: on a GPU this pointer is not host-accessible)\n",
                                      static_cast<unsigned long>(addr));
    if (n > 0) (void)!write(2, msg, size_t(n));
  }
  sigaction(SIGSEGV, &g_previous_segv, nullptr);  // re-executing the access now ends the process
  (void)sig, (void)context;
}

void install_segv_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    static std::vector<char> alt(1 << 16);  // the handler may run for a fault on a fiber's stack
    stack_t ss{};
    ss.ss_sp = alt.data(), ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
  });
}

// ---- Fibers: one per thread of the running block, each on its own stack with a guard page below.
enum class State { runnable, at_barrier, at_shuffle, done };
struct Fiber {
  void* sp = nullptr;
  State state = State::runnable;
  unsigned shuffles = 0;  // shuffle count: picks the exchange buffer (two alternate)
};
constexpr size_t kStackBytes = 256 * 1024;

std::vector<char*> g_stacks;  // [thread] bottom of the usable stack
std::vector<Fiber> g_fibers;
std::vector<uint32_t> g_exchange[2];  // [thread] the value each lane offers to a shuffle
// cp.async: a thread's copies issued since its last commit, and its committed groups, oldest first.
struct AsyncCopy {
  unsigned char* dst;
  unsigned char bytes[16];
};
struct AsyncCopies {
  std::vector<AsyncCopy> open;
  std::deque<std::vector<AsyncCopy>> groups;
};
std::vector<AsyncCopies> g_async;  // [thread]
void* g_scheduler_sp = nullptr;
unsigned g_current = 0;
const std::function<void()>* g_body = nullptr;

extern "C" [[noreturn]] void dllm_emu_fiber_main() {
  (*g_body)();
  g_fibers[g_current].state = State::done;
  dllm_emu_switch(&g_fibers[g_current].sp, g_scheduler_sp);
  std::abort();  // a finished fiber is never resumed
}

void ensure_stacks(unsigned n) {
  while (g_stacks.size() < n) {
    void* m = mmap(nullptr, kStackBytes + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::fputs("dllm GPU emulator: cannot map a fiber stack\n", stderr);
      std::abort();
    }
    mprotect(m, kPage, PROT_NONE);  // overflow faults instead of corrupting the next stack
    g_stacks.push_back(static_cast<char*>(m) + kPage);
  }
  g_fibers.resize(std::max<size_t>(g_fibers.size(), n));
  for (auto& x : g_exchange) x.resize(std::max<size_t>(x.size(), n));
  g_async.resize(std::max<size_t>(g_async.size(), n));
}

// A fresh fiber whose first switch enters dllm_emu_fiber_main as if called (rsp = 8 mod 16).
void start_fiber(unsigned i) {
  auto* sp = reinterpret_cast<uintptr_t*>(g_stacks[i] + kStackBytes);
  *--sp = 0;                                                  // return address of fiber_main: none
  *--sp = reinterpret_cast<uintptr_t>(&dllm_emu_fiber_main);  // popped by dllm_emu_switch's ret
  for (int r = 0; r < 6; ++r) *--sp = 0;                      // rbp, rbx, r12-r15
  g_fibers[i] = Fiber{sp, State::runnable, 0};
  g_async[i] = AsyncCopies{};  // copies a thread of the previous block left uncommitted or unawaited
}

void block_at(State s) {
  Fiber& f = g_fibers[g_current];
  f.state = s;
  dllm_emu_switch(&f.sp, g_scheduler_sp);
}

void set_thread_index(unsigned i) {
  threadIdx.x = i % blockDim.x;
  threadIdx.y = i / blockDim.x % blockDim.y;
  threadIdx.z = i / (blockDim.x * blockDim.y);
}

// Runs the current block to completion: rounds that resume every runnable thread in thread order,
// each running until it ends, waits at __syncthreads() or offers a value to a shuffle. The barrier
// opens when every thread of the block waits there (CUDA and HIP leave a barrier that exited threads
// never reach undefined, so it is an error here); a warp whose lanes all wait at a shuffle goes on.
// False (and a launch error) when threads wait for others that cannot come.
bool run_block(unsigned n) {
  for (unsigned i = 0; i < n; ++i) start_fiber(i);
  unsigned live = n;
  for (;;) {
    for (unsigned i = 0; i < n; ++i) {
      if (g_fibers[i].state != State::runnable) continue;
      g_current = i;
      set_thread_index(i);
      dllm_emu_switch(&g_scheduler_sp, g_fibers[i].sp);
      if (g_fibers[i].state == State::done) --live;
    }
    if (live == 0) return true;
    unsigned at_barrier = 0;
    for (unsigned i = 0; i < n; ++i) at_barrier += g_fibers[i].state == State::at_barrier;
    if (at_barrier == n) {
      for (unsigned i = 0; i < n; ++i) g_fibers[i].state = State::runnable;
      continue;
    }
    // Every lane of a (whole) warp at a shuffle: release that warp.
    bool released = false;
    for (unsigned w = 0; w * kWarp < n; ++w) {
      const unsigned lo = w * kWarp, hi = lo + kWarp;
      if (hi > n) continue;
      bool all = true;
      for (unsigned i = lo; i < hi && all; ++i) all = g_fibers[i].state == State::at_shuffle;
      if (!all) continue;
      for (unsigned i = lo; i < hi; ++i) g_fibers[i].state = State::runnable;
      released = true;
    }
    if (!released) {
      std::fprintf(stderr,
                   "dllm GPU emulator: block (%u,%u,%u) cannot proceed: of its %u threads %u wait at "
                   "__syncthreads, %u have exited and the others wait at warp shuffles their whole warp "
                   "does not reach\n",
                   blockIdx.x, blockIdx.y, blockIdx.z, n, at_barrier, n - live);
      set_error(Error::divergent_sync);
      return false;
    }
  }
}

// A warp collective: the lane offers its 4-byte value and waits until every lane of its warp has;
// returns the warp's offers, in lane order.
const uint32_t* offer_to_warp(const void* value) {
  const unsigned me = g_current, lane = me % kWarp;
  Fiber& f = g_fibers[me];
  std::vector<uint32_t>& buf = g_exchange[f.shuffles++ % 2];
  std::memcpy(&buf[me], value, 4);
  block_at(State::at_shuffle);  // resumes once every lane of the warp has offered its value
  return &buf[me - lane];
}

template <class T>
T exchange(T v, int mask) {
  static_assert(sizeof(T) == 4);
  const uint32_t* offers = offer_to_warp(&v);
  const unsigned partner = unsigned(int(g_current % kWarp) ^ mask);
  if (partner >= unsigned(kWarp)) return v;  // outside the warp: the lane's own value
  T out;
  std::memcpy(&out, &offers[partner], 4);
  return out;
}

// Every lane's value of a warp collective, in lane order (the offers of a shuffle, read whole).
template <class T>
void gather_warp(T v, T* all) {
  static_assert(sizeof(T) == 4);
  std::memcpy(all, offer_to_warp(&v), sizeof(T) * kWarp);
}

}  // namespace

#if DLLM_EMU_WARP_SIZE == 32
void mma_16x8x16_bf16(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]) {
  float A[16][16], B[16][8];  // the warp's operands, gathered from the lanes' registers
  for (int r = 0; r < 4; ++r) {
    uint32_t regs[kWarp];
    gather_warp(a[r], regs);
    for (int l = 0; l < kWarp; ++l)
      for (int h = 0; h < 2; ++h)
        A[l / 4 + 8 * (r % 2)][2 * (l % 4) + 8 * (r / 2) + h] = bf16_to_f32(uint16_t(regs[l] >> (16 * h)));
  }
  for (int r = 0; r < 2; ++r) {
    uint32_t regs[kWarp];
    gather_warp(b[r], regs);
    for (int l = 0; l < kWarp; ++l)
      for (int h = 0; h < 2; ++h) B[2 * (l % 4) + 8 * r + h][l / 4] = bf16_to_f32(uint16_t(regs[l] >> (16 * h)));
  }
  const int lane = int(g_current % kWarp), g = lane / 4, q = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i / 2), col = 2 * q + i % 2;
    for (int k = 0; k < 16; ++k) c[i] += A[row][k] * B[k][col];
  }
}

void ldmatrix_x4(uint32_t (&r)[4], const void* row, bool trans) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(row);
  uint32_t lo[kWarp], hi[kWarp];  // every lane's row address, in halves
  gather_warp(uint32_t(at), lo);
  gather_warp(uint32_t(uint64_t(at) >> 32), hi);
  const auto element = [&](int j, int i, int col) {  // M_j[i][col]: row i of matrix j is lane 8 j + i's
    const auto* p = reinterpret_cast<const uint16_t*>(uintptr_t(uint64_t(hi[8 * j + i]) << 32 | lo[8 * j + i]));
    return uint32_t(p[col]);
  };
  const int lane = int(g_current % kWarp), g = lane / 4, q = lane % 4;
  for (int j = 0; j < 4; ++j)
    r[j] = trans ? element(j, 2 * q, g) | element(j, 2 * q + 1, g) << 16
                 : element(j, g, 2 * q) | element(j, g, 2 * q + 1) << 16;
}
#else
void mfma_16x16x16_bf16(const uint32_t (&a)[2], const uint32_t (&b)[2], float (&c)[4]) {
  float A[16][16], B[16][16];  // the wave's operands: lane r + 16 s holds A[r][4s ..] and B[4s ..][r]
  for (int reg = 0; reg < 2; ++reg) {
    uint32_t as[kWarp], bs[kWarp];
    gather_warp(a[reg], as);
    gather_warp(b[reg], bs);
    for (int l = 0; l < kWarp; ++l)
      for (int h = 0; h < 2; ++h) {
        const int r = l % 16, k = 4 * (l / 16) + 2 * reg + h;
        A[r][k] = bf16_to_f32(uint16_t(as[l] >> (16 * h)));
        B[k][r] = bf16_to_f32(uint16_t(bs[l] >> (16 * h)));
      }
  }
  const int lane = int(g_current % kWarp), col = lane % 16, s = lane / 16;
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 16; ++k) c[i] += A[4 * s + i][k] * B[k][col];
}
#endif

void cp_async_16(void* shared_dst, const void* global_src, bool valid) {
  AsyncCopy c{static_cast<unsigned char*>(shared_dst), {}};
  if (valid) std::memcpy(c.bytes, global_src, 16);
  std::memset(shared_dst, 0xff, 16);  // NaN in every float format until the copy lands
  g_async[g_current].open.push_back(c);
}

void cp_async_commit() {
  AsyncCopies& a = g_async[g_current];
  a.groups.push_back(std::move(a.open));
  a.open.clear();
}

void cp_async_wait(int pending) {
  AsyncCopies& a = g_async[g_current];
  for (; a.groups.size() > size_t(std::max(pending, 0)); a.groups.pop_front())
    for (const AsyncCopy& c : a.groups.front()) std::memcpy(c.dst, c.bytes, 16);
}

struct EventTime {
  std::chrono::steady_clock::time_point t;
};

const char* error_string(Error e) {
  switch (e) {
    case Error::success:
      return "no error";
    case Error::invalid_configuration:
      return "invalid configuration argument (block of 0 or more than 1024 threads, or a grid dimension of 0 or "
             "beyond the device's limits)";
    case Error::divergent_sync:
      return "a __syncthreads() or warp shuffle that not every thread reaches (the emulator's deadlock check)";
    case Error::invalid_value:
      return "invalid argument (a pointer that is not device memory, or a range past it)";
    case Error::out_of_memory:
      return "out of memory";
    case Error::capture_unsupported:
      return "operation not permitted when stream is capturing (an allocation, free, host copy or synchronisation)";
    case Error::capture_invalidated:
      return "operation failed due to a previous error during capture";
  }
  return "unknown error";
}

Error last_error() {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  const Error e = g_last_error;
  g_last_error = Error::success;
  return e;
}

Error device_count(int* n) {
  *n = 1;
  return Error::success;
}

Error device_properties(DeviceProp* p, int device) {
  if (device != 0) return Error::invalid_value;
  *p = DeviceProp{};
  std::snprintf(p->name, sizeof p->name, "dllm-bench CPU emulator (warp %d)", kWarp);
  p->totalGlobalMem = size_t(sysconf(_SC_PHYS_PAGES)) * kPage;
  p->multiProcessorCount = 1;
  p->warpSize = kWarp;
  return Error::success;
}

Error mem_get_info(size_t* free, size_t* total) {
  *free = size_t(sysconf(_SC_AVPHYS_PAGES)) * kPage;
  *total = size_t(sysconf(_SC_PHYS_PAGES)) * kPage;
  return Error::success;
}

Error runtime_version(int* v) {
  *v = 0;
  return Error::success;
}
Error driver_version(int* v) {
  *v = 0;
  return Error::success;
}

// ---- Streams and capture. Work runs when issued, unless this thread is capturing: then launches,
// device-to-device copies and memsets are recorded, and anything a capture cannot hold breaks it.
struct StreamState {};
struct RecordedWork {
  std::vector<std::function<void()>> ops;  // in issue order
};
namespace {
struct Capture {
  RecordedWork* work = nullptr;  // null: not capturing
  bool broken = false;
};
thread_local Capture t_capture;

// False (and the capture broken) when this thread is capturing: the operation cannot be recorded.
bool allowed_outside_capture() {
  if (!t_capture.work) return true;
  t_capture.broken = true;
  return false;
}
}  // namespace

Error stream_create_with_flags(Stream* s, unsigned /*flags*/) {
  *s = new StreamState{};
  return Error::success;
}
Error stream_synchronize(Stream) {  // work is complete when issued
  return allowed_outside_capture() ? Error::success : Error::capture_unsupported;
}

Error malloc_device(void** p, size_t bytes) {
  if (!allowed_outside_capture()) return Error::capture_unsupported;
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  install_segv_handler();
  const size_t data = round_up(round_up(bytes, kAlign), kPage);
  void* m = mmap(nullptr, data + kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return Error::out_of_memory;
  char* base = static_cast<char*>(m);
  if (device_pkey() >= 0 && pkey_mprotect(base, data, PROT_READ | PROT_WRITE, g_pkey) != 0) {
    munmap(m, data + kPage);
    return Error::out_of_memory;
  }
  char* ptr = base + data - round_up(bytes, kAlign);
  g_allocations[uintptr_t(ptr)] = Mapping{base, data, bytes};
  *p = ptr;
  return Error::success;
}

Error free_device(void* p) {
  if (!allowed_outside_capture()) return Error::capture_unsupported;
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!p) return Error::success;
  auto it = g_allocations.find(uintptr_t(p));
  if (it == g_allocations.end()) return Error::invalid_value;
  munmap(it->second.base, it->second.data_bytes + kPage);
  g_allocations.erase(it);
  return Error::success;
}

namespace {
// Stream work: run now, or recorded while this thread captures (its error is then the replay's
// launch error, as gpuGetLastError reports it).
Error run_or_record(std::function<Error()> op) {
  if (!t_capture.work) return op();
  t_capture.work->ops.push_back([op = std::move(op)] { set_error(op()); });
  return Error::success;
}
}  // namespace

Error memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, Stream) {
  if (kind != device_to_device && !allowed_outside_capture()) return Error::capture_unsupported;
  return run_or_record([=] {
    DeviceOpen open;
    const bool dst_ok = kind == device_to_host || is_device_range(dst, bytes);
    const bool src_ok = kind == host_to_device || is_device_range(src, bytes);
    if (!dst_ok || !src_ok) return Error::invalid_value;
    std::memmove(dst, src, bytes);
    return Error::success;
  });
}

Error memset_async(void* p, int value, size_t bytes, Stream) {
  return run_or_record([=] {
    DeviceOpen open;
    if (!is_device_range(p, bytes)) return Error::invalid_value;
    std::memset(p, value, bytes);
    return Error::success;
  });
}

Error stream_begin_capture(Stream, CaptureMode) {
  if (t_capture.work) return Error::capture_unsupported;  // already capturing
  t_capture = Capture{new RecordedWork{}, false};
  return Error::success;
}

Error stream_end_capture(Stream, Graph* g) {
  if (!t_capture.work) return Error::invalid_value;
  const Capture c = std::exchange(t_capture, Capture{});
  if (c.broken) {
    delete c.work;
    *g = nullptr;
    return Error::capture_invalidated;
  }
  *g = c.work;
  return Error::success;
}

Error graph_instantiate(GraphExec* e, Graph g, unsigned long long) {
  if (!g) return Error::invalid_value;
  *e = new RecordedWork(*g);
  return Error::success;
}

Error graph_launch(GraphExec e, Stream) {
  if (!e) return Error::invalid_value;
  if (!allowed_outside_capture()) return Error::capture_unsupported;  // no graphs inside graphs here
  for (const auto& op : e->ops) op();
  return Error::success;
}

Error graph_destroy(Graph g) {
  delete g;
  return Error::success;
}
Error graph_exec_destroy(GraphExec e) {
  delete e;
  return Error::success;
}

Error event_create(Event* e) {
  *e = new EventTime{};
  return Error::success;
}
Error event_destroy(Event e) {
  delete e;
  return Error::success;
}
Error event_record(Event e, Stream) {
  e->t = std::chrono::steady_clock::now();
  return Error::success;
}
Error event_synchronize(Event) { return Error::success; }
Error event_elapsed_ms(float* ms, Event begin, Event end) {
  *ms = std::chrono::duration<float, std::milli>(end->t - begin->t).count();
  return Error::success;
}

float shfl_xor(float v, int mask) { return exchange(v, mask); }
int shfl_xor(int v, int mask) { return exchange(v, mask); }

namespace {

// Runs body once per thread of every block of the grid.
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  DeviceOpen open;
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  const bool ok = threads > 0 && threads <= kMaxThreads && block.z <= 64 && grid.x > 0 && grid.y > 0 && grid.z > 0 &&
                  grid.x <= 0x7fffffffu && grid.y <= 65535 && grid.z <= 65535;
  if (!ok) return set_error(Error::invalid_configuration);
  const unsigned n = unsigned(threads);
  ensure_stacks(n);
  blockDim = block, gridDim = grid, g_body = &body;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx = uint3{x, y, z};
        if (!run_block(n)) return;
      }
}

}  // namespace

void launch(dim3 grid, dim3 block, std::function<void()> body) {
  run_or_record([grid, block, body = std::move(body)] {
    run_grid(grid, block, body);  // keeps its launch error for last_error()
    return Error::success;
  });
}

}  // namespace dllm::emu

void __syncthreads() { dllm::emu::block_at(dllm::emu::State::at_barrier); }

void __trap() {
  std::fputs("dllm GPU emulator: __trap() in a kernel\n", stderr);
  std::abort();
}
