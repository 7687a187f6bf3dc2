// kv_write: a pass's K/V into cache slots of two sequences (every third token scratch), f32 and bf16
// caches, against ref::kv_write: bitwise, the rest of the caches untouched.
#include "core/pass.h"
#include "opcases/ops.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<KvWriteArgs>& kv_write_op() {
  static const Op<KvWriteArgs> op = [] {
    Op<KvWriteArgs> op;
    op.name = "kv_write";
    op.ref32 = op.ref64 = ref::kv_write;
    op.variants = {
#ifdef DLLM_HAVE_GPU
        {"scatter", Device::gpu, gpu::kv_write, bitwise()},
#endif
    };
    for (auto [t, kv] : {std::pair{1, DType::f32},
                         {3, DType::f32},
                         {7, DType::f32},
                         {37, DType::f32},
                         {97, DType::f32},
                         {1025, DType::f32},
                         {1, DType::bf16},
                         {7, DType::bf16},
                         {97, DType::bf16}}) {
      Case<KvWriteArgs> c;
      c.name = "kv_write T=" + std::to_string(t) + (kv == DType::bf16 ? " bf16 cache" : "");
      c.build = [=](Arena& arena) {
        const int hkv = 2, dh = 7, slots = 2 * t + 3;
        const int64_t stride = int64_t(slots) * hkv * dh;
        std::vector<int32_t> slot(static_cast<size_t>(t));
        for (int i = 0; i < t; ++i) slot[size_t(i)] = i % 3 == 2 ? kScratchSlot : 2 * i;  // distinct slots
        const float* k = arena.in(random_floats(size_t(t) * hkv * dh, uint32_t(t)));
        const float* v = arena.in(random_floats(size_t(t) * hkv * dh, uint32_t(t + 1)));
        const int32_t* seq = arena.in(random_ints(size_t(t), 0, 2, uint32_t(t + 2)));
        // a bf16 cache's values packed two to a 4-byte word (its outputs compared as words)
        const auto cache = [&](uint32_t seed) {
          const std::vector<float> values = random_floats(size_t(2 * stride), seed);
          return kv == DType::f32 ? values : bf16_words(values);
        };
        float* k_cache = arena.inout("k_cache", cache(5));
        float* v_cache = arena.inout("v_cache", cache(6));
        return KvWriteArgs{t, hkv, dh, k, v, seq, arena.in(slot), k_cache, v_cache, stride, kv};
      };
      op.cases.push_back(c);
    }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
