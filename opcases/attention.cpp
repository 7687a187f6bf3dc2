// attention: softmax attention with GQA and Pass visibility, against ref::attention. Odd head shapes
// and cache lengths with causal and random visibility (a range of the cache, two intervals of the
// pass, a token that sees nothing), two sequences with their own cache lengths and every visibility
// form (f32 and bf16 caches), llama3-8b's heads at model scale and at 32k context, and passes of 17 to
// 306 tokens row by row.
#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

enum class Visible { causal, random, forms };

// T tokens of Hq/Hkv heads of Dh. causal and random: sequence 1 of 2, caches of `cache` slots;
// causal: every token sees the whole cache and the pass up to itself; random: a random range of the
// cache and two random intervals of the pass, token T/2 nothing. forms: token i in sequence i % 2
// (caches of `cache` and cache/3 slots) sees, by i % 6, the cache only, the pass causally, a prefix of
// the pass and its own block, itself only, a sliding window (the cache's second half and the pass
// causally), or nothing.
struct Pass {
  std::vector<Visibility> vis;
  std::vector<int32_t> seq;
  int max_keys = 0;
  Pass(int t, int cache, Visible how, uint32_t seed) {
    std::mt19937 gen(seed);
    for (int i = 0; i < t; ++i) {
      Visibility v;
      int s = 1;
      if (how == Visible::causal) {
        v = Visibility{cache, {0, i + 1}, {}};
      } else if (how == Visible::random) {
        v.cache_len = int(gen() % uint32_t(cache + 1));
        v.cache_begin = int(gen() % uint32_t(v.cache_len + 1));
        const int a = int(gen() % uint32_t(t + 1)), b = int(gen() % uint32_t(t + 1));
        v.first = {0, a};
        v.second = {std::min(a, b), std::max(a, b)};
        if (i == t / 2) v = Visibility{};
      } else {
        s = i % 2;
        const int len = s == 0 ? cache : cache / 3;
        switch (i % 6) {
          case 0:
            v = {len, {}, {}};
            break;
          case 1:
            v = {len, {0, i + 1}, {}};
            break;
          case 2:
            v = {len, {0, t / 2}, {std::max(i, t / 2), std::min(t, i + 4)}};
            break;
          case 3:
            v = {0, {i, i + 1}, {}};
            break;
          case 4:
            v = {len, {0, i + 1}, {}, len / 2};
            break;
          default:
            v = {0, {}, {}};
        }
        if (v.second.begin >= v.second.end) v.second = {};
      }
      vis.push_back(v);
      seq.push_back(s);
      max_keys = std::max(max_keys, v.keys());
    }
  }
};

const char* visible_name(Visible how) {
  return how == Visible::causal ? "causal" : how == Visible::random ? "random visibility" : "every form";
}

// The GPU kernels' scratch (none on the host).
float* workspace(Arena& arena, const AttentionArgs& a) {
#ifdef DLLM_HAVE_GPU
  if (!arena.place().host()) return arena.scratch("workspace", gpu::attention_workspace_floats(a));
#endif
  (void)arena, (void)a;
  return nullptr;
}

