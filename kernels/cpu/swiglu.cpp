#include "kernels/cpu/cpu.h"
#include "kernels/cpu/threads.h"
#include "ref/ref.h"

namespace dllm::cpu {

void swiglu(const SwigluArgs& a) {
  parallel_for(int64_t(a.rows) * a.dim, int64_t(1) << 15, [&](int64_t begin, int64_t end) {
    ref::swiglu(SwigluArgs{1, int(end - begin), a.gate + begin, a.up + begin, a.out + begin});
  });
}

}  // namespace dllm::cpu
