// Every op's table (opcases/<op>.cpp) as (op, variant) entries for the drivers: the CPU kernel tests
// (tests/kernels/test_opcases.cpp), the GPU tests (tests/gpu/test_gpu_opcases.cpp), the CPU
// micro-benchmarks (bench/bench_ops.cpp) and the GPU one (bench/gpu/gpu_kernels.cpp). A new op is one
// line in registry.cpp; a new variant one line in its op's file.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "opcases/case.h"

namespace dllm::opcases {

// A call prepared for timing: its arrays live as long as the function.
struct Timed {
  std::string shape;
  int tokens = 0;
  double bytes = 0, flops = 0;
  std::function<std::function<void()>(Place&)> prepare;
};

struct Entry {
  std::string op, variant;  // variant "ref" is the f32 reference (host benchmarks only)
  Device device = Device::host;
  bool invariant = false;
  std::function<bool()> available;
  // One verdict per parity case; `emulated`: only the cases small enough for the GPU's CPU emulator.
  std::function<std::vector<Verdict>(Place&, bool emulated)> parity;
  // One verdict per row case, for invariant variants of row-wise ops (else none).
  std::function<std::vector<Verdict>(Place&, bool emulated)> rows;
  // Host variants after an op's first: bitwise equal to it on every host case (kernels/cpu/cpu.h: the
  // ISA paths compute the same bits). One verdict per case.
  std::function<std::vector<Verdict>()> same_as_first;
  std::vector<Timed> bench;
};

// Every (op, variant) of this build, the f32 references first among each op's.
const std::vector<Entry>& entries();

// Turns one op's table into its entries (registry.cpp, for each op).
template <typename Args>
void add_entries(const Op<Args>& op, std::vector<Entry>* out) {
  auto timed = [](const std::vector<Case<Args>>& cases, Device device, const std::function<void(const Args&)>& run,
                  const std::function<bool(const Case<Args>&)>& takes) {
    std::vector<Timed> t;
    for (const Case<Args>& c : cases)
      if ((device == Device::host ? c.host : c.device) && takes(c))
        t.push_back(Timed{c.name, c.tokens, c.bytes, c.flops, [c, run](Place& place) {
                            auto arena = std::make_shared<Arena>(place);
                            const Args a = c.build(*arena);
                            return std::function<void()>([arena, a, run] { run(a); });
                          }});
    return t;
  };
  Entry ref;
  ref.op = op.name, ref.variant = "ref", ref.available = [] { return true; };
  ref.bench = timed(op.ref_bench, Device::host, op.ref32, [](const Case<Args>&) { return true; });
  out->push_back(ref);
  for (const Variant<Args>& v : op.variants) {
    Entry e;
    e.op = op.name, e.variant = v.name, e.device = v.device, e.invariant = v.invariant;
    e.available = v.available ? v.available : [] { return true; };
    e.parity = [&op, v](Place& place, bool emulated) {
      std::vector<Verdict> r;
      for (const Case<Args>& c : op.cases)
        if (v.takes(c) && (v.device == Device::host ? c.host : c.device && (c.emulator || !emulated))) {
          r.push_back(check(op, c, v.run, v.rule, place));
          r.back().what += std::string(" ") + device_name(v.device) + " " + v.name;
        }
      return r;
    };
    e.rows = [&op, v](Place& place, bool emulated) {
      std::vector<Verdict> r;
      if (!v.invariant || !op.rows) return r;
      for (const Case<Args>& c : op.row_cases)
        if (v.takes(c) && (v.device == Device::host ? c.host : c.device && (c.emulator || !emulated)))
          r.push_back(check_rows(op, c, v, place));
      return r;
    };
    const Variant<Args>* first = nullptr;
    for (const Variant<Args>& f : op.variants)
      if (f.device == Device::host && (!f.available || f.available())) {
        first = &f;
        break;
      }
    // (a variant that rounds its inputs computes other bits by design: its rule is its check)
    if (v.device == Device::host && first && first->name != v.name && v.rule.kind != Rule::Kind::rounded_inputs)
      e.same_as_first = [&op, v, first] {
        std::vector<Verdict> r;
        for (const Case<Args>& c : op.cases)
          if (c.host && v.takes(c) && first->takes(c)) r.push_back(check_same(c, v, *first, host_place()));
        return r;
      };
    e.bench = timed(op.bench, v.device, v.run, [v](const Case<Args>& c) { return v.takes(c); });
    out->push_back(std::move(e));
  }
}

}  // namespace dllm::opcases