// The bf16 rule's magnitude of each output (token t, head h, dim d), for kernels that round q, k, v
// and the softmax weights w to bf16 (unit roundoff u = 2^-8) and compute in f32. To first order,
// rounding q and k moves each score s_j = scale q.k_j by at most 2u sigma_j, sigma_j = scale
// sum |q k_j|, which moves out_d = sum w_j v_jd by at most 4u max(sigma) sum w_j |v_jd - out_d|;
// rounding w and v adds 2u sum w_j |v_jd|. The rule allows 2^-7 = 2u times the magnitude, which is
// twice this bound: magnitude = 2 sum w |v| + 4 max(sigma) sum w |v - out|.
std::vector<double> attention_magnitudes(const AttentionArgs& a) {
  const int dh = a.head_dim, group = a.q_heads / a.kv_heads;
  std::vector<double> mag(size_t(a.tokens) * a.q_heads * dh, 0.0);
  for (int t = 0; t < a.tokens; ++t) {
    const Visibility& vis = a.vis[t];
    for (int h = 0; h < a.q_heads; ++h) {
      const float* q = a.q + (int64_t(t) * a.q_heads + h) * dh;
      std::vector<std::vector<double>> k, v;  // the visible keys' rows at this head's kv head
      const auto take = [&](const void* ks, const void* vs, DType dtype, int64_t at) {
        k.emplace_back(size_t(dh)), v.emplace_back(size_t(dh));
        for (int d = 0; d < dh; ++d)
          k.back()[size_t(d)] = kv_load(ks, dtype, at + d), v.back()[size_t(d)] = kv_load(vs, dtype, at + d);
      };
      const int64_t base = int64_t(a.seq[t]) * a.seq_stride, head = int64_t(h / group) * dh;
      for (int s = vis.cache_begin; s < vis.cache_len; ++s)
        take(a.k_cache, a.v_cache, a.kv_dtype, base + int64_t(s) * a.kv_heads * dh + head);
      for (const Interval& iv : {vis.first, vis.second})
        for (int s = iv.begin; s < iv.end; ++s)
          take(a.k_pass, a.v_pass, DType::f32, int64_t(s) * a.kv_heads * dh + head);
      if (k.empty()) continue;  // sees nothing: the output is exactly 0
      std::vector<double> w(k.size());
      double sigma = 0.0, top = -INFINITY, sum = 0.0;
      for (size_t j = 0; j < k.size(); ++j) {
        double dot = 0.0, abs_dot = 0.0;
        for (int d = 0; d < dh; ++d) dot += q[d] * k[j][size_t(d)], abs_dot += std::fabs(q[d] * k[j][size_t(d)]);
        w[j] = dot * a.scale, sigma = std::max(sigma, abs_dot * a.scale), top = std::max(top, w[j]);
      }
      for (double& x : w) sum += (x = std::exp(x - top));
      for (int d = 0; d < dh; ++d) {
        double out = 0.0, spread = 0.0, size = 0.0;
        for (size_t j = 0; j < k.size(); ++j) out += w[j] / sum * v[j][size_t(d)];
        for (size_t j = 0; j < k.size(); ++j)
          size += w[j] / sum * std::fabs(v[j][size_t(d)]), spread += w[j] / sum * std::fabs(v[j][size_t(d)] - out);
        mag[(size_t(t) * a.q_heads + h) * dh + d] = 2.0 * size + 4.0 * sigma * spread;
      }
    }
  }
  return mag;
}

// kv: the cache's element type (bf16: its values rounded, stored as bf16).
Case<AttentionArgs> random_case(int t, int hq, int hkv, int dh, int cache, Visible how, uint32_t seed,
                                DType kv = DType::f32) {
  Case<AttentionArgs> c;
  c.name = "attention T=" + std::to_string(t) + " Hq=" + std::to_string(hq) + " Hkv=" + std::to_string(hkv) +
           " Dh=" + std::to_string(dh) + " cache=" + std::to_string(cache) + " " + visible_name(how) +
           (kv == DType::bf16 ? " bf16 cache" : "");
  c.build = [=](Arena& arena) {
    const Pass p(t, cache, how, seed);
    AttentionArgs a;
    a.tokens = t, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh;
    a.scale = float(1.0 / std::sqrt(double(dh)));
    a.seq_stride = int64_t(std::max(cache, 1)) * hkv * dh;
    a.q = arena.in(random_floats(size_t(t) * hq * dh, seed, 2.0f));
    a.k_pass = arena.in(random_floats(size_t(t) * hkv * dh, seed + 1, 2.0f));
    a.v_pass = arena.in(random_floats(size_t(t) * hkv * dh, seed + 2));
    const auto cache_values = [&](uint32_t s, float scale) -> const void* {  // B = 2
      const std::vector<float> values = random_floats(size_t(2 * a.seq_stride), s, scale);
      return arena.in(kv == DType::f32 ? values : bf16_words(values));
    };
    a.k_cache = cache_values(seed + 3, 2.0f), a.v_cache = cache_values(seed + 4, 1.0f), a.kv_dtype = kv;
    a.vis = arena.in(p.vis), a.seq = arena.in(p.seq), a.max_keys = p.max_keys;
    a.out = arena.out("out", size_t(t) * hq * dh);
    a.workspace = workspace(arena, a);
    return a;
  };
  c.magnitude = [build = c.build] {
    Arena host(host_place());
    return attention_magnitudes(build(host));
  };
  return c;
}

