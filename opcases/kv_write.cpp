// kv_write: a pass's K/V into cache slots of two sequences (every third token scratch), against
// ref::kv_write: bitwise, the rest of the caches untouched.
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
    for (int t : {1, 3, 7, 37, 97, 1025}) {
      Case<KvWriteArgs> c;
      c.name = "kv_write T=" + std::to_string(t);
      c.build = [=](Arena& arena) {
        const int hkv = 2, dh = 7, slots = 2 * t + 3;
        const int64_t stride = int64_t(slots) * hkv * dh;
        std::vector<int32_t> slot(static_cast<size_t>(t));
        for (int i = 0; i < t; ++i) slot[size_t(i)] = i % 3 == 2 ? kScratchSlot : 2 * i;  // distinct slots
        const float* k = arena.in(random_floats(size_t(t) * hkv * dh, uint32_t(t)));
        const float* v = arena.in(random_floats(size_t(t) * hkv * dh, uint32_t(t + 1)));
        const int32_t* seq = arena.in(random_ints(size_t(t), 0, 2, uint32_t(t + 2)));
        float* k_cache = arena.inout("k_cache", random_floats(size_t(2 * stride), 5));
        float* v_cache = arena.inout("v_cache", random_floats(size_t(2 * stride), 6));
        return KvWriteArgs{t, hkv, dh, k, v, seq, arena.in(slot), k_cache, v_cache, stride};
      };
      op.cases.push_back(c);
    }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
