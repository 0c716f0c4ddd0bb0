#include "lmrt/core/model_loader.hpp"

#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "lmrt/core/error.hpp"
#include "lmrt/core/half.hpp"
#include "lmrt/core/log.hpp"
#include "lmrt/core/safetensors.hpp"

namespace lmrt {

struct LoadedModel::Impl {
  std::filesystem::path dir;
  std::string name;
  HfConfig config;
  std::unique_ptr<SafetensorsCheckpoint> checkpoint;
  std::deque<std::string> names;                 // deque: push_back keeps earlier c_str() pointers valid
  std::deque<std::vector<std::byte>> buffers;    // converted tensors (InternLM2's split wqkv); deque: stable references
  std::vector<lmrt_tensor_view> views;
  lmrt_model_desc desc{};
};

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Builds the canonical views of one model.
class CanonicalBuilder {
 public:
  CanonicalBuilder(LoadedModel::Impl& m) : m_(m), ckpt_(*m.checkpoint) {}

  // The checkpoint tensor `source`, checked for existence, float dtype and shape.
  const SafetensorsTensor& source(const std::string& name, const std::vector<int64_t>& expected,
                                  const std::string& canonical) {
    const SafetensorsTensor* t = ckpt_.find(name);
    if (t == nullptr)
      fail(LMRT_STATUS_MODEL_ERROR, m_.dir.string() + ": missing tensor '" + name + "' (canonical '" + canonical +
                                        "', shape " + shape_str(expected) + ") in the " + arch_name(m_.config.arch) +
                                        " checkpoint");
    const auto& file = ckpt_.file_of(name)->path();
    if (!is_float_dtype(t->dtype))
      fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": tensor '" + name + "' has dtype " +
                                        safetensors_dtype_name(t->dtype) + "; expected a float dtype (F32, F16, BF16)");
    if (t->shape != expected)
      fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": tensor '" + name + "' has shape " + shape_str(t->shape) +
                                        "; expected " + shape_str(expected) + " from config.json");
    used_.insert(name);
    return *t;
  }

  // Adds a view of a checkpoint tensor without copying.
  void view(const std::string& canonical, const std::string& name, const std::vector<int64_t>& expected) {
    const auto& t = source(name, expected, canonical);
    add(canonical, t.dtype, t.shape, t.data, t.nbytes);
  }

  void add(const std::string& canonical, lmrt_dtype dtype, const std::vector<int64_t>& shape, const void* data,
           uint64_t nbytes) {
    if (shape.size() > LMRT_MAX_TENSOR_DIMS)
      fail(LMRT_STATUS_INTERNAL, "tensor '" + canonical + "' has more than 4 dimensions");
    lmrt_tensor_view v{};
    v.struct_size = sizeof(lmrt_tensor_view);
    v.dtype = dtype;
    v.name = m_.names.emplace_back(canonical).c_str();
    v.ndim = static_cast<uint32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) v.shape[i] = shape[i];
    v.data = data;
    v.nbytes = nbytes;
    m_.views.push_back(v);
  }

  // Splits InternLM2's fused wqkv [(H + 2K) * D, hidden], stored per KV head as
  // [G query heads, 1 key head, 1 value head] with G = H / K, into wq, wk, wv.
  void split_wqkv(const std::string& prefix, const std::string& name) {
    const auto& c = m_.config;
    const int64_t H = c.num_heads, K = c.num_kv_heads, D = c.head_dim, G = H / K, hidden = c.hidden_size;
    const auto& t = source(name, {(H + 2 * K) * D, hidden}, prefix + "wq|wk|wv");
    const size_t head_bytes = static_cast<size_t>(D * hidden) * dtype_size(t.dtype);
    auto& wq = m_.buffers.emplace_back(static_cast<size_t>(H) * head_bytes);
    auto& wk = m_.buffers.emplace_back(static_cast<size_t>(K) * head_bytes);
    auto& wv = m_.buffers.emplace_back(static_cast<size_t>(K) * head_bytes);
    for (int64_t g = 0; g < K; ++g) {
      const std::byte* group = t.data + static_cast<size_t>(g * (G + 2)) * head_bytes;
      std::memcpy(wq.data() + static_cast<size_t>(g * G) * head_bytes, group, static_cast<size_t>(G) * head_bytes);
      std::memcpy(wk.data() + static_cast<size_t>(g) * head_bytes, group + G * head_bytes, head_bytes);
      std::memcpy(wv.data() + static_cast<size_t>(g) * head_bytes, group + (G + 1) * head_bytes, head_bytes);
    }
    add(prefix + "wq", t.dtype, {H * D, hidden}, wq.data(), wq.size());
    add(prefix + "wk", t.dtype, {K * D, hidden}, wk.data(), wk.size());
    add(prefix + "wv", t.dtype, {K * D, hidden}, wv.data(), wv.size());
  }

  // Checkpoint tensors that were not mapped. An unused bias would silently change the
  // model's output, so it is an error; anything else (e.g. rotary inv_freq) is ignored.
  void check_unused() {
    for (const auto& name : ckpt_.names()) {
      if (used_.count(name)) continue;
      if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
        fail(LMRT_STATUS_UNSUPPORTED, ckpt_.file_of(name)->path().string() + ": tensor '" + name +
                                          "' is a bias the " + arch_name(m_.config.arch) +
                                          " mapping does not use (unsupported by the canonical description)");
      log::write(LMRT_LOG_DEBUG, "model", "ignoring checkpoint tensor '" + name + "'");
    }
  }

 private:
  LoadedModel::Impl& m_;
  const SafetensorsCheckpoint& ckpt_;
  std::set<std::string> used_;
};

