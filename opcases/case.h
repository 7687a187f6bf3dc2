// The op-case harness. Each op of core/ops.h is described once, in opcases/<op>.cpp: its
// references (ref/, f32 and f64), its kernel variants (one line each, with the rule their outputs must
// meet), its cases (the Args filled at odd and model shapes, every weight dtype) and its benchmark
// shapes. The CPU kernel tests, the GPU tests, the report's kernel-parity audit and both kernel
// micro-benchmarks read these tables (opcases/registry.h).
#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "opcases/place.h"

namespace dllm::opcases {

// How a variant's outputs must agree with the reference's.
struct Rule {
  enum class Kind {
    bitwise,         // the same bits as the reference
    f32_reference,   // max |out - ref64| <= 2 max |ref32 - ref64| + floor * max(1, max |ref64|), per output:
                     // it may round differently from the f32 reference, not worse
    rounded_inputs,  // |out - ref64| <= 2^-bits * sum |x w| per value (Case::magnitude): inputs rounded to
                     // a float with `bits` mantissa bits (bf16: 7)
  };
  Kind kind = Kind::f32_reference;
  double floor = 1e-6;
  int bits = 0;  // rounded_inputs
};
inline Rule bitwise() { return Rule{Rule::Kind::bitwise, 0}; }
inline Rule f32_reference(double floor) { return Rule{Rule::Kind::f32_reference, floor}; }
inline Rule bf16_inputs() { return Rule{Rule::Kind::rounded_inputs, 0, 7}; }

// One op at one shape.
template <typename Args>
struct Case {
  std::string name;                   // op and shape, e.g. "linear T=17 Din=97 Dout=7 bf16 bias"
  std::function<Args(Arena&)> build;  // inputs from fixed seeds, on the arena's place; outputs made there
  bool host = true;                   // run by host variants (model-scale parity cases: GPUs only)
  bool device = true;                 // run by GPU variants
  bool emulator = true;               // and small enough for the GPU's CPU emulator (DLLM_GPU=EMU)
  int tokens = 0;                     // benchmarks: the pass size, and per call what they report rates of
  double bytes = 0, flops = 0;
  DType weights = DType::f32;  // ops with weights: their dtype (Variant::bf16_weights_only)
  // rounded_inputs: sum |x w| over the products of each output value.
  std::function<std::vector<double>()> magnitude;
};

enum class Device { host, gpu };
inline const char* device_name(Device d) { return d == Device::host ? "cpu" : "gpu"; }

// A kernel variant: one line of its op's table.
template <typename Args>
struct Variant {
  std::string name;  // e.g. "avx2", "tiled"
  Device device;
  std::function<void(const Args&)> run;
  Rule rule;
  bool invariant = false;                // bitwise the same whatever the pass size (Op::row_cases)
  std::function<bool()> available = {};  // whether this build and machine run it (empty: always)
  bool bf16_weights_only = false;        // takes only the cases whose weights are bf16 (Case::weights)
  bool takes(const Case<Args>& c) const { return !bf16_weights_only || c.weights == DType::bf16; }
};

template <typename Args>
struct Op {
  std::string name;
  void (*ref32)(const Args&) = nullptr;
  void (*ref64)(const Args&) = nullptr;  // ref32 where the reference has one precision
  std::vector<Variant<Args>> variants;
  std::vector<Case<Args>> cases;      // parity: odd and model shapes
  std::vector<Case<Args>> row_cases;  // the invariant variants' rows alone against the whole call
  std::vector<Case<Args>> bench;      // the kernel micro-benchmarks' shapes
  std::vector<Case<Args>> ref_bench;  // the f32 reference's (smaller: it is slow)
  // The call on rows [first, first + count) of a's tokens (or rows) alone, and how many a has (null:
  // the op is not row-wise).
  Args (*rows)(const Args& a, int first, int count) = nullptr;
  int (*row_count)(const Args& a) = nullptr;
};

// A variant's outputs against the references on one case.
struct Verdict {
  bool pass = true;
  std::string what;      // case and variant
  std::string detail;    // why it failed
  double max_abs = 0;    // largest |out - ref64| over the outputs (f32_reference)
  double max_rel = 0;    // max_abs / max(1, max |ref64|)
  double tolerance = 0;  // the largest max_rel the rule allows
};

// Scores `got` against the references under `rule`. Breaches (guard words overwritten) fail.
Verdict compare(const Rule& rule, const std::vector<Output>& got, const std::vector<Output>& ref32,
                const std::vector<Output>& ref64, const std::vector<double>& magnitude,
                const std::vector<std::string>& breaches);
// Bitwise equality of two runs; `against` names b in the message.
Verdict compare_bits(const std::vector<Output>& a, const std::vector<Output>& b, const char* against,
                     const std::vector<std::string>& breaches);

// Runs `run` on case c on `place` and scores it under `rule` (the references run on the host).
template <typename Args>
Verdict check(const Op<Args>& op, const Case<Args>& c, const std::function<void(const Args&)>& run, const Rule& rule,
              Place& place) {
  auto outputs = [&](Place& p, const std::function<void(const Args&)>& f, std::vector<std::string>* breaches) {
    Arena arena(p);
    const Args a = c.build(arena);
    f(a);
    return arena.read(breaches);
  };
  std::vector<std::string> breaches, ref_breaches;
  const std::vector<Output> got = outputs(place, run, &breaches);
  const std::vector<Output> r32 = outputs(host_place(), op.ref32, &ref_breaches);
  const std::vector<Output> r64 = outputs(host_place(), op.ref64, &ref_breaches);
  for (const std::string& b : ref_breaches) breaches.push_back("the reference: " + b);
  const bool magnitudes = rule.kind == Rule::Kind::rounded_inputs && c.magnitude;
  Verdict v = compare(rule, got, r32, r64, magnitudes ? c.magnitude() : std::vector<double>(), breaches);
  v.what = c.name;
  return v;
}

// The variant on case c's rows in windows (1, 2, 3 and 4 rows from each end, so the first and the last
// row alone; the middle in one call) against the whole call: bitwise equal.
template <typename Args>
Verdict check_rows(const Op<Args>& op, const Case<Args>& c, const Variant<Args>& v, Place& place) {
  std::vector<std::string> breaches;
  std::vector<Output> whole, parts;
  {
    Arena arena(place);
    v.run(c.build(arena));
    whole = arena.read(&breaches);
  }
  {
    Arena arena(place);
    const Args a = c.build(arena);
    int lo = 0, hi = op.row_count(a);
    for (int size : {1, 2, 3, 4}) {
      const int front = std::min(size, hi - lo);
      if (front > 0) v.run(op.rows(a, lo, front)), lo += front;
      const int back = std::min(size, hi - lo);
      if (back > 0) hi -= back, v.run(op.rows(a, hi, back));
    }
    if (lo < hi) v.run(op.rows(a, lo, hi - lo));
    parts = arena.read(&breaches);
  }
  Verdict r = compare_bits(parts, whole, "the whole call", breaches);
  r.what = c.name + " " + device_name(v.device) + " " + v.name + ": rows alone vs in one call";
  return r;
}

// Two variants on case c: bitwise equal.
template <typename Args>
Verdict check_same(const Case<Args>& c, const Variant<Args>& a, const Variant<Args>& b, Place& place) {
  std::vector<std::string> breaches;
  auto outputs = [&](const Variant<Args>& v) {
    Arena arena(place);
    v.run(c.build(arena));
    return arena.read(&breaches);
  };
  const std::vector<Output> first = outputs(b), second = outputs(a);
  Verdict r = compare_bits(second, first, "the other variant", breaches);
  r.what = c.name + " " + a.name + " vs " + b.name;
  return r;
}

}  // namespace dllm::opcases
