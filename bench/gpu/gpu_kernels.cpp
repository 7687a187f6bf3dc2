// GPU kernel micro-benchmarks on llama3-8b and zaya1-8b shapes (the op tables' GPU variants on their
// benchmark shapes, then sampling): each kernel variant's time, achieved GB/s and
// TFLOP/s, and its fraction of the spec bandwidth (--spec-gbps, default the H200's 4800) and of the
// bandwidth a device-to-device copy measures on this machine. Writes one JSON file.
// Usage: dllm-gpu-bench --out FILE.json [--spec-gbps 4800]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend/buffer.h"
#include "engine/backend/gpu_backend.h"
#include "core/check.h"
#include "kernels/gpu/device.h"
#include "kernels/gpu/gpu.h"
#include "opcases/registry.h"

using namespace dllm;
using json = nlohmann::json;

namespace {

// Median seconds of `reps` timed runs after 3 untimed ones.
double time_median(const std::function<void()>& f, int reps = 20) {
  for (int i = 0; i < 3; ++i) f();
  gpu::Timer timer;
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    timer.start();
    f();
    s.push_back(timer.stop_seconds());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

// Logits-like values: normal with a spread of 3, from a fixed seed.
std::vector<float> random_logits(size_t n) {
  std::mt19937 gen(7);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

struct Row {
  std::string kernel, variant, shape;
  int tokens;
  double seconds, bytes, flops;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string out;
    double spec_gbps = 4800.0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      DLLM_CHECK(i + 1 < argc, a, " needs a value; usage: dllm-gpu-bench --out FILE.json [--spec-gbps 4800]");
      if (a == "--out")
        out = argv[++i];
      else if (a == "--spec-gbps")
        spec_gbps = std::stod(argv[++i]);
      else
        fail("unknown flag ", a, "; usage: dllm-gpu-bench --out FILE.json [--spec-gbps 4800]");
    }
    DLLM_CHECK(!out.empty(), "usage: dllm-gpu-bench --out FILE.json [--spec-gbps 4800]");
    std::string why;
    const auto devices = gpu::visible_devices(&why);
    DLLM_CHECK(!devices.empty(), "no GPU is visible (", why, ")");
    GpuMemory mem;

    // The machine's copy bandwidth: bytes read plus bytes written by a 2 GiB device-to-device copy.
    const size_t copy_bytes = size_t(2) << 30;
    Buffer<uint8_t> src(mem, copy_bytes), dst(mem, copy_bytes);
    const double copy_s = time_median([&] { gpu::copy(dst.data(), src.data(), copy_bytes); }, 10);
    const double copy_gbps = 2.0 * double(copy_bytes) / copy_s * 1e-9;

    std::vector<Row> rows;
    // Every GPU variant of the op tables on its op's benchmark shapes (opcases/: llama3-8b's linear
    // layers and LM head, its attention after 4096 cached tokens, RMSNorm over D = 4096, MoE at
    // zaya1-8b's expert shape, argmax over a 128256-token vocabulary).
    for (const opcases::Entry& e : opcases::entries()) {
      if (e.device != opcases::Device::gpu || !e.available()) continue;
      for (const opcases::Timed& t : e.bench) {
        const std::function<void()> call = t.prepare(opcases::gpu_place());
        rows.push_back({e.op, e.variant, t.shape, t.tokens, time_median(call), t.bytes, t.flops});
      }
    }
    // Sampling of logits rows over a 128256-token vocabulary (what decoding reads back): with top-k and
    // top-p it bisects with ~100 passes over each row; bytes count one pass.
    {
      const int vocab = 128256;
      const std::vector<float> logits = random_logits(size_t(17) * vocab);
      Buffer<float> x(mem, size_t(17) * vocab);
      x.assign(logits.data(), logits.size());
      Buffer<int32_t> token(mem, 17);
      for (const auto& [variant, draw] :
           {std::pair{"T", RowDraw{0.8f, 0, 1.0f, 0.5}}, std::pair{"T+topk+topp", RowDraw{0.8f, 50, 0.9f, 0.5}}}) {
        Buffer<RowDraw> draws(mem);
        const std::vector<RowDraw> host(17, draw);
        draws.assign(host.data(), host.size());
        for (int t : {1, 17}) {
          const double sec = time_median([&] {
            gpu::sample(SampleArgs{t, vocab, x.data(), draws.data(), token.data()});
          });
          rows.push_back({"sample", variant, "V 128256", t, sec, 4.0 * t * vocab, double(t) * vocab});
        }
      }
    }

    json j = {
        {"device", devices[0].name}, {"spec_gbps", spec_gbps}, {"copy_gbps", copy_gbps}, {"kernels", json::array()}};
    std::printf("%-10s %-12s %-24s %5s %10s %9s %8s %7s %7s\n", "kernel", "variant", "shape", "T", "us", "GB/s",
                "TFLOP/s", "%spec", "%copy");
    for (const Row& r : rows) {
      const double gbps = r.bytes / r.seconds * 1e-9, tflops = r.flops / r.seconds * 1e-12;
      j["kernels"].push_back({{"kernel", r.kernel},
                              {"variant", r.variant},
                              {"shape", r.shape},
                              {"tokens", r.tokens},
                              {"seconds", r.seconds},
                              {"gbps", gbps},
                              {"tflops", tflops},
                              {"fraction_of_spec", gbps / spec_gbps},
                              {"fraction_of_copy", gbps / copy_gbps}});
      std::printf("%-10s %-12s %-24s %5d %10.1f %9.1f %8.2f %6.1f%% %6.1f%%\n", r.kernel.c_str(), r.variant.c_str(),
                  r.shape.c_str(), r.tokens, r.seconds * 1e6, gbps, tflops, 100 * gbps / spec_gbps,
                  100 * gbps / copy_gbps);
    }
    std::printf("device-to-device copy: %.1f GB/s (%.1f%% of the %.0f GB/s spec)\n", copy_gbps,
                100 * copy_gbps / spec_gbps, spec_gbps);
    std::ofstream(out) << j.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dllm-gpu-bench: %s\n", e.what());
    return 1;
  }
}
