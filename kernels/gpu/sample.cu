#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// Order-preserving key of a finite float (a > b <=> key(a) > key(b)); -0 counts as +0, as the
// reference's probabilities do; NaN gets 0, below every number.
__device__ inline uint32_t key_of(float x) {
  if (x != x) return 0u;
  const uint32_t u = f32_to_bits(x == 0.0f ? 0.0f : x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct Sum {
  template <typename T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
  template <typename T> __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
struct Min {
  template <typename T> __device__ T operator()(T a, T b) const { return a < b ? a : b; }
};

// A block-wide reduction by a fixed tree over the threads, through shared memory (kBlockThreads,
// a power of two): every thread gets the same bits.
template <typename T, typename Op>
__device__ T block_reduce(T v, T* shared, Op op) {
  const int tid = int(threadIdx.x);
  __syncthreads();  // the previous call's result may still be read
  shared[tid] = v;
  __syncthreads();
  for (int s = int(blockDim.x) / 2; s > 0; s /= 2) {
    if (tid < s) shared[tid] = op(shared[tid], shared[tid + s]);
    __syncthreads();
  }
  return shared[0];
}

// One block per row (ref::sample's rule). The top-k and top-p cuts are thresholds on the key with,
// for the tie group at the threshold, a cut on the token id: the kept tokens are a prefix of the
// ranking (probability, then lower id), found by bisection with block-wide counts and sums instead of
// a sort. The pick is an inverse CDF in id order: each thread owns a contiguous chunk of ids, and the
// cumulative mass at id i is (the chunk sums before i's chunk, added in order) + (the sum within the
// chunk up to i): nondecreasing in i, so the first id past u * total is a block-wide minimum.
__global__ void sample_kernel(SampleArgs a) {
  __shared__ double shared_d[kBlockThreads];
  __shared__ uint32_t shared_u[kBlockThreads];
  __shared__ double total;
  const int n = a.dim, tid = int(threadIdx.x), threads = int(blockDim.x);
  const float* x = a.x + int64_t(blockIdx.x) * n;
  const RowDraw d = a.draws[blockIdx.x];
  const auto count_if = [&](auto pred) {
    uint32_t c = 0;
    for (int i = tid; i < n; i += threads) c += pred(i) ? 1u : 0u;
    return block_reduce(c, shared_u, Sum{});
  };

  if (d.temperature == 0.0f) {  // the argmax: the lowest id of the largest key
    uint32_t top = 0;
    for (int i = tid; i < n; i += threads) top = Max{}(top, key_of(x[i]));
    top = block_reduce(top, shared_u, Max{});
    uint32_t first = uint32_t(n);
    for (int i = tid; i < n; i += threads)
      if (key_of(x[i]) == top) {
        first = uint32_t(i);
        break;
      }
    first = block_reduce(first, shared_u, Min{});
    if (tid == 0) a.token[blockIdx.x] = first < uint32_t(n) ? int32_t(first) : 0;
    return;
  }

  const double temperature = d.temperature;
  double max = -INFINITY;
  for (int i = tid; i < n; i += threads) max = fmax(max, double(x[i]) / temperature);
  max = block_reduce(max, shared_d, Max{});
  const auto weight = [&](int i) { return exp(double(x[i]) / temperature - max); };
  const auto mass_if = [&](auto pred) {
    double m = 0.0;
    for (int i = tid; i < n; i += threads) m += pred(i) ? weight(i) : 0.0;
    return block_reduce(m, shared_d, Sum{});
  };
  // The largest key threshold t with score(t) >= goal, for a score that falls as t rises.
  const auto largest_key = [&](auto score, auto goal) {
    uint32_t lo = 0, hi = 0xffffffffu;
    while (lo < hi) {
      const uint32_t mid = uint32_t(lo + (uint64_t(hi - lo) + 1) / 2);
      if (score(mid) >= goal) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // The smallest id c with score(c) >= goal, for a score that rises with c (score(n - 1) >= goal).
  const auto smallest_id = [&](auto score, auto goal) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (score(mid) >= goal) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  // Top-k: keep key > k_key, and the tie group at k_key up to id k_id.
  uint32_t k_key = 0;
  int k_id = n;
  if (d.top_k > 0 && d.top_k < n) {
    const uint32_t k = uint32_t(d.top_k);
    k_key = largest_key([&](uint32_t t) { return count_if([&](int i) { return key_of(x[i]) >= t; }); }, k);
    const uint32_t above = count_if([&](int i) { return key_of(x[i]) > k_key; }), need = k - above;
    if (count_if([&](int i) { return key_of(x[i]) == k_key; }) > need)
      k_id = smallest_id([&](int c) { return count_if([&](int i) { return i <= c && key_of(x[i]) == k_key; }); }, need);
  }
  const auto in_top_k = [&](int i) { const uint32_t k = key_of(x[i]); return k > k_key || (k == k_key && i <= k_id); };

  // Top-p over the top-k: the shortest ranking prefix whose mass reaches top_p of theirs.
  uint32_t p_key = 0;
  int p_id = n;
  if (d.top_p < 1.0f) {
    const double goal = double(d.top_p) * mass_if(in_top_k);
    p_key = largest_key(
        [&](uint32_t t) { return mass_if([&](int i) { return in_top_k(i) && key_of(x[i]) >= t; }); }, goal);
    if (count_if([&](int i) { return in_top_k(i) && key_of(x[i]) == p_key; }) > 1) {
      const double above = mass_if([&](int i) { return in_top_k(i) && key_of(x[i]) > p_key; });
      p_id = smallest_id(
          [&](int c) {
            return above + mass_if([&](int i) { return i <= c && in_top_k(i) && key_of(x[i]) == p_key; });
          },
          goal);
    }
  }
  const auto kept_weight = [&](int i) {
    const uint32_t k = key_of(x[i]);
    return in_top_k(i) && (k > p_key || (k == p_key && i <= p_id)) ? weight(i) : 0.0;
  };

  // Inverse CDF over contiguous chunks.
  const int chunk = (n + threads - 1) / threads, begin = tid * chunk < n ? tid * chunk : n;
  const int end = begin + chunk < n ? begin + chunk : n;
  double local = 0.0;
  for (int i = begin; i < end; ++i) local += kept_weight(i);
  __syncthreads();
  shared_d[tid] = local;
  __syncthreads();
  if (tid == 0) {  // the chunk sums become their exclusive prefix, added in chunk order
    double run = 0.0;
    for (int t = 0; t < threads; ++t) {
      const double s = shared_d[t];
      shared_d[t] = run;
      run += s;
    }
    total = run;
  }
  __syncthreads();
  const double prefix = shared_d[tid], target = d.u * total;
  uint32_t first = uint32_t(n), last_kept = 0;
  double cum = 0.0;
  for (int i = begin; i < end; ++i) {
    const double w = kept_weight(i);
    if (w <= 0.0) continue;
    cum += w;
    last_kept = uint32_t(i);
    if (target < prefix + cum) {
      first = uint32_t(i);
      break;
    }
  }
  first = block_reduce(first, shared_u, Min{});
  last_kept = block_reduce(last_kept, shared_u, Max{});
  if (tid == 0) a.token[blockIdx.x] = int32_t(first < uint32_t(n) ? first : last_kept);
}

}  // namespace

void sample(const SampleArgs& a) {
  launch_per_row("sample", sample_kernel, a.rows, a);
}

}  // namespace dllm::gpu
