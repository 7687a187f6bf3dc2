// Writes a preset's seeded random weights to disk as a Hugging Face checkpoint (config.json +
// model.safetensors) with the engine's own writer, so that the parity check can load the very same
// weights into transformers (and tools/peer-llamacpp the very same weights into llama.cpp).
// Usage: dllm_write_checkpoint PRESET f32|bf16|f16 SEED OUT_DIR
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "core/check.h"
#include "engine/model/model.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: " << argv[0] << " PRESET f32|bf16|f16 SEED OUT_DIR\n";
    return 2;
  }
  const std::string preset = argv[1], dtype_name = argv[2], out = argv[4];
  try {
    dllm::DType dtype;
    if (dtype_name == "f32")
      dtype = dllm::DType::f32;
    else if (dtype_name == "bf16")
      dtype = dllm::DType::bf16;
    else if (dtype_name == "f16")
      dtype = dllm::DType::f16;
    else
      dllm::fail("dtype must be f32, bf16 or f16, got ", dtype_name);
    char* end = nullptr;
    const uint64_t seed = std::strtoull(argv[3], &end, 10);
    DLLM_CHECK(*argv[3] && !*end, "seed must be a non-negative integer, got ", argv[3]);
    dllm::Model::random(dllm::preset_config(preset), dtype, seed, preset)->save(out);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  }
  std::cout << "wrote " << preset << " (" << dtype_name << ") to " << out << "\n";
  return 0;
}