std::vector<Case<AttentionArgs>> parity_cases() {
  std::vector<Case<AttentionArgs>> cases;
  uint32_t seed = 1;
  for (auto [hq, hkv, dh] : {std::tuple{1, 1, 1}, {4, 2, 7}, {8, 2, 64}, {2, 1, 256}})
    for (int t : {1, 3, 7, 37, 97})
      for (int cache : {0, 1, 37, 1025})
        for (Visible how : {Visible::causal, Visible::random}) {
          cases.push_back(random_case(t, hq, hkv, dh, cache, how, seed++));
          cases.back().emulator = t * hq * (cache + t) <= 40'000;  // the emulator: fewer keys x blocks
        }
  for (auto [t, hq, hkv, dh, cache] : {std::tuple{1, 1, 1, 1, 1},
                                       {5, 4, 1, 7, 9},
                                       {17, 8, 2, 64, 40},
                                       {12, 6, 3, 33, 5},
                                       {9, 2, 2, 128, 70},
                                       {7, 24, 3, 40, 21},
                                       {6, 9, 3, 48, 10},   // also groups of 8 and 3 heads
                                       {4, 8, 8, 8, 700}})  // and more key chunks than blocks
    for (DType kv : {DType::f32, DType::bf16})
      cases.push_back(random_case(t, hq, hkv, dh, cache, Visible::forms, uint32_t(t * 7 + dh), kv));
  // llama3-8b heads: an AR step and a 68-token single forward after 3000 tokens (f32 and bf16 caches),
  // a 1025-token prefill
  const size_t model_scale = cases.size();
  for (DType kv : {DType::f32, DType::bf16}) {
    cases.push_back(random_case(1, 32, 8, 128, 3000, Visible::causal, 7, kv));
    cases.push_back(random_case(68, 32, 8, 128, 3000, Visible::random, 8, kv));
  }
  cases.push_back(random_case(1025, 32, 8, 128, 0, Visible::causal, 9));
  // 32k context, one kv head with llama3-8b's group of 4 query heads and its head_dim: an AR step
  // (f32 cache) and an 8-token pass whose tokens see random ranges of the cache (bf16 cache)
  cases.push_back(random_case(1, 4, 1, 128, 32768, Visible::causal, 10));
  cases.push_back(random_case(8, 4, 1, 128, 32768, Visible::random, 11, DType::bf16));
  for (size_t i = model_scale; i < cases.size(); ++i) cases[i].host = cases[i].emulator = false;
  return cases;
}

// Timed: T tokens after `cache` cached ones (values of `kv`), causal in the pass; bytes are the K/V
// cache read.
Case<AttentionArgs> bench_case(int t, int hq, int hkv, int dh, int cache, DType kv = DType::f32) {
  Case<AttentionArgs> c;
  c.name = "cache=" + std::to_string(cache) + " Hq=" + std::to_string(hq) + " Hkv=" + std::to_string(hkv) +
           " Dh=" + std::to_string(dh) + (kv == DType::bf16 ? " bf16 cache" : "");
  c.build = [=](Arena& arena) {
    const Pass p(t, cache, Visible::causal, 0);
    AttentionArgs a;
    a.tokens = t, a.q_heads = hq, a.kv_heads = hkv, a.head_dim = dh, a.scale = float(1.0 / std::sqrt(double(dh)));
    a.q = arena.zeros<float>(size_t(t) * hq * dh);
    a.k_pass = arena.zeros<float>(size_t(t) * hkv * dh), a.v_pass = arena.zeros<float>(size_t(t) * hkv * dh);
    const size_t cached = size_t(cache) * hkv * dh;
    a.k_cache = arena.zeros<uint8_t>(cached * dtype_size(kv)),
    a.v_cache = arena.zeros<uint8_t>(cached * dtype_size(kv));
    a.seq_stride = int64_t(cache) * hkv * dh, a.kv_dtype = kv;
    a.vis = arena.in(p.vis), a.seq = arena.zeros<int32_t>(size_t(t)), a.max_keys = p.max_keys;
    a.out = arena.zeros<float>(size_t(t) * hq * dh);
    a.workspace = workspace(arena, a);
    return a;
  };
  c.tokens = t;
  c.bytes = 2.0 * cache * hkv * dh * double(dtype_size(kv));
  c.flops = 4.0 * hq * dh * (double(t) * cache + double(t) * (t + 1) / 2);  // QK^T and PV
  return c;
}

AttentionArgs rows(const AttentionArgs& a, int first, int count) {
  // token i alone: its pass keys stay where they are
  AttentionArgs r = a;
  const int64_t row = int64_t(a.q_heads) * a.head_dim;
  r.tokens = count, r.q = a.q + first * row, r.out = a.out + first * row, r.vis = a.vis + first, r.seq = a.seq + first;
  return r;
}

}  // namespace

