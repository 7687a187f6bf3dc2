// The op-case tables (opcases/registry.h) as GoogleTest parameters: one test per (op, variant) of a
// device, named after both. The CPU kernel tests and the GPU tests instantiate them.
#pragma once
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include "opcases/registry.h"

namespace dllm::opcases {

// How GoogleTest prints a parameter (and ctest lists it): "linear cpu avx2".
inline void PrintTo(const Entry* e, std::ostream* os) {
  *os << e->op << " " << device_name(e->device) << " " << e->variant;
}

}  // namespace dllm::opcases

namespace dllm::testutil {

// The (op, variant) entries of this build that run on `device` (not the references).
inline std::vector<const opcases::Entry*> entries_on(opcases::Device device) {
  std::vector<const opcases::Entry*> r;
  for (const opcases::Entry& e : opcases::entries())
    if (e.device == device && e.parity) r.push_back(&e);
  return r;
}

// "linear_cpu_avx2"
inline std::string entry_name(const ::testing::TestParamInfo<const opcases::Entry*>& info) {
  std::string s = info.param->op + "_" + opcases::device_name(info.param->device) + "_" + info.param->variant;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// Every verdict passed, and there was at least one (a filter that leaves no case tests nothing).
inline void expect_pass(const std::vector<opcases::Verdict>& verdicts) {
  EXPECT_FALSE(verdicts.empty()) << "no case ran";
  for (const opcases::Verdict& v : verdicts) EXPECT_TRUE(v.pass) << v.what << ": " << v.detail;
}

}  // namespace dllm::testutil
