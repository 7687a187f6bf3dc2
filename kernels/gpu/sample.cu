#include "kernels/gpu/common.h"
#include "kernels/gpu/gpu.h"

namespace dllm::gpu {

namespace {

// Order-preserving key of a float (a > b <=> key(a) > key(b)); -0 counts as +0, as the reference's
// comparisons do; NaN gets 0, below every number.
__device__ inline uint32_t key_of(float x) {
  if (x != x) return 0u;
  const uint32_t u = f32_to_bits(x == 0.0f ? 0.0f : x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct Sum {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct Max {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a > b ? a : b;
  }
};
struct Min {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a < b ? a : b;
  }
};

// Shared memory of one block's reductions (kBlockThreads, a power of two).
struct Scratch {
  double d[kBlockThreads];
  uint32_t u[kBlockThreads];
  double total;
};

// A block-wide reduction by a fixed tree over the threads: every thread gets the same bits.
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

template <typename Pred>
__device__ uint32_t count_if(int n, Pred pred, Scratch& s) {
  uint32_t c = 0;
  for (int i = int(threadIdx.x); i < n; i += int(blockDim.x)) c += pred(i) ? 1u : 0u;
  return block_reduce(c, s.u, Sum{});
}

template <typename Weight>
__device__ double mass(int n, Weight weight, Scratch& s) {
  double m = 0.0;
  for (int i = int(threadIdx.x); i < n; i += int(blockDim.x)) m += weight(i);
  return block_reduce(m, s.d, Sum{});
}

// A row as a draw sees it: x, or x mixed with the draw's partner (RowDraw's rounding).
struct DrawnRow {
  const float* x;
  const float* mix;
  float w, rest;
  __device__ float operator()(int i) const {
    return mix ? gpu_add_rn(gpu_mul_rn(w, x[i]), gpu_mul_rn(rest, mix[i])) : x[i];
  }
};
__device__ inline DrawnRow drawn(const float* x, const RowDraw& d) {
  return DrawnRow{x, d.mix, d.mix_weight, 1.0f - d.mix_weight};
}
__device__ inline DrawnRow plain(const float* x) { return DrawnRow{x, nullptr, 1.0f, 0.0f}; }

// A row's target distribution (ref::target_distribution) without a sort: token i keeps the weight
// exp(v_i / T - max) when it is in the top-k cut (key above k_key, or at k_key with id up to k_id)
// and in the top-p cut (likewise with p_key, p_id), else 0. The cuts are a prefix of the ranking
// (probability, then lower id), found by bisection on the key with block-wide counts and sums, then
// on the id within the tie group at the threshold.
struct Target {
  DrawnRow row;
  int n;
  double temperature, max;
  uint32_t k_key, p_key;
  int k_id, p_id;
  __device__ bool in_top_k(int i) const {
    const uint32_t k = key_of(row(i));
    return k > k_key || (k == k_key && i <= k_id);
  }
  __device__ double raw(int i) const { return exp(double(row(i)) / temperature - max); }
  __device__ double weight(int i) const {
    const uint32_t k = key_of(row(i));
    return in_top_k(i) && (k > p_key || (k == p_key && i <= p_id)) ? raw(i) : 0.0;
  }
};

// The largest key t with score(t) >= goal, for a score that falls as t rises and score(0) >= goal.
template <typename Score, typename Goal>
__device__ uint32_t largest_key(Score score, Goal goal) {
  uint32_t lo = 0, hi = 0xffffffffu;
  while (lo < hi) {
    const uint32_t mid = uint32_t(lo + (uint64_t(hi - lo) + 1) / 2);
    if (score(mid) >= goal)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}
// The smallest id c in [0, n) with score(c) >= goal, for a score that rises with c.
template <typename Score, typename Goal>
__device__ int smallest_id(int n, Score score, Goal goal) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (score(mid) >= goal)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

__device__ Target target_of(const DrawnRow& row, int n, float temperature, int top_k, float top_p, Scratch& s) {
  Target t{row, n, double(temperature), -INFINITY, 0u, 0u, n, n};
  double max = -INFINITY;
  for (int i = int(threadIdx.x); i < n; i += int(blockDim.x)) max = fmax(max, double(row(i)) / t.temperature);
  t.max = block_reduce(max, s.d, Max{});
  const auto key = [&](int i) { return key_of(row(i)); };
  if (top_k > 0 && top_k < n) {
    const uint32_t k = uint32_t(top_k);
    t.k_key = largest_key(
        [&](uint32_t c) {
          return count_if(
              n, [&](int i) { return key(i) >= c; }, s);
        },
        k);
    const uint32_t need = k - count_if(
                                  n, [&](int i) { return key(i) > t.k_key; }, s);
    if (count_if(
            n, [&](int i) { return key(i) == t.k_key; }, s) > need)
      t.k_id = smallest_id(
          n,
          [&](int c) {
            return count_if(
                n, [&](int i) { return i <= c && key(i) == t.k_key; }, s);
          },
          need);
  }
  if (top_p < 1.0f) {
    const double goal = double(top_p) * mass(
                                            n, [&](int i) { return t.in_top_k(i) ? t.raw(i) : 0.0; }, s);
    t.p_key = largest_key(
        [&](uint32_t c) {
          return mass(
              n, [&](int i) { return t.in_top_k(i) && key(i) >= c ? t.raw(i) : 0.0; }, s);
        },
        goal);
    if (count_if(
            n, [&](int i) { return t.in_top_k(i) && key(i) == t.p_key; }, s) > 1) {
      const double above = mass(
          n, [&](int i) { return t.in_top_k(i) && key(i) > t.p_key ? t.raw(i) : 0.0; }, s);
      t.p_id = smallest_id(
          n,
          [&](int c) {
            return above +
                   mass(
                       n, [&](int i) { return i <= c && t.in_top_k(i) && key(i) == t.p_key ? t.raw(i) : 0.0; }, s);
          },
          goal);
    }
  }
  return t;
}

// The inverse CDF in id order of nonnegative weights (ref::sample_from): the first id whose cumulative
// weight exceeds u * total, else the last id with weight. Each thread owns a contiguous chunk of ids,
// and the cumulative weight at id i is (the chunk sums before i's chunk, added in order) + (the sum
// within the chunk up to i): nondecreasing in i, so the first id past u * total is a block minimum.
template <typename Weight>
__device__ int32_t inverse_cdf(int n, Weight weight, double u, Scratch& s) {
  const int tid = int(threadIdx.x), threads = int(blockDim.x);
  const int chunk = (n + threads - 1) / threads, begin = tid * chunk < n ? tid * chunk : n;
  const int end = begin + chunk < n ? begin + chunk : n;
  double local = 0.0;
  for (int i = begin; i < end; ++i) local += weight(i);
  __syncthreads();
  s.d[tid] = local;
  __syncthreads();
  if (tid == 0) {  // the chunk sums become their exclusive prefix, added in chunk order
    double run = 0.0;
    for (int c = 0; c < threads; ++c) {
      const double sum = s.d[c];
      s.d[c] = run;
      run += sum;
    }
    s.total = run;
  }
  __syncthreads();
  const double prefix = s.d[tid], target = u * s.total;
  uint32_t first = uint32_t(n), last_kept = 0;
  double cum = 0.0;
  for (int i = begin; i < end; ++i) {
    const double w = weight(i);
    if (w <= 0.0) continue;
    cum += w;
    last_kept = uint32_t(i);
    if (target < prefix + cum) {
      first = uint32_t(i);
      break;
    }
  }
  first = block_reduce(first, s.u, Min{});
  last_kept = block_reduce(last_kept, s.u, Max{});
  return int32_t(first < uint32_t(n) ? first : last_kept);
}

// One block per row (ref::sample): the argmax, a sample of the target, or rejection sampling of the
// draft token against its drafter's row.
__global__ void __launch_bounds__(kBlockThreads) sample_kernel(SampleArgs a) {
  __shared__ Scratch s;
  const int n = a.dim;
  const RowDraw d = a.draws[blockIdx.x];
  const DrawnRow row = drawn(a.x + int64_t(blockIdx.x) * n, d);
  int32_t token;
  if (d.temperature == 0.0f) {
    token = block_argmax(row, n).index;
  } else {
    const Target p = target_of(row, n, d.temperature, d.top_k, d.top_p, s);
    if (d.draft_row == nullptr) {
      token = inverse_cdf(
          n, [&](int i) { return p.weight(i); }, d.u, s);
    } else {
      const Target q = target_of(plain(d.draft_row), n, d.draft_temperature, 0, 1.0f, s);
      const double zp = mass(
                       n, [&](int i) { return p.weight(i); }, s),
                   zq = mass(
                       n, [&](int i) { return q.weight(i); }, s);
      const int t = d.draft_token;
      if (d.u_accept * (q.weight(t) / zq) <= p.weight(t) / zp) {
        token = t;
      } else {
        token = inverse_cdf(
            n, [&](int i) { return fmax(p.weight(i) / zp - q.weight(i) / zq, 0.0); }, d.u, s);
      }
    }
  }
  if (threadIdx.x == 0) a.token[blockIdx.x] = token;
}

// One block per row (ref::divergence): the row's and the mixed row's target distributions, then KL
// and total variation as block sums.
__global__ void __launch_bounds__(kBlockThreads) sample_divergence_kernel(SampleDivergenceArgs a) {
  __shared__ Scratch s;
  const int n = a.dim;
  const RowDraw d = a.draws[blockIdx.x];
  const float* x = a.x + int64_t(blockIdx.x) * n;
  if (d.mix == nullptr) {
    if (threadIdx.x == 0) a.out[blockIdx.x] = MixDivergence{};
    return;
  }
  const bool softmax = d.temperature == 0.0f;  // a greedy target: compare plain softmaxes
  const float temperature = softmax ? 1.0f : d.temperature, top_p = softmax ? 1.0f : d.top_p;
  const int top_k = softmax ? 0 : d.top_k;
  const Target p = target_of(plain(x), n, temperature, top_k, top_p, s);
  const Target q = target_of(drawn(x, d), n, temperature, top_k, top_p, s);
  const double zp = mass(
                   n, [&](int i) { return p.weight(i); }, s),
               zq = mass(
                   n, [&](int i) { return q.weight(i); }, s);
  const double kl = mass(
      n,
      [&](int i) {
        const double pi = p.weight(i) / zp, qi = q.weight(i) / zq;
        return pi > 0.0 ? pi * log(pi / fmax(qi, 1e-300)) : 0.0;
      },
      s);
  const double tv = mass(
      n, [&](int i) { return 0.5 * fabs(p.weight(i) / zp - q.weight(i) / zq); }, s);
  const int32_t top_x = block_argmax(plain(x), n).index, top_mixed = block_argmax(drawn(x, d), n).index;
  if (threadIdx.x == 0) a.out[blockIdx.x] = MixDivergence{kl, tv, top_x == top_mixed};
}

}  // namespace

void sample(const SampleArgs& a) { launch_per_row("sample", sample_kernel, a.rows, a); }

void sample_divergence(const SampleDivergenceArgs& a) {
  launch_per_row("sample_divergence", sample_divergence_kernel, a.rows, a);
}

}  // namespace dllm::gpu
