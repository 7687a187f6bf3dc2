// Every GPU kernel variant of the op tables (opcases/) against the f32 and f64 references (mma under
// its bf16 rule where the device has it): odd and model shapes (model scale on devices only; the
// emulator takes the cases marked small enough), every weight dtype, guard words around every output,
// NaN/Inf; the invariant variants row by row against the whole call. Skipped when no GPU is visible.
#include "kernels/gpu/device.h"
#include "tests/gpu/gpu_testing.h"
#include "tests/opcases_driver.h"

using namespace dllm;

namespace {

class GpuKernels : public ::testing::TestWithParam<const opcases::Entry*> {
 protected:
  void SetUp() override {
    DLLM_REQUIRE_GPU();
    if (!GetParam()->available()) GTEST_SKIP() << GetParam()->variant << " does not run on this device";
  }
};

TEST_P(GpuKernels, MatchesTheReference) {
  testutil::expect_pass(GetParam()->parity(opcases::gpu_place(), gpu::emulated()));
}

TEST_P(GpuKernels, RowsAloneEqualTheWholeCall) {
  if (!GetParam()->invariant) GTEST_SKIP() << "not a pass-size-invariant variant";
  testutil::expect_pass(GetParam()->rows(opcases::gpu_place(), gpu::emulated()));
}

INSTANTIATE_TEST_SUITE_P(OpCases, GpuKernels, ::testing::ValuesIn(testutil::entries_on(opcases::Device::gpu)),
                         testutil::entry_name);

}  // namespace
