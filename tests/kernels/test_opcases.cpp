// Every CPU kernel variant of the op tables (opcases/) against the f32 and f64 references on every
// case (odd and model shapes, every weight dtype, guard words around every output, NaN/Inf), the
// invariant ones row by row against the whole call (batch invariance), and each ISA path bitwise equal
// to the op's first; and the harness against kernels it must fail.
#include <functional>

#include "kernels/cpu/cpu.h"
#include "opcases/ops.h"
#include "tests/opcases_driver.h"

using namespace dllm;

namespace {

class CpuKernels : public ::testing::TestWithParam<const opcases::Entry*> {
 protected:
  void SetUp() override {
    if (!GetParam()->available()) GTEST_SKIP() << GetParam()->variant << " does not run on this CPU";
  }
};

TEST_P(CpuKernels, MatchesTheReference) { testutil::expect_pass(GetParam()->parity(opcases::host_place(), false)); }

TEST_P(CpuKernels, RowsAloneEqualTheWholeCall) {
  if (!GetParam()->invariant) GTEST_SKIP() << "not a batch-invariant variant";
  testutil::expect_pass(GetParam()->rows(opcases::host_place(), false));
}

TEST_P(CpuKernels, BitwiseEqualToTheOpsFirstPath) {
  if (!GetParam()->same_as_first) GTEST_SKIP() << "the op's first CPU path, or a path that rounds its inputs";
  testutil::expect_pass(GetParam()->same_as_first());
}

INSTANTIATE_TEST_SUITE_P(OpCases, CpuKernels, ::testing::ValuesIn(testutil::entries_on(opcases::Device::host)),
                         testutil::entry_name);

}  // namespace

// The harness fails the kernels it must: one value off by 1e-4, a write past the output, a row left
// unwritten, a row whose bits depend on the pass size.
TEST(OpCaseHarness, CatchesWrongKernels) {
  const opcases::Op<LinearArgs>& op = opcases::linear_op();
  const opcases::Case<LinearArgs>& c = op.row_cases.front();  // 306 tokens
  auto verdict = [&](const std::function<void(const LinearArgs&)>& run) {
    return opcases::check(op, c, run, opcases::f32_reference(1e-6), opcases::host_place());
  };
  const auto right = [](const LinearArgs& a) { cpu::linear(a); };
  EXPECT_TRUE(verdict(right).pass);
  const opcases::Verdict off = verdict([&](const LinearArgs& a) { right(a), a.y[0] *= 1.0001f; });
  EXPECT_FALSE(off.pass);
  EXPECT_GT(off.max_rel, off.tolerance);
  EXPECT_FALSE(verdict([&](const LinearArgs& a) { right(a), a.y[int64_t(a.tokens) * a.out] = 0; }).pass);
  EXPECT_FALSE(verdict([&](const LinearArgs& a) {
                 right(LinearArgs{a.tokens - 1, a.in, a.out, a.x, a.weight, a.bias, a.y});
               }).pass);
  const opcases::Variant<LinearArgs> shape_dependent{
      "shape-dependent", opcases::Device::host,
      [&](const LinearArgs& a) { right(a), a.y[0] += 1e-3f * float(a.tokens); }, opcases::f32_reference(1e-6), true};
  EXPECT_FALSE(opcases::check_rows(op, c, shape_dependent, opcases::host_place()).pass);
  const opcases::Variant<LinearArgs> invariant{"cpu", opcases::Device::host, right, opcases::f32_reference(1e-6), true};
  EXPECT_TRUE(opcases::check_rows(op, c, invariant, opcases::host_place()).pass);
}
