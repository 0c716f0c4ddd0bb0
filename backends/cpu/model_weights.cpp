#include "model_weights.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "lmrt/cpp/half.hpp"
#include "lmrt/plugin.hpp"

namespace lmrt::cpu {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void model_error(const std::string& message) { throw Error(LMRT_STATUS_MODEL_ERROR, "cpu engine: " + message); }

std::string shape_text(const int64_t* shape, uint32_t ndim) {
  std::string s = "[";
  for (uint32_t i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const char* dtype_name(uint32_t dtype) {
  switch (dtype) {
    case LMRT_DTYPE_F32: return "F32";
    case LMRT_DTYPE_F16: return "F16";
    case LMRT_DTYPE_BF16: return "BF16";
    case LMRT_DTYPE_I32: return "I32";
    case LMRT_DTYPE_I8: return "I8";
    case LMRT_DTYPE_U8: return "U8";
    case LMRT_DTYPE_I64: return "I64";
    default: return "unknown";
  }
}

class TensorIndex {
 public:
  explicit TensorIndex(const lmrt_model_desc& desc) {
    if (desc.num_tensors > 0 && desc.tensors == nullptr) model_error("model.tensors is NULL but num_tensors > 0");
    for (uint32_t i = 0; i < desc.num_tensors; ++i) {
      const lmrt_tensor_view& t = desc.tensors[i];
      if (t.struct_size < sizeof(lmrt_tensor_view))
        model_error("tensor #" + std::to_string(i) + " has struct_size " + std::to_string(t.struct_size) +
                    ", expected at least " + std::to_string(sizeof(lmrt_tensor_view)));
      if (t.name == nullptr) model_error("tensor #" + std::to_string(i) + " has no name");
      if (!by_name_.emplace(t.name, &t).second) model_error(std::string("tensor '") + t.name + "' appears twice");
    }
  }

  const lmrt_tensor_view* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

  // Checks presence, dtype and shape, then appends the tensor's values as fp32 to `out`.
  const lmrt_tensor_view& append(const std::string& name, std::vector<int64_t> shape, std::vector<float>& out) const {
    const lmrt_tensor_view* t = find(name);
    if (!t) model_error("tensor '" + name + "' is missing");
    const std::string want = shape_text(shape.data(), static_cast<uint32_t>(shape.size()));
    if (t->ndim != shape.size() || t->ndim > LMRT_MAX_TENSOR_DIMS ||
        !std::equal(shape.begin(), shape.end(), t->shape))
      model_error("tensor '" + name + "' has shape " + shape_text(t->shape, std::min<uint32_t>(t->ndim, LMRT_MAX_TENSOR_DIMS)) +
                  ", expected " + want);
    size_t count = 1;
    for (int64_t d : shape) count *= static_cast<size_t>(d);
    size_t elem = 0;
    switch (t->dtype) {
      case LMRT_DTYPE_F32: elem = 4; break;
      case LMRT_DTYPE_F16:
      case LMRT_DTYPE_BF16: elem = 2; break;
      default:
        model_error("tensor '" + name + "' has dtype " + dtype_name(t->dtype) +
                    "; the cpu engine reads F32, F16 and BF16 weights");
    }
    if (t->nbytes != count * elem)
      model_error("tensor '" + name + "' has " + std::to_string(t->nbytes) + " bytes, expected " +
                  std::to_string(count * elem) + " for " + want + " " + dtype_name(t->dtype));
    if (t->data == nullptr && count > 0) model_error("tensor '" + name + "' has no data");
    const size_t base = out.size();
    out.resize(base + count);
    float* dst = out.data() + base;
    if (t->dtype == LMRT_DTYPE_F32) {
      std::memcpy(dst, t->data, count * 4);
    } else {
      const auto* src = static_cast<const uint16_t*>(t->data);  // unaligned views are not expected from mmap'd safetensors
      uint16_t h;
      for (size_t i = 0; i < count; ++i) {
        std::memcpy(&h, src + i, 2);
        dst[i] = t->dtype == LMRT_DTYPE_F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
    return *t;
  }

 private:
  std::unordered_map<std::string, const lmrt_tensor_view*> by_name_;
};

void require_positive(uint32_t value, const char* field) {
  if (value == 0) model_error(std::string("model.") + field + " is 0");
}

ModelShape validate_shape(const lmrt_model_desc& d) {
  if (d.struct_size < sizeof(lmrt_model_desc))
    throw Error(LMRT_STATUS_ABI_MISMATCH, "cpu engine: lmrt_model_desc.struct_size is " + std::to_string(d.struct_size) +
                                              ", expected at least " + std::to_string(sizeof(lmrt_model_desc)));
  const std::string format = d.format ? d.format : "";
  if (format != "hf")
    throw Error(LMRT_STATUS_UNSUPPORTED,
                "cpu engine: model format '" + format + "' is not supported (the cpu engine runs dense 'hf' weights)");
  require_positive(d.vocab_size, "vocab_size");
  require_positive(d.hidden_size, "hidden_size");
  require_positive(d.intermediate_size, "intermediate_size");
  require_positive(d.num_layers, "num_layers");
  require_positive(d.num_heads, "num_heads");
  require_positive(d.num_kv_heads, "num_kv_heads");
  require_positive(d.head_dim, "head_dim");
  if (d.num_heads % d.num_kv_heads != 0)
    model_error("model.num_heads (" + std::to_string(d.num_heads) + ") is not a multiple of model.num_kv_heads (" +
                std::to_string(d.num_kv_heads) + ")");
  if (d.head_dim % 2 != 0) model_error("model.head_dim (" + std::to_string(d.head_dim) + ") must be even for RoPE");
  if (!(d.rms_norm_eps > 0.f) || !std::isfinite(d.rms_norm_eps)) model_error("model.rms_norm_eps must be > 0");
  if (!(d.rope_theta > 0.f) || !std::isfinite(d.rope_theta)) model_error("model.rope_theta must be > 0");
  if (d.rope_scaling_type > LMRT_ROPE_SCALING_DYNAMIC)
    model_error("model.rope_scaling_type " + std::to_string(d.rope_scaling_type) + " is unknown");
  if (d.rope_scaling_type != LMRT_ROPE_SCALING_NONE && (!(d.rope_scaling_factor > 0.f) || !std::isfinite(d.rope_scaling_factor)))
    model_error("model.rope_scaling_factor must be > 0");
  if (d.rope_scaling_type == LMRT_ROPE_SCALING_DYNAMIC && d.original_max_position_embeddings == 0)
    model_error("model.original_max_position_embeddings is 0 with dynamic NTK rope scaling");
  if (d.rope_scaling_type == LMRT_ROPE_SCALING_DYNAMIC && d.head_dim <= 2)
    model_error("model.head_dim must be > 2 for dynamic NTK rope scaling");

  ModelShape s;
  s.vocab_size = d.vocab_size;
  s.hidden_size = d.hidden_size;
  s.intermediate_size = d.intermediate_size;
  s.num_layers = d.num_layers;
  s.num_heads = d.num_heads;
  s.num_kv_heads = d.num_kv_heads;
  s.head_dim = d.head_dim;
  s.has_qkv_bias = d.has_qkv_bias != 0;
  s.rms_norm_eps = d.rms_norm_eps;
  s.rope_scaling_type = d.rope_scaling_type;
  s.rope_theta = d.rope_theta;
  s.rope_scaling_factor = d.rope_scaling_type == LMRT_ROPE_SCALING_NONE ? 1.f : d.rope_scaling_factor;
  s.original_max_position_embeddings = d.original_max_position_embeddings;
  return s;
}

}  // namespace

uint64_t ModelWeights::bytes() const {
  uint64_t n = tok_embeddings.size() + norm.size() + output_storage.size();
  for (const auto& l : layers)
    n += l.attention_norm.size() + l.wqkv.size() + l.bqkv.size() + l.wo.size() + l.ffn_norm.size() + l.w13.size() +
         l.w2.size();
  return n * sizeof(float);
}

ModelWeights load_model_weights(const lmrt_model_desc& desc) {
  ModelWeights m;
  m.shape = validate_shape(desc);
  const ModelShape& s = m.shape;
  const TensorIndex index(desc);
  const int64_t V = s.vocab_size, H = s.hidden_size, I = s.intermediate_size;
  const int64_t Q = static_cast<int64_t>(s.q_rows()), KV = static_cast<int64_t>(s.kv_rows());

  const lmrt_tensor_view& emb = index.append("tok_embeddings", {V, H}, m.tok_embeddings);
  index.append("norm", {H}, m.norm);
  const lmrt_tensor_view* out = index.find("output");
  if (out && out->data == emb.data && out->dtype == emb.dtype && out->nbytes == emb.nbytes &&
      out->ndim == emb.ndim && std::equal(out->shape, out->shape + LMRT_MAX_TENSOR_DIMS, emb.shape)) {
    // Tied embeddings: one copy serves both.
  } else {
    index.append("output", {V, H}, m.output_storage);
  }

  m.layers.resize(s.num_layers);
  for (uint32_t i = 0; i < s.num_layers; ++i) {
    LayerWeights& l = m.layers[i];
    const std::string p = "layers." + std::to_string(i) + ".";
    index.append(p + "attention_norm", {H}, l.attention_norm);
    l.wqkv.reserve(static_cast<size_t>((Q + 2 * KV) * H));
    index.append(p + "attention.wq", {Q, H}, l.wqkv);
    index.append(p + "attention.wk", {KV, H}, l.wqkv);
    index.append(p + "attention.wv", {KV, H}, l.wqkv);
    if (s.has_qkv_bias) {
      index.append(p + "attention.bq", {Q}, l.bqkv);
      index.append(p + "attention.bk", {KV}, l.bqkv);
      index.append(p + "attention.bv", {KV}, l.bqkv);
    }
    index.append(p + "attention.wo", {H, Q}, l.wo);
    index.append(p + "ffn_norm", {H}, l.ffn_norm);
    l.w13.reserve(static_cast<size_t>(2 * I * H));
    index.append(p + "feed_forward.w1", {I, H}, l.w13);
    index.append(p + "feed_forward.w3", {I, H}, l.w13);
    index.append(p + "feed_forward.w2", {H, I}, l.w2);
  }
  return m;
}

}  // namespace lmrt::cpu
