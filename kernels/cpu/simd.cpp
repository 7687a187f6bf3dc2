#include "kernels/cpu/simd.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/check.h"

namespace dllm::cpu {

std::vector<Isa> runnable_isas() {
  __builtin_cpu_init();
  std::vector<Isa> isas = {Isa::portable};
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (avx2) isas.push_back(Isa::avx2);
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    isas.push_back(Isa::avx512);
  return isas;
}

Isa best_isa() {
  static const Isa isa = [] {
    const std::vector<Isa> isas = runnable_isas();
    const char* e = std::getenv("DLLM_ISA");
    if (!e || !*e) return isas.back();
    std::string have;
    for (Isa i : isas) {
      if (std::string(e) == isa_name(i)) return i;
      have += std::string(have.empty() ? "" : ", ") + isa_name(i);
    }
    fail("DLLM_ISA=", e, " is not a kernel path this CPU can run: set one of ", have, ", or unset it for the widest");
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::portable:
      return "portable";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "unknown";
}

bool runs(Isa isa) {
  const std::vector<Isa> isas = runnable_isas();
  return std::find(isas.begin(), isas.end(), isa) != isas.end();
}

}  // namespace dllm::cpu