const Op<AttentionArgs>& attention_op() {
  static const Op<AttentionArgs> op = [] {
    Op<AttentionArgs> op;
    op.name = "attention";
    op.ref32 = ref::attention<float>, op.ref64 = ref::attention<double>;
    op.variants = {
        {"portable", Device::host, [](const AttentionArgs& a) { cpu::attention(a, cpu::Isa::portable); },
         f32_reference(1e-6), true},
        {"avx2", Device::host, [](const AttentionArgs& a) { cpu::attention(a, cpu::Isa::avx2); }, f32_reference(1e-6),
         true, [] { return cpu::runs(cpu::Isa::avx2); }},
        {"avx512", Device::host, [](const AttentionArgs& a) { cpu::attention(a, cpu::Isa::avx512); },
         f32_reference(1e-6), true, [] { return cpu::runs(cpu::Isa::avx512); }},
#ifdef DLLM_HAVE_GPU
        {"single-pass", Device::gpu,
         [](const AttentionArgs& a) { gpu::attention(a, gpu::AttentionVariant::single_pass); }, f32_reference(2e-6)},
        // the invariant mode without matrix units or where the tiles do not fit (gpu::pick_attention)
        {"split-keys", Device::gpu,
         [](const AttentionArgs& a) { gpu::attention(a, gpu::AttentionVariant::split_keys); }, f32_reference(2e-6),
         true},
        // gpu's AR steps (and calls of few tokens x heads) where the tiles do not take them
        {"split-balanced", Device::gpu,
         [](const AttentionArgs& a) { gpu::attention(a, gpu::AttentionVariant::split_balanced); }, f32_reference(2e-6)},
        // matrix units, bf16 inputs (gpu-mma); a shape it does not take (head_dim 256) runs what gpu-mma
        // runs there
        {"tiles", Device::gpu,
         [](const AttentionArgs& a) {
           gpu::attention(a, gpu::attention_tiles_fit(a) ? gpu::AttentionVariant::tiles
                                                         : gpu::pick_attention(a, gpu::Reduction::fast));
         },
         bf16_inputs(), false, [] { return gpu::attention_tiles_available(); }},
        // the same tiles on f32 inputs (gpu, where it fits; elsewhere gpu runs single_pass or split_keys)
        {"tiles-f32", Device::gpu,
         [](const AttentionArgs& a) {
           gpu::attention(
               a, gpu::attention_tiles_fit(a) ? gpu::AttentionVariant::tiles_f32 : gpu::AttentionVariant::single_pass);
         },
         f32_reference(2e-6), false, [] { return gpu::attention_tiles_available(); }},
        // the f32 tiles with each row's chunks fixed by its own keys (gpu-invariant; where they do not
        // fit, split_keys)
        {"tiles-invariant", Device::gpu,
         [](const AttentionArgs& a) {
           gpu::attention(a, gpu::attention_tiles_fit(a) ? gpu::AttentionVariant::tiles_invariant
                                                         : gpu::AttentionVariant::split_keys);
         },
         f32_reference(2e-6), true, [] { return gpu::attention_tiles_available(); }},
#endif
    };
    op.cases = parity_cases();
    // token 0 sees the cache and itself in every window; the rest of the pass changes around it
    // (and 33 tokens on 8 kv heads with 2 query heads each: the whole call's blocks fill the emulator
    // without a split over keys, a row alone's do not)
    op.row_cases = {
        random_case(17, 8, 2, 64, 40, Visible::forms, 3), random_case(68, 8, 2, 64, 300, Visible::causal, 3),
        random_case(33, 16, 8, 16, 300, Visible::forms, 4), random_case(306, 8, 2, 64, 700, Visible::causal, 3)};
    op.row_cases[3].emulator = false;
    // CPU: GQA 4:1, Dh 64; GPU: llama3-8b's heads after 4096 cached tokens
    for (auto [t, cache] : {std::pair{1, 1024}, {17, 1024}, {1, 4096}, {17, 4096}, {306, 1024}}) {
      op.bench.push_back(bench_case(t, 8, 2, 64, cache));
      op.bench.back().device = false;
    }
    // (and a 68-token pass and an AR step at 1k and 8k, with f32 and gpu-mma's bf16 caches:
    // tools/gpu-check's attention share of a step)
    for (auto [t, cache] : {std::pair{1, 4096}, {17, 4096}, {68, 4096}, {306, 4096}}) {
      op.bench.push_back(bench_case(t, 32, 8, 128, cache));
      op.bench.back().host = false;
    }
    for (DType kv : {DType::f32, DType::bf16})
      for (auto [t, cache] : {std::pair{68, 1024}, {68, 8192}, {1, 1024}, {1, 8192}}) {
        op.bench.push_back(bench_case(t, 32, 8, 128, cache, kv));
        op.bench.back().host = false;
      }
    for (auto [t, cache] : {std::pair{1, 1024}, {17, 1024}, {1, 4096}})
      op.ref_bench.push_back(bench_case(t, 8, 2, 64, cache));
    op.rows = rows;
    op.row_count = [](const AttentionArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

Case<AttentionArgs> attention_case(int tokens, int cache, int q_heads, int kv_heads, int head_dim) {
  Case<AttentionArgs> c = random_case(tokens, q_heads, kv_heads, head_dim, cache, Visible::causal, 4);
  c.name = "T=" + std::to_string(tokens) + " cache=" + std::to_string(cache) + " Hq=" + std::to_string(q_heads) +
           " Hkv=" + std::to_string(kv_heads) + " Dh=" + std::to_string(head_dim);
  return c;
}

}  // namespace dllm::opcases
