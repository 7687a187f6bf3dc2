// Kernel parity inside a benchmark run: each op of a host backend against the reference, on the
// benchmarked model's own shapes and weights (layer 0), so a report says whether the kernels that
// produced its numbers were right on that machine. The full coverage (odd shapes, every variant,
// guard values) is the test suite's job; this is its audit trail in the report.
#pragma once
#include <nlohmann/json.hpp>

#include "engine/backend/backend.h"
#include "core/model.h"

namespace dllm {

// Rows {op, shape, max_abs, max_rel, tolerance, pass}: the op cases' f32_reference rule (opcases/case.h)
// with a floor of 1e-6 relative. Errors are measured against the reference with f64 accumulation; the
// tolerance is twice the error of the f32 reference on the same inputs plus the floor. Requires a
// backend that takes host pointers.
nlohmann::json kernel_parity(Backend& backend, const ModelConfig& cfg, const ModelWeights& w);

}  // namespace dllm
