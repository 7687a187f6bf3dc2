// Routing locality of an MoE model, measured from its routes: the windows of one prefill equal
// separate passes over the same tokens, and the uniform expectation is the one `info` uses.
#include "engine/bench/routing_locality.h"

#include <gtest/gtest.h>

#include <functional>

#include "engine/backend/cpu_backend.h"
#include "engine/backend/kv_cache.h"
#include "engine/model/model.h"
#include "engine/model/zaya.h"

namespace dllm {
namespace {

std::vector<int32_t> document(int n, int salt) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(int32_t((i * 37 + salt * 11) % 256));
  return ids;
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one saying '" << needle << "'";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RoutingLocality, WindowsOfOnePrefillEqualSeparatePasses) {
  auto m = Model::load("preset:tiny-zaya", 1);
  const ModelConfig& cfg = m->config();
  CpuBackend be;
  Transformer tf(cfg, m->weights(), be);
  const int t = 17;
  const std::vector<int32_t> doc = document(2 * t + 5, 3);  // two windows of 17, then 5 tokens no window holds
  const std::vector<report::ExpertsPerPass> got = measure_routing_locality(tf, {doc}, {1, t}, 64);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].windows, int64_t(doc.size()));
  EXPECT_EQ(got[1].windows, 2);

  // The two windows as the passes a decoder would run: tokens [0, 17), then [17, 34) after them.
  KvCache cache(cfg, 1, 2 * t);
  int64_t experts = 0, bytes = 0;
  for (int w = 0; w < 2; ++w) {
    Pass p;
    p.add_causal(0, std::vector<int32_t>(doc.begin() + w * t, doc.begin() + (w + 1) * t), w * t, w * t, true);
    std::vector<float> logits;
    tf.forward(p, cache, {t - 1}, logits);
    cache.set_length(0, (w + 1) * t);
    experts += tf.moe_traffic().experts;
    bytes += tf.moe_traffic().weight_bytes - zaya_dense_bytes(m->weights());
  }
  EXPECT_DOUBLE_EQ(got[1].experts_per_layer, double(experts) / (2.0 * cfg.num_layers));
  EXPECT_DOUBLE_EQ(got[1].expert_bytes, double(bytes) / 2.0);
  EXPECT_LE(got[0].experts_per_layer, 1.0);  // one token routes to one expert or the skip route
  EXPECT_GT(got[1].experts_per_layer, got[0].experts_per_layer);
  // Uniform over E experts and the skip route: one token touches E / (E + 1) experts on average.
  const double e = cfg.num_experts;
  EXPECT_DOUBLE_EQ(got[0].uniform_experts_per_layer, e / (e + 1));
  for (const report::ExpertsPerPass& r : got)
    EXPECT_DOUBLE_EQ(r.uniform_expert_bytes,
                     r.uniform_experts_per_layer * cfg.num_layers * zaya_expert_bytes(cfg, DType::f32));
}

TEST(RoutingLocality, DocumentsPackIntoRows) {
  // Three documents of 10 in rows of 25: two share the first row, the third starts the second row,
  // so a window of 20 fits only in the first.
  auto m = Model::load("preset:tiny-zaya", 1);
  CpuBackend be;
  Transformer tf(m->config(), m->weights(), be);
  const std::vector<report::ExpertsPerPass> got =
      measure_routing_locality(tf, {document(10, 1), document(10, 2), document(10, 3)}, {20, 10}, 25);
  EXPECT_EQ(got[0].windows, 1);
  EXPECT_EQ(got[1].windows, 3);
}

TEST(RoutingLocality, ErrorsNameTheProblem) {
  auto zaya = Model::load("preset:tiny-zaya", 1);
  CpuBackend be;
  Transformer tf(zaya->config(), zaya->weights(), be);
  expect_error([&] { measure_routing_locality(tf, {document(10, 1)}, {17}, 64); }, "no pass size fits");
  EXPECT_EQ(measure_routing_locality(tf, {document(10, 1)}, {1, 17}, 64).size(), 1u);  // 17 left out
  expect_error([&] { measure_routing_locality(tf, {document(10, 1)}, {1}, 4096); }, "do not fit");
  auto dense = Model::load("preset:tiny", 1);
  Transformer tf_dense(dense->config(), dense->weights(), be);
  expect_error([&] { measure_routing_locality(tf_dense, {document(10, 1)}, {1}, 64); }, "mixture-of-experts");
}

}  // namespace
}  // namespace dllm
