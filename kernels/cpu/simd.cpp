#include "kernels/cpu/simd.h"

#include <cstdlib>
#include <cstring>

namespace dllm::cpu {

Isa best_isa() {
  static const Isa isa = [] {
    if (const char* e = std::getenv("DLLM_ISA"); e && !std::strcmp(e, "portable")) return Isa::portable;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? Isa::avx2 : Isa::portable;
  }();
  return isa;
}

const char* isa_name(Isa isa) { return isa == Isa::avx2 ? "avx2" : "portable"; }

}  // namespace dllm::cpu