void build_views(LoadedModel::Impl& m) {
  const HfConfig& c = m.config;
  CanonicalBuilder b(m);
  const int64_t hidden = c.hidden_size, vocab = c.vocab_size, inter = c.intermediate_size;
  const int64_t q_rows = int64_t{c.num_heads} * c.head_dim, kv_rows = int64_t{c.num_kv_heads} * c.head_dim;
  const bool internlm2 = c.arch == ModelArch::internlm2;

  const std::string embed = internlm2 ? "model.tok_embeddings.weight" : "model.embed_tokens.weight";
  b.view("tok_embeddings", embed, {vocab, hidden});
  b.view("norm", "model.norm.weight", {hidden});
  if (c.tie_word_embeddings) {
    const auto& e = m.views.front();  // tok_embeddings: the LM head shares its data
    b.add("output", static_cast<lmrt_dtype>(e.dtype), {vocab, hidden}, e.data, e.nbytes);
  } else {
    b.view("output", internlm2 ? "output.weight" : "lm_head.weight", {vocab, hidden});
  }

  for (uint32_t n = 0; n < c.num_layers; ++n) {
    const std::string src = "model.layers." + std::to_string(n) + ".";
    const std::string dst = "layers." + std::to_string(n) + ".";
    if (internlm2) {
      b.view(dst + "attention_norm", src + "attention_norm.weight", {hidden});
      b.split_wqkv(dst + "attention.", src + "attention.wqkv.weight");
      b.view(dst + "attention.wo", src + "attention.wo.weight", {hidden, q_rows});
      b.view(dst + "ffn_norm", src + "ffn_norm.weight", {hidden});
      b.view(dst + "feed_forward.w1", src + "feed_forward.w1.weight", {inter, hidden});
      b.view(dst + "feed_forward.w3", src + "feed_forward.w3.weight", {inter, hidden});
      b.view(dst + "feed_forward.w2", src + "feed_forward.w2.weight", {hidden, inter});
    } else {
      b.view(dst + "attention_norm", src + "input_layernorm.weight", {hidden});
      b.view(dst + "attention.wq", src + "self_attn.q_proj.weight", {q_rows, hidden});
      b.view(dst + "attention.wk", src + "self_attn.k_proj.weight", {kv_rows, hidden});
      b.view(dst + "attention.wv", src + "self_attn.v_proj.weight", {kv_rows, hidden});
      b.view(dst + "attention.wo", src + "self_attn.o_proj.weight", {hidden, q_rows});
      if (c.has_qkv_bias) {
        b.view(dst + "attention.bq", src + "self_attn.q_proj.bias", {q_rows});
        b.view(dst + "attention.bk", src + "self_attn.k_proj.bias", {kv_rows});
        b.view(dst + "attention.bv", src + "self_attn.v_proj.bias", {kv_rows});
      }
      b.view(dst + "ffn_norm", src + "post_attention_layernorm.weight", {hidden});
      b.view(dst + "feed_forward.w1", src + "mlp.gate_proj.weight", {inter, hidden});
      b.view(dst + "feed_forward.w3", src + "mlp.up_proj.weight", {inter, hidden});
      b.view(dst + "feed_forward.w2", src + "mlp.down_proj.weight", {hidden, inter});
    }
  }
  b.check_unused();
}

// The float dtype holding the most weight elements.
lmrt_dtype dominant_dtype(const std::vector<lmrt_tensor_view>& views) {
  std::map<uint32_t, uint64_t> count;
  for (const auto& v : views) count[v.dtype] += tensor_elements(v);
  uint32_t best = LMRT_DTYPE_F32;
  uint64_t most = 0;
  for (const auto& [dtype, n] : count)
    if (n > most) most = n, best = dtype;
  return static_cast<lmrt_dtype>(best);
}

void apply_rope_override(HfConfig& c, float factor) {
  if (!std::isfinite(factor) || factor < 0)
    fail(LMRT_STATUS_INVALID_ARGUMENT,
         "rope_scaling_factor must be 0 (use the config's) or a positive number, got " + std::to_string(factor));
  if (factor == 0) return;
  if (c.rope_scaling == LMRT_ROPE_SCALING_NONE) {
    c.rope_scaling = LMRT_ROPE_SCALING_DYNAMIC;
  } else {
    log::write(LMRT_LOG_INFO, "model", "rope_scaling_factor " + std::to_string(factor) +
                                           " replaces the config's factor " + std::to_string(c.rope_scaling_factor));
  }
  c.rope_scaling_factor = factor;
}

}  // namespace

