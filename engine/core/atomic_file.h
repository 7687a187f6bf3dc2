// Writing an output file so that a reader never sees half of it: the bytes go to PATH.tmp, which is
// renamed over PATH only once complete. On failure the temporary is removed and PATH is untouched.
#pragma once
#include <cstdio>
#include <string>

#include "engine/core/check.h"

namespace dllm {

inline void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  DLLM_CHECK(f != nullptr, path, ": cannot create the output file (does the folder exist and is it writable?)");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    fail(path, ": writing failed (disk full?); nothing was written");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, ": cannot replace the output file; nothing was written");
  }
}

}  // namespace dllm
