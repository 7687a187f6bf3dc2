// Includes point down the layers: a file may include its own layer and the layers below it, never
// one above. The order is written once, here; tests/, bench/, fuzz/ and tools/ sit above them all.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Bottom to top. A layer is a folder of the source tree (its subfolders included).
const std::vector<std::string> kLayers = {
    "core",            // shapes, ops' Args, dtypes, checks: depends on nothing of ours
    "reports",         // report schema, statistics, HTML
    "datasets",        // prompt suites
    "ref",             // the reference implementation of every op, and the host verification oracle
    "kernels",         // fast CPU kernels, GPU kernels and their emulator
    "opcases",         // each op's cases: shapes, dtypes, kernel variants, tolerance rules
    "engine/backend",  // backends running the ops, device memory, the KV cache and memory planning
    "engine/model",    // configs, weights, the transformer forward pass
    "engine/decode",   // AR and TiDAR decoders, sampling, metrics
    "engine/bench",    // the benchmark: plan, measure, summarise, write
    "engine/cli",      // the dllm-bench command
};

// The layer of a repository-relative path, or -1 for files outside the layered tree.
int layer_of(const std::string& path) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < kLayers.size(); ++i)
    if (path.rfind(kLayers[i] + "/", 0) == 0 && kLayers[i].size() > best_len)
      best = int(i), best_len = kLayers[i].size();
  return best;
}

TEST(Layers, EveryLayerIsAFolder) {
  for (const std::string& l : kLayers)
    EXPECT_TRUE(fs::is_directory(fs::path(DLLM_SOURCE_DIR) / l)) << l << " is listed as a layer but is not a folder";
}

TEST(Layers, IncludesPointDown) {
  const fs::path root(DLLM_SOURCE_DIR);
  const std::regex include_line(R"re(^\s*#\s*include\s+"([^"]+)")re");
  int files = 0;
  for (const std::string& layer : kLayers)
    for (const auto& entry : fs::recursive_directory_iterator(root / layer)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".cu")) continue;
      const std::string file = fs::relative(entry.path(), root).generic_string();
      const int from = layer_of(file);
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line)) continue;
        const std::string target = m[1];
        // Includes relative to the including file's folder stay in its layer.
        if (fs::exists(entry.path().parent_path() / target) && !fs::exists(root / target)) continue;
        const int to = layer_of(target);
        EXPECT_NE(to, -1) << file << ":" << n << " includes \"" << target
                          << "\", which is in no layer (tests, tools and bench code are never included by the library)";
        EXPECT_LE(to, from) << file << ":" << n << " (layer " << kLayers[size_t(from)] << ") includes \"" << target
                            << "\" from the higher layer " << kLayers[size_t(to)]
                            << ": move the shared piece down, or the including code up";
      }
    }
  EXPECT_GT(files, 100) << "the layered tree was not found under " << root;
}

}  // namespace
