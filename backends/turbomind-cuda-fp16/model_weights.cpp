#include "model_weights.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "cuda_check.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void model_error(const std::string& m) { throw Error(LMRT_STATUS_MODEL_ERROR, "turbomind-cuda-fp16: " + m); }
[[noreturn]] void unsupported(const std::string& m) { throw Error(LMRT_STATUS_UNSUPPORTED, "turbomind-cuda-fp16: " + m); }

std::string shape_text(const int64_t* shape, size_t ndim) {
  std::string s = "[";
  for (size_t i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void require_positive(uint32_t v, const char* field) {
  if (v == 0) model_error(std::string("model.") + field + " is 0");
}

ModelShape validate_shape(const lmrt_model_desc& d) {
  if (d.struct_size < sizeof(lmrt_model_desc))
    throw Error(LMRT_STATUS_ABI_MISMATCH, "turbomind-cuda-fp16: lmrt_model_desc.struct_size is too small");
  const std::string format = d.format ? d.format : "";
  if (format != "hf") unsupported("model format '" + format + "' is not supported (this engine runs dense 'hf' weights)");
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
  if (d.hidden_size > kMaxNormHidden)
    unsupported("hidden_size " + std::to_string(d.hidden_size) + " is not supported (up to " +
                std::to_string(kMaxNormHidden) + " is)");
  if (d.head_dim % 2 != 0 || d.head_dim > 256)
    unsupported("head_dim " + std::to_string(d.head_dim) + " is not supported (even sizes up to 256 are)");
  if (!(d.rms_norm_eps > 0.f) || !std::isfinite(d.rms_norm_eps)) model_error("model.rms_norm_eps must be > 0");
  if (!(d.rope_theta > 0.f) || !std::isfinite(d.rope_theta)) model_error("model.rope_theta must be > 0");
  if (d.rope_scaling_type > LMRT_ROPE_SCALING_DYNAMIC)
    model_error("model.rope_scaling_type " + std::to_string(d.rope_scaling_type) + " is unknown");
  if (d.rope_scaling_type != LMRT_ROPE_SCALING_NONE && (!(d.rope_scaling_factor > 0.f) || !std::isfinite(d.rope_scaling_factor)))
    model_error("model.rope_scaling_factor must be > 0");
  if (d.rope_scaling_type == LMRT_ROPE_SCALING_DYNAMIC && (d.original_max_position_embeddings == 0 || d.head_dim <= 2))
    model_error("dynamic NTK rope scaling needs original_max_position_embeddings > 0 and head_dim > 2");
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

// One tensor to upload: the source view and its place in the arena.
struct Piece {
  const lmrt_tensor_view* src;
  size_t offset;  // bytes into the arena
  size_t count;   // elements
};

}  // namespace

DeviceModel::DeviceModel(const lmrt_model_desc& desc, const std::string& dtype_request, cudaStream_t stream) {
  shape = validate_shape(desc);
  const ModelShape& s = shape;
  if (dtype_request == "float16") dtype = DType::kF16;
  else if (dtype_request == "bfloat16") dtype = DType::kBF16;
  else dtype = desc.weight_dtype == LMRT_DTYPE_BF16 ? DType::kBF16 : DType::kF16;

  std::unordered_map<std::string, const lmrt_tensor_view*> index;
  if (desc.num_tensors > 0 && desc.tensors == nullptr) model_error("model.tensors is NULL but num_tensors > 0");
  for (uint32_t i = 0; i < desc.num_tensors; ++i) {
    const lmrt_tensor_view& t = desc.tensors[i];
    if (t.struct_size < sizeof(lmrt_tensor_view)) model_error("tensor #" + std::to_string(i) + " has a too small struct_size");
    if (t.name == nullptr) model_error("tensor #" + std::to_string(i) + " has no name");
    if (!index.emplace(t.name, &t).second) model_error(std::string("tensor '") + t.name + "' appears twice");
  }

  std::vector<Piece> pieces;
  size_t arena = 0;
  // Reserves room for `name` (checked against `want`) and returns its arena offset. Consecutive
  // calls without alignment padding (fused) place tensors back to back.
  auto place = [&](const std::string& name, std::vector<int64_t> want, bool align = true) -> size_t {
    auto it = index.find(name);
    if (it == index.end()) model_error("tensor '" + name + "' is missing");
    const lmrt_tensor_view& t = *it->second;
    if (t.ndim != want.size() || !std::equal(want.begin(), want.end(), t.shape))
      model_error("tensor '" + name + "' has shape " + shape_text(t.shape, std::min<uint32_t>(t.ndim, LMRT_MAX_TENSOR_DIMS)) +
                  ", expected " + shape_text(want.data(), want.size()));
    size_t count = 1;
    for (int64_t d : want) count *= static_cast<size_t>(d);
    const size_t es = tensor_elem_size(t.dtype);
    if (es == 0) model_error("tensor '" + name + "' has a dtype this engine cannot read (F32, F16 and BF16 are read)");
    if (t.nbytes != count * es)
      model_error("tensor '" + name + "' has " + std::to_string(t.nbytes) + " bytes, expected " + std::to_string(count * es));
    if (t.data == nullptr) model_error("tensor '" + name + "' has no data");
    if (align) arena = (arena + 255) & ~size_t(255);
    pieces.push_back({&t, arena, count});
    const size_t at = arena;
    arena += count * 2;
    return at;
  };

  const int64_t V = s.vocab_size, H = s.hidden_size, I = s.intermediate_size;
  const int64_t Q = static_cast<int64_t>(s.q_rows()), KV = static_cast<int64_t>(s.kv_rows());
  const size_t emb_off = place("tok_embeddings", {V, H});
  const size_t norm_off = place("norm", {H});
  const lmrt_tensor_view* emb = index["tok_embeddings"];
  auto out_it = index.find("output");
  size_t out_off = emb_off;
  if (out_it != index.end() && out_it->second->data == emb->data && out_it->second->nbytes == emb->nbytes &&
      out_it->second->dtype == emb->dtype) {
    // tied embeddings: one copy serves both
  } else {
    out_off = place("output", {V, H});
  }
  struct Offsets {
    size_t an, wqkv, bqkv, wo, fn, w13, w2;
  };
  std::vector<Offsets> offs(s.num_layers);
  for (uint32_t l = 0; l < s.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    Offsets& o = offs[l];
    o.an = place(p + "attention_norm", {H});
    o.wqkv = place(p + "attention.wq", {Q, H});
    place(p + "attention.wk", {KV, H}, false);
    place(p + "attention.wv", {KV, H}, false);
    o.bqkv = SIZE_MAX;
    if (s.has_qkv_bias) {
      o.bqkv = place(p + "attention.bq", {Q});
      place(p + "attention.bk", {KV}, false);
      place(p + "attention.bv", {KV}, false);
    }
    o.wo = place(p + "attention.wo", {H, Q});
    o.fn = place(p + "ffn_norm", {H});
    o.w13 = place(p + "feed_forward.w1", {I, H});
    place(p + "feed_forward.w3", {I, H}, false);
    o.w2 = place(p + "feed_forward.w2", {H, I});
  }

  arena_.allocate(arena, "the model weights");
  char* base = arena_.as<char>();
  // Upload: same dtype goes straight in; others through a device staging buffer and a conversion kernel.
  constexpr size_t kStaging = size_t(64) << 20;
  DeviceBuffer staging;
  const uint32_t target = dtype == DType::kF16 ? LMRT_DTYPE_F16 : LMRT_DTYPE_BF16;
  for (const Piece& pc : pieces) {
    const lmrt_tensor_view& t = *pc.src;
    if (t.dtype == target) {
      check_cuda(cudaMemcpyAsync(base + pc.offset, t.data, pc.count * 2, cudaMemcpyHostToDevice, stream),
                 "uploading weights");
      continue;
    }
    if (!staging.get()) staging.allocate(kStaging, "the weight conversion buffer");
    const size_t es = tensor_elem_size(t.dtype);
    const size_t per = kStaging / es;
    for (size_t done = 0; done < pc.count; done += per) {
      const size_t n = std::min(per, pc.count - done);
      check_cuda(cudaMemcpyAsync(staging.get(), static_cast<const char*>(t.data) + done * es, n * es,
                                 cudaMemcpyHostToDevice, stream),
                 "uploading weights");
      launch_convert(dtype, staging.get(), t.dtype, n, base + pc.offset + done * 2, stream);
      check_cuda(cudaStreamSynchronize(stream), "converting weights");  // staging is reused
    }
  }
  check_cuda(cudaStreamSynchronize(stream), "uploading weights");

  tok_embeddings = base + emb_off;
  norm = base + norm_off;
  output = base + out_off;
  layers.resize(s.num_layers);
  for (uint32_t l = 0; l < s.num_layers; ++l) {
    const Offsets& o = offs[l];
    layers[l] = {base + o.an, base + o.wqkv, o.bqkv == SIZE_MAX ? nullptr : base + o.bqkv, base + o.wo, base + o.fn,
                 base + o.w13, base + o.w2};
  }
}

}  // namespace lmrt::tm
