// The instruction sets a CPU kernel can run with, chosen at run time from cpuid: the build targets
// the baseline ISA, and the AVX2 code is compiled per function with target attributes. Every path
// of a kernel does the same IEEE operations in the same order (fused multiply-adds included: the
// portable path calls std::fma), so results never depend on the path chosen.
#pragma once

namespace dllm::cpu {

enum class Isa { portable, avx2 };

// AVX2 + FMA where cpuid reports both, else portable. DLLM_ISA=portable forces the portable path.
Isa best_isa();

const char* isa_name(Isa isa);

}  // namespace dllm::cpu