LoadedModel::LoadedModel() : impl_(std::make_unique<Impl>()) {}
LoadedModel::~LoadedModel() = default;
LoadedModel::LoadedModel(LoadedModel&&) noexcept = default;
LoadedModel& LoadedModel::operator=(LoadedModel&&) noexcept = default;

const lmrt_model_desc& LoadedModel::desc() const { return impl_->desc; }
const HfConfig& LoadedModel::config() const { return impl_->config; }
const std::filesystem::path& LoadedModel::dir() const { return impl_->dir; }
const std::string& LoadedModel::name() const { return impl_->name; }
const char* LoadedModel::architecture() const { return arch_name(impl_->config.arch); }
const std::string& LoadedModel::hf_architecture() const { return impl_->config.hf_architecture; }
const std::string& LoadedModel::model_type() const { return impl_->config.model_type; }
uint32_t LoadedModel::max_position_embeddings() const { return impl_->config.max_position_embeddings; }
std::optional<int32_t> LoadedModel::bos_token_id() const { return impl_->config.bos_token_id; }
const std::vector<int32_t>& LoadedModel::eos_token_ids() const { return impl_->config.eos_token_ids; }
const lmrt_tensor_view* LoadedModel::find(std::string_view name) const { return find_tensor(impl_->desc, name); }

LoadedModel load_model(const std::filesystem::path& dir_in, const ModelLoadOptions& options) {
  LoadedModel model;
  LoadedModel::Impl& m = *model.impl_;
  std::error_code ec;
  m.dir = std::filesystem::weakly_canonical(dir_in, ec);
  if (ec) m.dir = dir_in;
  if (!std::filesystem::is_directory(m.dir))
    fail(LMRT_STATUS_NOT_FOUND, dir_in.string() + ": model folder does not exist");
  m.name = m.dir.filename().string();
  if (m.name.empty()) m.name = m.dir.parent_path().filename().string();  // "dir/" spelled with a slash
  m.config = read_hf_config(m.dir);
  apply_rope_override(m.config, options.rope_scaling_factor);
  m.checkpoint = std::make_unique<SafetensorsCheckpoint>(m.dir);
  build_views(m);

  const HfConfig& c = m.config;
  lmrt_model_desc& d = m.desc;
  d.struct_size = sizeof(lmrt_model_desc);
  d.architecture = arch_name(c.arch);  // static strings: safe across moves
  d.format = "hf";
  d.vocab_size = c.vocab_size;
  d.hidden_size = c.hidden_size;
  d.intermediate_size = c.intermediate_size;
  d.num_layers = c.num_layers;
  d.num_heads = c.num_heads;
  d.num_kv_heads = c.num_kv_heads;
  d.head_dim = c.head_dim;
  d.has_qkv_bias = c.has_qkv_bias ? 1 : 0;
  d.tie_word_embeddings = c.tie_word_embeddings ? 1 : 0;
  d.rope_scaling_type = c.rope_scaling;
  d.rms_norm_eps = c.rms_norm_eps;
  d.rope_theta = c.rope_theta;
  d.rope_scaling_factor = c.rope_scaling == LMRT_ROPE_SCALING_NONE ? 1.0f : c.rope_scaling_factor;
  d.original_max_position_embeddings = c.max_position_embeddings;
  d.weight_dtype = dominant_dtype(m.views);
  d.quant_group_size = 0;
  d.num_tensors = static_cast<uint32_t>(m.views.size());
  d.tensors = m.views.data();
  log::write(LMRT_LOG_DEBUG, "model",
             "loaded " + m.name + " (" + c.hf_architecture + "): " + std::to_string(d.num_tensors) + " tensors from " +
                 std::to_string(m.checkpoint->files().size()) + " file(s)");
  return model;
}

const lmrt_tensor_view* find_tensor(const lmrt_model_desc& desc, std::string_view name) {
  for (uint32_t i = 0; i < desc.num_tensors; ++i)
    if (desc.tensors[i].name != nullptr && name == desc.tensors[i].name) return &desc.tensors[i];
  return nullptr;
}

const lmrt_tensor_view& require_tensor(const lmrt_model_desc& desc, std::string_view name) {
  if (const auto* v = find_tensor(desc, name)) return *v;
  fail(LMRT_STATUS_NOT_FOUND, "model description has no tensor '" + std::string(name) + "'");
}

uint64_t tensor_elements(const lmrt_tensor_view& view) {
  uint64_t n = 1;
  for (uint32_t i = 0; i < view.ndim && i < LMRT_MAX_TENSOR_DIMS; ++i) n *= static_cast<uint64_t>(view.shape[i]);
  return n;
}

std::vector<float> tensor_to_f32(const lmrt_tensor_view& view) {
  std::vector<float> out(tensor_elements(view));
  convert_to_f32(static_cast<lmrt_dtype>(view.dtype), view.data, out.size(), out.data());
  return out;
}

}  // namespace lmrt
