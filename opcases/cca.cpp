// ZAYA1's CCA ops against ref/cca.cpp: cca_state (the recurrent inputs and the state ring: bitwise),
// cca_conv (the two causal convolutions) and cca_qk (mean term, L2 norm, temperature), at odd shapes
// and the tiny-zaya, tiny-tidar-zaya and zaya1-8b layer shapes, every weight dtype; 17-token passes
// row by row.
#include <cmath>
#include <random>
#include <tuple>

#include "core/pass.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

const int kTokens[] = {1, 3, 7, 37};

// Random sources for a pass of t tokens: zeros, earlier pass tokens and ring entries (slots that map
// to every entry of the ring).
std::vector<RecurrentSource> random_sources(int t, int ring, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<RecurrentSource> s(static_cast<size_t>(t));
  for (int i = 0; i < t; ++i) {
    const uint32_t kind = gen() % 3;
    if (kind == 1 && i > 0)
      s[size_t(i)] = {RecurrentSource::Kind::pass, int32_t(gen() % uint32_t(i))};
    else if (kind == 2)
      s[size_t(i)] = {RecurrentSource::Kind::cache, int32_t(gen() % uint32_t(3 * ring))};
    else
      s[size_t(i)] = {RecurrentSource::Kind::zero, 0};
  }
  return s;
}

// t tokens of two sequences with a ring of 64 entries (more than 37: the stored slots hit distinct
// entries); every fourth token scratch.
Case<CcaStateArgs> state_case(int t, int qw, int kw, int vh) {
  Case<CcaStateArgs> c;
  c.name = "cca_state T=" + std::to_string(t) + " C=" + std::to_string(qw + kw) + " Vh=" + std::to_string(vh);
  c.build = [=](Arena& arena) {
    const int ring = 64, width = qw + kw + vh;
    std::vector<int32_t> slot(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) slot[size_t(i)] = i % 4 == 3 ? kScratchSlot : 3 * ring + i;
    CcaStateArgs a;
    a.tokens = t, a.q_width = qw, a.k_width = kw, a.value_width = vh;
    a.seq_stride = int64_t(ring) * width, a.ring_size = ring;
    a.q0 = arena.in(random_floats(size_t(t) * qw, uint32_t(t + 1)));
    a.k0 = arena.in(random_floats(size_t(t) * kw, uint32_t(t + 2)));
    a.v_cur = arena.in(random_floats(size_t(t) * vh, uint32_t(t + 3)));
    a.vd = arena.in(random_floats(size_t(t) * vh, uint32_t(t + 4)));
    a.prev1 = arena.in(random_sources(t, ring, uint32_t(t + 6)));
    a.prev2 = arena.in(random_sources(t, ring, uint32_t(t + 7)));
    a.seq = arena.in(random_ints(size_t(t), 0, 2, uint32_t(t + 8)));
    a.slot = arena.in(slot);
    a.ring = arena.inout("ring", random_floats(size_t(2 * a.seq_stride), uint32_t(t + 5)));
    a.qk0 = arena.out("qk0", size_t(t) * (qw + kw));
    a.c0_prev = arena.out("c0_prev", size_t(t) * (qw + kw));
    a.c0_prev2 = arena.out("c0_prev2", size_t(t) * (qw + kw));
    a.v = arena.out("v", size_t(t) * 2 * vh);
    return a;
  };
  return c;
}

Case<CcaConvArgs> conv_case(int t, int heads, int dh, DType dt, uint32_t seed) {
  Case<CcaConvArgs> c;
  c.name = "cca_conv T=" + std::to_string(t) + " heads=" + std::to_string(heads) + " Dh=" + std::to_string(dh) + " " +
           dtype_name(dt);
  c.build = [=](Arena& arena) {
    const size_t n = size_t(t) * heads * dh;
    const int64_t ch = int64_t(heads) * dh;
    return CcaConvArgs{t,
                       heads,
                       dh,
                       arena.in(random_floats(n, seed)),
                       arena.in(random_floats(n, seed + 1)),
                       arena.in(random_floats(n, seed + 2)),
                       arena.in(make_weights(ch, 2, dt, seed + 3)),
                       arena.in(make_weights(1, ch, dt, seed + 4)),
                       arena.in(make_weights(ch * dh, 2, dt, seed + 5, 1.0f / std::sqrt(float(dh)))),
                       arena.in(make_weights(1, ch, dt, seed + 6)),
                       arena.out("y", n)};
  };
  return c;
}

