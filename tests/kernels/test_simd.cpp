// kernels/cpu/simd: DLLM_ISA picks the path a whole run takes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kernels/cpu/simd.h"
#include "tests/testing.h"

using namespace dllm;

// DLLM_ISA picks the path of a whole run: the model's logits are bitwise equal on every path, and a
// path this CPU lacks (or a misspelt one) is refused with a message naming the variable.
TEST(CpuIsa, DllmIsaPicksThePath) {
  const std::string dir = testutil::fresh_dir("isa");
  std::string first;
  for (cpu::Isa isa : cpu::runnable_isas()) {
    setenv("DLLM_ISA", cpu::isa_name(isa), 1);
    const std::string out = dir + "/logits-" + cpu::isa_name(isa) + ".json";
    std::string log;
    ASSERT_EQ(0, testutil::run_cli("logits --model preset:tiny --tokens 1,2,3,4,5,6,7,8,9 --out " + out, &log)) << log;
    std::stringstream s;
    s << std::ifstream(out).rdbuf();
    if (first.empty()) first = s.str();
    EXPECT_EQ(first, s.str()) << "DLLM_ISA=" << cpu::isa_name(isa);
  }
  setenv("DLLM_ISA", "avx1024", 1);
  std::string log;
  EXPECT_NE(0, testutil::run_cli("logits --model preset:tiny --tokens 1,2 --out " + dir + "/bad.json", &log));
  EXPECT_NE(std::string::npos, log.find("DLLM_ISA=avx1024 is not a kernel path")) << log;
  unsetenv("DLLM_ISA");
}
