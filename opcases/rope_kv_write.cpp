// rope_kv_write: RoPE on q and k, then K/V into cache slots, against ref::rope_kv_write (its ops in
// turn); the shapes of rope's cases with GQA heads, plain, yarn and dynamic RoPE, tokens of two
// sequences with every third one scratch; and with q/k norms in f32 and bf16 (Qwen3-8B's heads, an odd
// head_dim with a partial rotary, a head count off the GPU kernel's groups of 8).
#include <optional>
#include <string>
#include <tuple>

#include "core/pass.h"
#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

namespace {

// With `norm`, q/k norm weights [Dh] in that dtype.
Case<RopeKvWriteArgs> random_case(int t, int hq, int hkv, int dh, int rotary, const RopeScaling& scaling,
                                  const std::string& scaling_name, std::optional<DType> norm = std::nullopt) {
  Case<RopeKvWriteArgs> c;
  c.name = "rope_kv_write " + scaling_name + " T=" + std::to_string(t) + " Hq=" + std::to_string(hq) +
           " Hkv=" + std::to_string(hkv) + " Dh=" + std::to_string(dh) + " R=" + std::to_string(rotary) +
           (norm ? std::string(" q/k norm ") + dtype_name(*norm) : "");
  c.build = [=](Arena& arena) {
    const uint32_t seed = uint32_t(t * 31 + dh);
    const std::vector<int32_t> positions = random_ints(size_t(t), 0, 100000, seed);
    std::vector<int32_t> lengths = random_ints(size_t(t), 0, 1000, seed + 1), slots(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) {
      lengths[size_t(i)] += positions[size_t(i)] + 1;
      slots[size_t(i)] = i % 3 == 2 ? kScratchSlot : 2 * i;  // distinct slots
    }
    const int32_t* pos = arena.in(positions);
    const int32_t* len = scaling.type == RopeScalingType::dynamic ? arena.in(lengths) : nullptr;
    float* q = arena.inout("q", random_floats(size_t(t) * hq * dh, seed + 2));
    float* k = arena.inout("k", random_floats(size_t(t) * hkv * dh, seed + 3));
    const float* v = arena.in(random_floats(size_t(t) * hkv * dh, seed + 4));
    const int64_t stride = int64_t(2 * t + 3) * hkv * dh;
    float* k_cache = arena.inout("k_cache", random_floats(size_t(2 * stride), seed + 5));
    float* v_cache = arena.inout("v_cache", random_floats(size_t(2 * stride), seed + 6));
    const int32_t* seq = arena.in(random_ints(size_t(t), 0, 2, seed + 7));
    RopeKvWriteArgs a;
    a.q = RopeArgs{t, hq, dh, rotary, 500000.0f, pos, q, scaling, len};
    a.k = RopeArgs{t, hkv, dh, rotary, 500000.0f, pos, k, scaling, len};
    a.kv = KvWriteArgs{t, hkv, dh, k, v, seq, arena.in(slots), k_cache, v_cache, stride};
    if (norm) {
      a.q_norm = arena.in(make_weights(1, dh, *norm, seed + 8));
      a.k_norm = arena.in(make_weights(1, dh, *norm, seed + 9));
    }
    return a;
  };
  return c;
}

}  // namespace

const Op<RopeKvWriteArgs>& rope_kv_write_op() {
  static const Op<RopeKvWriteArgs> op = [] {
    Op<RopeKvWriteArgs> op;
    op.name = "rope_kv_write";
    op.ref32 = ref::rope_kv_write<float>, op.ref64 = ref::rope_kv_write<double>;
    op.variants = {
        // the CPU backend's calls (Backend::rope_kv_write): the reference's bits without norms (rope's
        // and kv_write's); cpu::rmsnorm rounds differently from ref::rmsnorm, so rope's rule
        {"composed", Device::host,
         [](const RopeKvWriteArgs& a) {
           if (!a.q_norm.empty()) cpu::rmsnorm(a.head_norm(a.q, a.q_norm));
           if (!a.k_norm.empty()) cpu::rmsnorm(a.head_norm(a.k, a.k_norm));
           cpu::rope(a.q);
           cpu::rope(a.k);
           ref::kv_write(a.kv);
         },
         f32_reference(1e-6)},
#ifdef DLLM_HAVE_GPU
        {"fused", Device::gpu, gpu::rope_kv_write, f32_reference(1e-6)},  // rope's rule
#endif
    };
    RopeScaling yarn, dynamic;
    yarn.type = RopeScalingType::yarn, yarn.factor = 4.0f, yarn.original_max_positions = 32768;
    yarn.attention_factor = 1.1386294f;
    dynamic.type = RopeScalingType::dynamic, dynamic.factor = 4.0f, dynamic.original_max_positions = 8192;
    for (int t : {1, 3, 37, 97})
      for (auto [hq, hkv, dh, rotary] : {std::tuple{1, 1, 2, 2}, {4, 2, 64, 64}, {8, 2, 128, 128}, {6, 3, 96, 48}})
        op.cases.push_back(random_case(t, hq, hkv, dh, rotary, RopeScaling{}, "plain"));
    for (auto [name, scaling] : {std::pair{"yarn", yarn}, {"dynamic", dynamic}})
      op.cases.push_back(random_case(17, 32, 8, 128, 128, scaling, name));
    for (DType dt : {DType::f32, DType::bf16})
      for (auto [t, hq, hkv, dh, rotary] :
           {std::tuple{1, 32, 8, 128, 128}, {17, 32, 8, 128, 128}, {37, 6, 3, 97, 96}, {3, 20, 4, 64, 64}})
        op.cases.push_back(random_case(t, hq, hkv, dh, rotary, RopeScaling{}, "plain", dt));
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