Case<CcaQkArgs> qk_case(int t, int hq, int hkv, int dh, DType dt) {
  Case<CcaQkArgs> c;
  c.name = "cca_qk T=" + std::to_string(t) + " Hq=" + std::to_string(hq) + " Hkv=" + std::to_string(hkv) +
           " Dh=" + std::to_string(dh) + " " + dtype_name(dt);
  c.build = [=](Arena& arena) {
    const size_t n = size_t(t) * (hq + hkv) * dh;
    return CcaQkArgs{t,
                     hq,
                     hkv,
                     dh,
                     arena.in(random_floats(n, uint32_t(t + dh))),
                     arena.in(random_floats(n, uint32_t(t + dh + 1))),
                     arena.in(make_weights(1, hkv, dt, uint32_t(hkv), 3.0f)),
                     arena.out("q", size_t(t) * hq * dh),
                     arena.out("k", size_t(t) * hkv * dh)};
  };
  return c;
}

}  // namespace

const Op<CcaStateArgs>& cca_state_op() {
  static const Op<CcaStateArgs> op = [] {
    Op<CcaStateArgs> op;
    op.name = "cca_state";
    op.ref32 = op.ref64 = ref::cca_state;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"gather", Device::gpu, gpu::cca_state, bitwise()},
#endif
    };
    // odd; tiny-zaya (4 x 16, 2 x 16); zaya1-8b (8 x 128, 2 x 128)
    for (auto [qw, kw, vh] : {std::tuple{1, 1, 1}, {7, 3, 97}, {64, 32, 16}, {1024, 256, 128}})
      for (int t : kTokens) op.cases.push_back(state_case(t, qw, kw, vh));
    return op;
  }();
  return op;
}

const Op<CcaConvArgs>& cca_conv_op() {
  static const Op<CcaConvArgs> op = [] {
    Op<CcaConvArgs> op;
    op.name = "cca_conv";
    op.ref32 = ref::cca_conv<float>, op.ref64 = ref::cca_conv<double>;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"conv", Device::gpu, gpu::cca_conv, f32_reference(2e-6), true},  // gpu-invariant uses it in every mode
#endif
    };
    // odd; tiny-zaya (4 + 2 heads of 16); tiny-tidar-zaya (4 + 2 of 32); zaya1-8b (8 + 2 of 128)
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (auto [heads, dh] : {std::pair{1, 1}, {3, 7}, {2, 97}, {6, 16}, {6, 32}, {10, 128}})
        for (int t : kTokens) op.cases.push_back(conv_case(t, heads, dh, dt, uint32_t(t * 13 + dh)));
    op.row_cases = {conv_case(17, 10, 128, DType::bf16, 11)};
    op.rows = [](const CcaConvArgs& a, int first, int count) {
      CcaConvArgs r = a;
      const int64_t off = int64_t(first) * a.heads * a.head_dim;
      r.tokens = count, r.x = a.x + off, r.prev = a.prev + off, r.prev2 = a.prev2 + off, r.y = a.y + off;
      return r;
    };
    op.row_count = [](const CcaConvArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

const Op<CcaQkArgs>& cca_qk_op() {
  static const Op<CcaQkArgs> op = [] {
    Op<CcaQkArgs> op;
    op.name = "cca_qk";
    op.ref32 = ref::cca_qk<float>, op.ref64 = ref::cca_qk<double>;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"norm", Device::gpu, gpu::cca_qk, f32_reference(2e-6), true},  // gpu-invariant uses it in every mode
#endif
    };
    // odd; tiny-zaya; tiny-tidar-zaya; zaya1-8b
    for (DType dt : {DType::f32, DType::f16, DType::bf16})
      for (auto [hq, hkv, dh] : {std::tuple{1, 1, 1}, {2, 1, 7}, {3, 3, 97}, {4, 2, 16}, {4, 2, 32}, {8, 2, 128}})
        for (int t : kTokens) op.cases.push_back(qk_case(t, hq, hkv, dh, dt));
    op.row_cases = {qk_case(17, 8, 2, 128, DType::bf16)};
    op.rows = [](const CcaQkArgs& a, int first, int count) {
      CcaQkArgs r = a;
      const int64_t c = int64_t(a.q_heads + a.kv_heads) * a.head_dim;
      r.tokens = count, r.qk0 = a.qk0 + first * c, r.conv = a.conv + first * c;
      r.q = a.q + int64_t(first) * a.q_heads * a.head_dim, r.k = a.k + int64_t(first) * a.kv_heads * a.head_dim;
      return r;
    };
    op.row_count = [](const CcaQkArgs& a) { return a.tokens; };
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
