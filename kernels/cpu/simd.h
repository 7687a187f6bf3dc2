// The instruction sets a CPU kernel can run with, chosen at run time from cpuid: the build targets
// the baseline ISA, and the AVX2 and AVX-512 code is compiled per function with target attributes.
// Every path of a kernel does the same IEEE operations in the same order (fused multiply-adds
// included: the portable path calls std::fma), so results never depend on the path chosen.
#pragma once

#include <vector>

namespace dllm::cpu {

// portable: scalar C++. avx2: AVX2 + FMA + F16C. avx512: AVX-512 F/BW/VL/DQ + FMA + F16C.
enum class Isa { portable, avx2, avx512 };

// The widest path this CPU has, or $DLLM_ISA (portable, avx2 or avx512) where set; a path this CPU
// lacks, or another name, is an error that names the variable.
Isa best_isa();

// Every path this CPU can run, narrowest first (portable always).
std::vector<Isa> runnable_isas();

// Whether this CPU can run the path.
bool runs(Isa isa);

const char* isa_name(Isa isa);

}  // namespace dllm::cpu
