// rope: the NeoX rotary embedding in place, against ref::rope (one precision: element-wise); partial
// rotary dims, positions up to 100000 at theta 500000, plain and with Llama 3.1's, linear, yarn and
// dynamic scaling (each token with its own call length).
#include <string>
#include <tuple>
#include <utility>

#include "opcases/ops.h"
#include "kernels/cpu/cpu.h"
#include "ref/ref.h"
#ifdef DLLM_HAVE_GPU
#include "kernels/gpu/gpu.h"
#endif

namespace dllm::opcases {

const Op<RopeArgs>& rope_op() {
  static const Op<RopeArgs> op = [] {
    Op<RopeArgs> op;
    op.name = "rope";
    op.ref32 = op.ref64 = ref::rope;
    op.variants = {
        {"threaded", Device::host, [](const RopeArgs& a) { cpu::rope(a); }, bitwise()},  // ref::'s expression
#ifdef DLLM_HAVE_GPU
        {"elementwise", Device::gpu, gpu::rope, f32_reference(1e-6)},  // a rounding of the two products (FMA) at most
#endif
    };
    for (int t : {1, 3, 7, 37, 97, 1025})
      for (auto [heads, dh, rotary] : {std::tuple{1, 2, 2}, {3, 64, 64}, {8, 128, 128}, {2, 96, 48}}) {
        Case<RopeArgs> c;
        c.name = "rope T=" + std::to_string(t) + " H=" + std::to_string(heads) + " Dh=" + std::to_string(dh) +
                 " R=" + std::to_string(rotary);
        c.build = [=](Arena& arena) {
          const int32_t* pos = arena.in(random_ints(size_t(t), 0, 100000, uint32_t(t)));
          float* x = arena.inout("x", random_floats(size_t(t) * heads * dh, uint32_t(t + dh)));
          return RopeArgs{t, heads, dh, rotary, 500000.0f, pos, x, RopeScaling{}};
        };
        op.cases.push_back(c);
      }
    // Llama 3.1's rope_scaling (its three frequency bands all lie within R = 128 at theta 500000), a
    // linear one and Qwen3's yarn (ramp over pairs 24..42 of 64 at R = 128; cos and sin times 1.14),
    // over positions beyond the original context.
    RopeScaling llama3{RopeScalingType::llama3, 8.0f, 1.0f, 4.0f, 8192};
    RopeScaling linear{RopeScalingType::linear, 4.0f};
    RopeScaling yarn;
    yarn.type = RopeScalingType::yarn, yarn.factor = 4.0f, yarn.original_max_positions = 32768;
    yarn.attention_factor = 1.1386294f;
    for (auto [scaling_name, scaling] : {std::pair{"llama3", llama3}, {"linear", linear}, {"yarn", yarn}})
      for (int t : {7, 97})
        for (auto [heads, dh, rotary] : {std::tuple{8, 128, 128}, {2, 96, 48}}) {
          Case<RopeArgs> c;
          c.name = std::string("rope ") + scaling_name + " T=" + std::to_string(t) + " H=" + std::to_string(heads) +
                   " Dh=" + std::to_string(dh) + " R=" + std::to_string(rotary);
          c.build = [=](Arena& arena) {
            const int32_t* pos = arena.in(random_ints(size_t(t), 0, 100000, uint32_t(t + 1)));
            float* x = arena.inout("x", random_floats(size_t(t) * heads * dh, uint32_t(t + dh + 1)));
            return RopeArgs{t, heads, dh, rotary, 500000.0f, pos, x, scaling};
          };
          op.cases.push_back(c);
        }
    // Dynamic NTK past a context of 8192: every token's length lies at or beyond its position + 1.
    RopeScaling dynamic;
    dynamic.type = RopeScalingType::dynamic, dynamic.factor = 4.0f, dynamic.original_max_positions = 8192;
    for (int t : {7, 97})
      for (auto [heads, dh, rotary] : {std::tuple{8, 128, 128}, {2, 96, 48}}) {
        Case<RopeArgs> c;
        c.name = "rope dynamic T=" + std::to_string(t) + " H=" + std::to_string(heads) + " Dh=" + std::to_string(dh) +
                 " R=" + std::to_string(rotary);
        c.build = [=](Arena& arena) {
          const std::vector<int32_t> pos = random_ints(size_t(t), 0, 30000, uint32_t(t + 2));
          std::vector<int32_t> lengths = random_ints(size_t(t), 0, 10000, uint32_t(t + 3));
          for (int i = 0; i < t; ++i) lengths[size_t(i)] += pos[size_t(i)] + 1;
          float* x = arena.inout("x", random_floats(size_t(t) * heads * dh, uint32_t(t + dh + 2)));
          return RopeArgs{t, heads, dh, rotary, 500000.0f, arena.in(pos), x, dynamic, arena.in(lengths)};
        };
        op.cases.push_back(c);
      }
    // The 0.6B shape's queries, 16 heads of 128; the positions repeat, so cpu::rope times its rotation
    // with the angles kept, as in all but the first of a pass's calls.
    for (int t : {1, 16, 64}) {
      Case<RopeArgs> c;
      c.name = "H=16 Dh=128";
      c.build = [=](Arena& arena) {
        const int32_t* pos = arena.in(random_ints(size_t(t), 0, 4096, uint32_t(t)));
        float* x = arena.inout("x", random_floats(size_t(t) * 16 * 128, uint32_t(t)));
        return RopeArgs{t, 16, 128, 128, 1000000.0f, pos, x, RopeScaling{}};
      };
      c.tokens = t, c.bytes = 8.0 * t * 16 * 128, c.device = false;
      op.bench.push_back(c);
      op.ref_bench.push_back(c);
    }
    return op;
  }();
  return op;
}

}  // namespace dllm::opcases
