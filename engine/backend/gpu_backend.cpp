#include "engine/backend/gpu_backend.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/gpu/device.h"

namespace dllm {

namespace {

// Records a pass as a graph the second time its shape comes (a shape seen once, like a prompt's
// prefill, is not worth recording) and from then on launches the graph instead of issuing the ops.
// Keeps the kMaxShapes most recently used shapes (and their graphs).
class GraphPassRunner final : public PassRunner {
 public:
  explicit GraphPassRunner(GraphStats& stats) : stats_(stats) {}

  void run(const std::vector<int64_t>& shape, const std::function<void()>& issue) override {
    Entry& e = entry(shape);
    if (!e.graph && ++e.seen < 2) return issue();
    if (!e.graph) {
      e.graph = std::make_unique<gpu::Graph>(issue);
      ++stats_.recorded;
    }
    e.graph->launch();
    ++stats_.launched;
  }

 private:
  static constexpr size_t kMaxShapes = 64;
  struct Entry {
    int seen = 0;
    int64_t last_use = 0;
    std::unique_ptr<gpu::Graph> graph;
  };

  Entry& entry(const std::vector<int64_t>& shape) {
    if (entries_.size() >= kMaxShapes && !entries_.count(shape)) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      });
      entries_.erase(oldest);
    }
    Entry& e = entries_[shape];
    e.last_use = ++clock_;
    return e;
  }

  GraphStats& stats_;
  std::map<std::vector<int64_t>, Entry> entries_;
  int64_t clock_ = 0;
};

}  // namespace

GpuBackend::GpuBackend(gpu::Reduction reduction, bool graphs, bool vendor_linears)
    : reduction_(reduction), graphs_(graphs), vendor_linears_(vendor_linears) {
  std::string why;
  DLLM_CHECK(!gpu::visible_devices(&why).empty(), "the GPU backend has no usable GPU (", why,
             "): run with --backend cpu, or on a machine with a GPU and its driver");
}

DType GpuBackend::kv_cache_dtype(const ModelConfig& cfg) const {
  AttentionArgs shape;
  shape.q_heads = cfg.num_heads, shape.kv_heads = cfg.num_kv_heads, shape.head_dim = cfg.head_dim;
  return rounds_attention_inputs() && gpu::attention_tiles_fit(shape) ? DType::bf16 : DType::f32;
}

std::string GpuBackend::name() const {
  std::string base = "gpu";
  if (reduction_ == gpu::Reduction::invariant) base = "gpu-invariant";
  if (reduction_ == gpu::Reduction::fast_mma) base = "gpu-mma";
  if (vendor_linears_) base = "gpu-vendor";
  return graphs_ ? base : base + kEagerSuffix;
}

void GpuBackend::linear(const LinearArgs& a) {
  if (vendor_linears_)
    gpu::vendor_linear(a);
  else
    gpu::linear(a, gpu::pick_linear(a, reduction_));
}

void GpuBackend::linears(std::span<const LinearArgs> parts) {
  if (vendor_linears_)
    for (const LinearArgs& part : parts) gpu::vendor_linear(part);
  else
    gpu::linears(parts.data(), int(parts.size()), reduction_);
}

void GpuBackend::linear_residual(const LinearArgs& a, float* residual) {
  if (!vendor_linears_) return gpu::linear_residual(a, residual, reduction_);
  gpu::vendor_linear(a);
  gpu::add(AddArgs{int64_t(a.tokens) * a.out, a.y, residual});
}

void GpuBackend::norm_linears(const RmsnormArgs& norm, std::span<const LinearArgs> parts) {
  if (vendor_linears_)
    Backend::norm_linears(norm, parts);
  else
    gpu::norm_linears(norm, parts.data(), int(parts.size()), reduction_);
}

void GpuBackend::swiglu_linear_residual(const SwigluArgs& act, const LinearArgs& down, float* residual) {
  if (vendor_linears_)
    Backend::swiglu_linear_residual(act, down, residual);
  else
    gpu::swiglu_linear_residual(act, down, residual, reduction_);
}

std::optional<MemoryLimit> GpuBackend::memory_limit() const {
  const gpu::DeviceMemory m = gpu::device_memory();
  const std::optional<BackendDevice> d = device();
  return MemoryLimit{int64_t(m.free), "free memory of GPU 0, " + (d ? d->name : std::string("?")) + ", of its " +
                                          format_bytes(int64_t(m.total))};
}

