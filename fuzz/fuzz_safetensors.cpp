// libFuzzer target: the safetensors reader. Every tensor it accepts must lie inside the mapping
// (each byte is read, so AddressSanitizer sees any out-of-range view) and match its shape.
#include <cstdlib>

#include "core/check.h"
#include "engine/model/safetensors.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dllm::fuzz::MemFile file(data, size);
  try {
    const auto st = dllm::SafetensorsFile::open(file.path());
    unsigned sum = 0;
    for (const auto& [name, t] : st->tensors()) {
      if (t.nbytes != size_t(t.numel()) * dllm::dtype_size(t.dtype)) std::abort();
      const auto* p = static_cast<const unsigned char*>(t.data);
      for (size_t i = 0; i < t.nbytes; ++i) sum += p[i];
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const dllm::Error&) {
  }
  return 0;
}