std::optional<BackendDevice> GpuBackend::device() const {
  const auto devices = gpu::visible_devices();
  if (devices.empty()) return std::nullopt;
  const gpu::DeviceInfo& d = devices.front();  // the kernels run on device 0
  return BackendDevice{d.name,           int64_t(d.memory_bytes), d.multiprocessors, d.warp_size, d.runtime_version,
                       d.driver_version, gpu::emulated()};
}

GpuBackend::~GpuBackend() {
  for (auto& [host, device] : uploaded_) gpu::release(device.first);
}

WeightView GpuBackend::upload(const WeightView& w) {
  if (w.empty()) return w;
  DLLM_ASSERT(w.layout == WeightLayout::rows);  // the GPU kernels read the checkpoint's layout
  const size_t bytes = size_t(w.rows * w.cols) * dtype_size(w.dtype);
  auto [it, fresh] = uploaded_.try_emplace(w.data, nullptr, bytes);
  if (fresh) {
    it->second.first = gpu::alloc(bytes);
    gpu::upload(it->second.first, w.data, bytes);
  }
  DLLM_ASSERT(it->second.second == bytes);  // two views of one tensor (tied embeddings) agree on its size
  WeightView d = w;
  d.data = it->second.first;
  return d;
}

std::unique_ptr<PassRunner> GpuBackend::pass_runner() {
  if (!graphs_) return std::make_unique<PassRunner>();
  return std::make_unique<GraphPassRunner>(graph_stats_);
}

ModelWeights GpuBackend::resident(const ModelWeights& w) {
  ModelWeights d = w;
  d.embed = upload(w.embed), d.final_norm = upload(w.final_norm), d.lm_head = upload(w.lm_head);
  d.input_scale = upload(w.input_scale), d.input_bias = upload(w.input_bias);
  for (LayerWeights& l : d.layers)
    for (WeightView* v :
         {&l.attn_norm, &l.q, &l.k, &l.v, &l.o, &l.q_bias, &l.k_bias, &l.v_bias, &l.q_norm, &l.k_norm, &l.mlp_norm,
          &l.gate, &l.up, &l.down,
          // zaya (empty for dense models: nothing uploaded)
          &l.v_delayed, &l.conv1, &l.conv1_bias, &l.conv2, &l.conv2_bias, &l.temperature, &l.attn_h_scale,
          &l.attn_h_bias, &l.attn_r_scale, &l.attn_r_bias, &l.mlp_h_scale, &l.mlp_h_bias, &l.mlp_r_scale, &l.mlp_r_bias,
          &l.router_down, &l.router_down_bias, &l.router_state_scale, &l.router_norm, &l.router_fc1, &l.router_fc1_bias,
          &l.router_fc2, &l.router_fc2_bias, &l.router_out, &l.balancing_bias, &l.experts_gate_up, &l.experts_down})
      *v = upload(*v);
  return d;
}

std::unique_ptr<Backend> make_gpu_backend(const std::string& name) {
  const size_t suffix = std::string(kEagerSuffix).size();
  const bool eager = name.size() > suffix && name.ends_with(kEagerSuffix);
  const std::string base = eager ? name.substr(0, name.size() - suffix) : name;
  if (base == "gpu") return std::make_unique<GpuBackend>(gpu::Reduction::fast, !eager);
  if (base == "gpu-invariant") return std::make_unique<GpuBackend>(gpu::Reduction::invariant, !eager);
  if (base == "gpu-vendor") {
    DLLM_CHECK(gpu::vendor_linear_available(), "--backend ", name, " needs ", gpu::kVendorLinearNeeds,
               ": use --backend gpu");
    return std::make_unique<GpuBackend>(gpu::Reduction::fast, !eager, true);
  }
  if (base == "gpu-mma") {
    auto be = std::make_unique<GpuBackend>(gpu::Reduction::fast_mma, !eager);
    DLLM_CHECK(gpu::mma_available(), "--backend ", name, " needs matrix units, ", gpu::kMmaNeeds,
               ": use --backend gpu");
    return be;
  }
  return nullptr;
}

}  // namespace dllm
